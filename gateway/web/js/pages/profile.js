// "/settings/profile" (Settings → Profile, as the bot says): the account's name and time zone,
// its language, its password and the Telegram link.

import { api, changePassword } from "../api.js";
import { errorBox, field, h, notify, onSubmit } from "../dom.js";
import {
  currentLanguage,
  currentTimeZone,
  languageName,
  setLanguage,
  supportedLanguages,
  t,
  timeZoneNames,
} from "../i18n.js";
import { session, setPage, view } from "../state.js";
import { settingsNav } from "./settings.js";
import { telegramSection } from "./telegram.js";

const saveRow = (label, status) =>
  h("div", { className: "actions" }, h("button", { type: "submit", className: "primary" }, label), status);

/** Name and time zone (PATCH /api/users/me). */
function detailsForm(me) {
  const box = errorBox();
  const saved = h("p", { className: "success", role: "status" });
  const zones = timeZoneNames(me.timezone);
  const deviceZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const zoneSelect = h(
    "select",
    { id: "profile-timezone", name: "timezone" },
    zones.map((zone) => h("option", { value: zone, selected: zone === me.timezone }, zone.replaceAll("_", " "))),
  );
  const useDevice =
    deviceZone && deviceZone !== me.timezone && zones.includes(deviceZone)
      ? h(
          "button",
          {
            type: "button",
            className: "link",
            onclick: () => {
              zoneSelect.value = deviceZone;
              zoneSelect.focus();
            },
          },
          t("Use this device's time zone ({zone})", { zone: deviceZone.replaceAll("_", " ") }),
        )
      : null;
  const form = h(
    "form",
    { className: "stack", "aria-labelledby": "details-title" },
    field(
      t("Name"),
      h("input", { id: "profile-name", name: "name", value: me.name, required: true, maxlength: "150", autocomplete: "name" }),
    ),
    field(t("Time zone"), zoneSelect, {
      hint: t("Dates and times are shown in this time zone, and deadlines are entered in it."),
    }),
    useDevice ? h("p", {}, useDevice) : null,
    box,
    saveRow(t("Save profile"), saved),
  );
  form.addEventListener("input", () => (saved.textContent = ""));
  onSubmit(form, box, async (data) => {
    session.me = await api("PATCH", "/api/users/me", {
      name: String(data.get("name")).trim(),
      timezone: String(data.get("timezone")),
    });
    saved.textContent = t("Profile saved. Times are shown in {zone}.", { zone: currentTimeZone().replaceAll("_", " ") });
  });
  return h("section", { className: "card", "aria-labelledby": "details-title" }, h("h2", { id: "details-title" }, t("Profile")), form);
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
    { className: "stack", "aria-labelledby": "language-title" },
    h("p", {}, t("The language of TaskFlow's pages, emails and notifications.")),
    field(t("Language"), select),
    box,
    saveRow(t("Save language")),
  );
  onSubmit(form, box, async (data) => {
    session.me = await api("PATCH", "/api/users/me", { language: String(data.get("language")) });
    await setLanguage(session.me.language); // re-renders this page when the language changes
    notify(t("Language saved."));
  });
  return h("section", { className: "card", "aria-labelledby": "language-title" }, h("h2", { id: "language-title" }, t("Language")), form);
}

/** POST /api/users/me/password: every other session ends, this one goes on (api.changePassword). */
function passwordForm() {
  const box = errorBox();
  const saved = h("p", { className: "success", role: "status" });
  const input = (id, name, autocomplete) =>
    h("input", { id, name, type: "password", required: true, maxlength: "128", autocomplete });
  const form = h(
    "form",
    { className: "stack", "aria-labelledby": "password-title" },
    field(t("Current password"), input("password-current", "current_password", "current-password")),
    field(t("New password"), input("password-new", "new_password", "new-password"), {
      hint: t("At least 8 characters, not only digits, not a common password, not close to your name or email."),
    }),
    field(t("New password again"), input("password-again", "new_password_again", "new-password")),
    box,
    saveRow(t("Change password"), saved),
  );
  form.addEventListener("input", () => (saved.textContent = ""));
  onSubmit(form, box, async (data) => {
    const fresh = String(data.get("new_password"));
    if (fresh !== String(data.get("new_password_again"))) {
      const differ = t("The two new passwords differ: type the same one twice.");
      throw Object.assign(new Error(differ), { body: { new_password_again: [differ] } });
    }
    await changePassword(String(data.get("current_password")), fresh);
    form.reset();
    saved.textContent = t("Password changed. You stay signed in here; your other sessions have ended.");
  });
  return h(
    "section",
    { className: "card", "aria-labelledby": "password-title" },
    h("h2", { id: "password-title" }, t("Password")),
    form,
  );
}

export async function profilePage() {
  const thisRender = view.renders;
  setPage(t("Profile"), h("p", { role: "status" }, t("Loading your profile…")));
  let me;
  try {
    me = await api("GET", "/api/users/me");
  } catch (error) {
    if (thisRender !== view.renders) return;
    setPage(
      t("Profile"),
      h("h1", {}, t("Settings")),
      settingsNav("profile"),
      h("p", { className: "error", role: "alert" }, error.message),
    );
    return;
  }
  session.me = me;
  const telegram = await telegramSection();
  if (thisRender !== view.renders) return;
  setPage(
    t("Profile"),
    h("h1", {}, t("Settings")),
    settingsNav("profile"),
    h("div", { className: "settings-grid" }, detailsForm(me), languageForm(), passwordForm(), telegram),
  );
}
