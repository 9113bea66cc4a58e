// What the pages share: the signed-in user, the unread count, the page being shown.

import { fill } from "./dom.js";
import { formatNumber, nt, t } from "./i18n.js";

export const INVITE_TOKEN_KEY = "taskflow.invite-token";
export const VERIFY_TOKEN_KEY = "taskflow.verify-token";
export const RESET_TOKEN_KEY = "taskflow.reset-token";

/** me: GET /api/users/me (null until known); ready: the session's start, once signed in. */
export const session = { me: null, unread: 0, started: false, ready: null };

/**
 * current: the page's handlers of live events {onNotification?(notification, frame), onResync?()};
 * renders: counts renders, so a page whose data arrives after the user has moved on draws nothing.
 */
export const view = { current: null, renders: 0 };

export function setPage(title, ...children) {
  document.title = title ? t("{title} · TaskFlow", { title }) : "TaskFlow";
  fill(document.getElementById("main"), ...children);
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
