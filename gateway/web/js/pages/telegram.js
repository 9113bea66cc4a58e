// The profile page's Telegram section (Settings → Profile → Link Telegram, as the bot says): a
// single-use deep link to the bot (POST /api/telegram/link), or unlinking.

import { api } from "../api.js";
import { errorBox, fill, h, showError } from "../dom.js";
import { nt, place, t } from "../i18n.js";

export async function telegramSection() {
  const section = h("section", { className: "card telegram", "aria-labelledby": "telegram-title" });
  const box = errorBox();
  const heading = () => h("h2", { id: "telegram-title" }, t("Telegram"));
  async function draw() {
    const me = await api("GET", "/api/users/me");
    const status = h(
      "p",
      { id: "telegram-status" },
      me.telegram_linked ? t("Your Telegram account is linked.") : t("Telegram is not linked."),
    );
    const linkButton = h("button", { type: "button", className: "primary", id: "telegram-link" }, t("Link Telegram"));
    const unlinkButton = h("button", { type: "button", id: "telegram-unlink" }, t("Unlink Telegram"));
    const offer = h("p", { id: "telegram-offer", role: "status" });
    linkButton.addEventListener("click", async () => {
      box.hidden = true;
      try {
        const link = await api("POST", "/api/telegram/link");
        const minutes = Math.round(link.expires_in / 60);
        const anchor = h(
          "a",
          { href: link.url, target: "_blank", rel: "noopener", id: "telegram-deep-link" },
          t("Open TaskFlow in Telegram"),
        );
        const sentence = nt(
          "{link} and press Start. The link works once, for {count} minute.",
          "{link} and press Start. The link works once, for {count} minutes.",
          minutes,
        );
        fill(offer, place(sentence, { link: anchor }));
      } catch (error) {
        showError(box, error);
      }
    });
    unlinkButton.addEventListener("click", async () => {
      box.hidden = true;
      try {
        await api("DELETE", "/api/telegram/link");
        await draw();
      } catch (error) {
        showError(box, error);
      }
    });
    fill(
      section,
      heading(),
      status,
      h("div", { className: "actions" }, linkButton, me.telegram_linked ? unlinkButton : null),
      offer,
      box,
    );
  }
  try {
    await draw();
  } catch (error) {
    fill(section, heading(), box);
    showError(box, error);
  }
  return section;
}
