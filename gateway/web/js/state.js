// What the pages share: the signed-in user, the unread count, the page being shown.

import { fill, h } from "./dom.js";
import { formatNumber, nt, setTimeZone, t } from "./i18n.js";

export const INVITE_TOKEN_KEY = "taskflow.invite-token";
export const VERIFY_TOKEN_KEY = "taskflow.verify-token";
export const RESET_TOKEN_KEY = "taskflow.reset-token";

let me = null;

/**
 * me: GET /api/users/me (null until known); ready: the session's start, once signed in.
 * Setting `me` makes its time zone the one dates are shown and entered in (i18n.setTimeZone).
 */
export const session = {
  get me() {
    return me;
  },
  set me(user) {
    me = user;
    setTimeZone(user?.timezone);
  },
  unread: 0,
  started: false,
  ready: null,
};

/**
 * current: the page's handlers {onEvent?(frame) (every `event` frame, offered first; true when
 *   the page showed it), onNotification?(notification, frame, handled), onResync?(), onLeave?()
 *   (another page is drawn)};
 * renders: counts renders, so a page whose data arrives after the user has moved on draws nothing.
 */
export const view = { current: null, renders: 0 };

export function setPage(title, ...children) {
  document.title = title ? t("{title} · TaskFlow", { title }) : "TaskFlow";
  fill(document.getElementById("main"), ...children);
}

/**
 * A page that could not load: its title, the reason (`notFound` for a 404, which is also what an
 * object of a project the user is not in answers), and the way home.
 */
export function failedPage(title, error, notFound) {
  const message = error?.status === 404 ? notFound : error.message;
  setPage(
    title,
    h("h1", {}, title),
    h("p", { className: "error", role: "alert" }, message),
    h("p", {}, h("a", { href: "/", "data-link": true }, t("Back to my work"))),
  );
}

export function unreadText(count) {
  return nt("{count} unread", "{count} unread", count);
}

export function setUnread(count) {
  session.unread = Math.max(0, count);
  const badge = document.getElementById("unread-badge");
  badge.textContent = formatNumber(session.unread);
  badge.hidden = session.unread === 0;
  badge.setAttribute("aria-label", unreadText(session.unread));
  document.querySelectorAll("[data-unread-count]").forEach((element) => {
    element.textContent = unreadText(session.unread);
  });
}
