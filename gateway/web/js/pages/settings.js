// "/settings/notifications" (linked from emails): notification preferences (event type x
// channel); the profile: the account's language, Telegram.

import { api } from "../api.js";
import { errorBox, h, notify, onSubmit } from "../dom.js";
import { currentLanguage, languageName, setLanguage, supportedLanguages, t } from "../i18n.js";
import { channels, eventLabel } from "../labels.js";
import { session, setPage, view } from "../state.js";
import { telegramSection } from "./telegram.js";

function preferencesForm(preferences) {
  const box = errorBox();
  const saved = h("p", { className: "success", role: "status" });
  const columns = channels();
  const form = h(
    "form",
    {},
    h(
      "table",
      { className: "preferences" },
      h("caption", {}, t("Where to notify me, per kind of event")),
      h(
        "thead",
        {},
        h("tr", {}, h("th", { scope: "col" }, t("Event")), columns.map(([, label]) => h("th", { scope: "col" }, label))),
      ),
      h(
        "tbody",
        {},
        Object.keys(preferences).map((type) => {
          const label = eventLabel(type);
          return h(
            "tr",
            {},
            h("th", { scope: "row" }, label),
            // Only the channels the event type is delivered on (the API lists those): no
            // checkbox that would do nothing.
            columns.map(([channel, channelLabel]) =>
              channel in preferences[type]
                ? h(
                    "td",
                    {},
                    h("input", {
                      type: "checkbox",
                      name: `${type}:${channel}`,
                      "aria-label": t("{event}: {channel}", { event: label, channel: channelLabel }),
                      "data-type": type,
                      "data-channel": channel,
                      checked: Boolean(preferences[type][channel]),
                    }),
                  )
                : h("td", { className: "not-offered", title: t("Not sent on this channel") }, "—"),
            ),
          );
        }),
      ),
    ),
    box,
    h("div", { className: "actions" }, h("button", { type: "submit", className: "primary" }, t("Save preferences")), saved),
  );
  form.addEventListener("change", () => (saved.textContent = ""));
  onSubmit(form, box, async () => {
    saved.textContent = "";
    const body = {};
    form.querySelectorAll("input[type=checkbox]").forEach((input) => {
      body[input.dataset.type] ??= {};
      body[input.dataset.type][input.dataset.channel] = input.checked;
    });
    const stored = await api("PUT", "/api/notifications/preferences", body);
    form.querySelectorAll("input[type=checkbox]").forEach((input) => {
      input.checked = Boolean(stored[input.dataset.type]?.[input.dataset.channel]);
    });
    saved.textContent = t("Preferences saved.");
  });
  return form;
}

/** The account's language (PATCH /api/users/me): the page is drawn again in it once saved. */
function languageForm() {
  const box = errorBox();
  const select = h(
    "select",
    { id: "language", name: "language" },
    supportedLanguages().map((code) =>
      h("option", { value: code, lang: code, selected: code === currentLanguage() }, languageName(code)),
    ),
  );
  const form = h(
    "form",
    { className: "language", "aria-labelledby": "language-title" },
    h("h3", { id: "language-title" }, t("Language")),
    h("p", {}, t("The language of TaskFlow's pages, emails and notifications.")),
    h("p", { className: "field" }, h("label", { for: "language" }, t("Language")), select),
    box,
    h("div", { className: "actions" }, h("button", { type: "submit", className: "primary" }, t("Save language"))),
  );
  onSubmit(form, box, async (data) => {
    const me = await api("PATCH", "/api/users/me", { language: String(data.get("language")) });
    session.me = me;
    await setLanguage(me.language); // re-renders this page when the language changes
    notify(t("Language saved."));
  });
  return form;
}

export async function settingsPage() {
  const thisRender = view.renders;
  setPage(t("Settings"), h("p", { role: "status" }, t("Loading your preferences…")));
  let preferences;
  try {
    preferences = await api("GET", "/api/notifications/preferences");
  } catch (error) {
    if (thisRender !== view.renders) return;
    setPage(t("Settings"), h("h1", {}, t("Settings")), h("p", { className: "error", role: "alert" }, error.message));
    return;
  }
  if (thisRender !== view.renders) return;
  const telegram = await telegramSection();
  if (thisRender !== view.renders) return;
  setPage(
    t("Settings"),
    h("h1", {}, t("Settings")),
    h(
      "section",
      { "aria-labelledby": "preferences-title" },
      h("h2", { id: "preferences-title" }, t("Notifications")),
      h("p", {}, t("Choose how TaskFlow tells you about each kind of event. Telegram needs a linked account.")),
      preferencesForm(preferences),
    ),
    h(
      "section",
      { className: "profile", "aria-labelledby": "profile-title" },
      h("h2", { id: "profile-title" }, t("Profile")),
      languageForm(),
      telegram,
    ),
  );
}
