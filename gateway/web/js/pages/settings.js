// "/settings/notifications" (linked from emails): notification preferences (event type x
// channel). The profile (name, language, time zone, password, Telegram) is pages/profile.js.

import { api } from "../api.js";
import { errorBox, h, onSubmit } from "../dom.js";
import { t } from "../i18n.js";
import { channels, eventLabel } from "../labels.js";
import { setPage, view } from "../state.js";

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

/** The settings pages' sub-navigation; `active`: "profile" or "notifications". */
export function settingsNav(active) {
  const link = (page, href, label) =>
    h("a", { href, "data-link": true, "aria-current": page === active ? "page" : null }, label);
  return h(
    "nav",
    { className: "subnav", "aria-label": t("Settings") },
    link("profile", "/settings/profile", t("Profile")),
    link("notifications", "/settings/notifications", t("Notification preferences")),
  );
}

export async function settingsPage() {
  const thisRender = view.renders;
  setPage(t("Settings"), h("p", { role: "status" }, t("Loading your preferences…")));
  let preferences;
  try {
    preferences = await api("GET", "/api/notifications/preferences");
  } catch (error) {
    if (thisRender !== view.renders) return;
    setPage(
      t("Settings"),
      h("h1", {}, t("Settings")),
      settingsNav("notifications"),
      h("p", { className: "error", role: "alert" }, error.message),
    );
    return;
  }
  if (thisRender !== view.renders) return;
  setPage(
    t("Notification preferences"),
    h("h1", {}, t("Settings")),
    settingsNav("notifications"),
    h(
      "section",
      { "aria-labelledby": "preferences-title" },
      h("h2", { id: "preferences-title" }, t("Notification preferences")),
      h("p", {}, t("Choose how TaskFlow tells you about each kind of event. Telegram needs a linked account.")),
      preferencesForm(preferences),
    ),
  );
}
