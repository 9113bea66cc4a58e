// The page's frame in index.html (header, footer) in the active language, and the footer's
// language selector for signed-out visitors (signed in, the settings page sets the account's).

import { h } from "./dom.js";
import {
  currentLanguage,
  languageName,
  setLanguage,
  storeSignedOutLanguage,
  supportedLanguages,
  t,
} from "./i18n.js";

// index.html's data-i18n (text) and data-i18n-label (aria-label) keys.
const LABELS = {
  skip: () => t("Skip to content"),
  // Translators: the name of the main navigation, for screen readers.
  nav: () => t("Main"),
  notifications: () => t("Notifications"),
  settings: () => t("Settings"),
  "sign-out": () => t("Sign out"),
  "api-docs": () => t("API documentation"),
  "api-schema": () => t("OpenAPI schema"),
  admin: () => t("Admin"),
  health: () => t("Health"),
};

const LIVE_STATES = {
  connecting: () => t("Connecting…"),
  // Translators: the live notifications are connected.
  live: () => t("Live"),
  offline: () => t("Offline, reconnecting…"),
};

export function liveStateLabel(state) {
  return LIVE_STATES[state] ? LIVE_STATES[state]() : "";
}

/** Translates the frame; `signedIn` shows or hides the footer's language selector. */
export function drawFrame(signedIn) {
  document.querySelectorAll("[data-i18n]").forEach((element) => {
    const label = LABELS[element.dataset.i18n];
    if (label) element.textContent = label();
  });
  document.querySelectorAll("[data-i18n-label]").forEach((element) => {
    const label = LABELS[element.dataset.i18nLabel];
    if (label) element.setAttribute("aria-label", label());
  });
  const liveState = document.getElementById("live-state");
  if (liveState.dataset.state) liveState.textContent = liveStateLabel(liveState.dataset.state);

  const footer = document.getElementById("footer-language");
  const languages = supportedLanguages();
  footer.hidden = signedIn || languages.length < 2;
  if (footer.hidden) {
    footer.replaceChildren();
    return;
  }
  const select = h(
    "select",
    {
      id: "footer-language-select",
      onchange: async (event) => {
        storeSignedOutLanguage(event.target.value);
        await setLanguage(event.target.value);
      },
    },
    languages.map((code) => h("option", { value: code, lang: code, selected: code === currentLanguage() }, languageName(code))),
  );
  footer.replaceChildren(" · ", h("label", { for: "footer-language-select" }, t("Language")), " ", select);
}
