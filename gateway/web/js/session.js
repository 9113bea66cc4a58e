// The signed-in session: the account, the unread count and the one live connection, whose
// frames go to the page being shown (state.view.current) before anything else.

import { api } from "./api.js";
import { notify } from "./dom.js";
import { liveStateLabel } from "./frame.js";
import { setLanguage } from "./i18n.js";
import { LiveConnection } from "./live.js";
import { session, setUnread, view } from "./state.js";

const nav = document.getElementById("nav");
const liveState = document.getElementById("live-state");
const whoami = document.getElementById("whoami");

let sessionLost = () => {};

/** What to do when the session cannot be renewed (app.js: the sign-in page, with a notice). */
export function onSessionLost(handler) {
  sessionLost = handler;
}

export const live = new LiveConnection({
  onEvent(frame) {
    // Every frame first to the page (a board shows its project's events, notified or not).
    const handled = view.current?.onEvent?.(frame);
    if (!frame.notification) return;
    // The frame's notification is {id, message, is_read, created_at}; the rest, as REST lists
    // it, comes from the event (a stored notification's data is its event's data).
    const notification = {
      event_id: frame.event?.id,
      type: frame.event?.type,
      data: frame.event?.data ?? {},
      ...frame.notification,
    };
    // The server's count, not a local +1: a replayed event must not count twice.
    refreshUnread();
    if (view.current?.onNotification) view.current.onNotification(notification, frame, handled);
    else notify(notification.message);
  },
  onResync() {
    refreshUnread();
    view.current?.onResync?.();
  },
  onState(state) {
    liveState.dataset.state = state;
    liveState.textContent = liveStateLabel(state);
    view.current?.onLiveState?.(state);
  },
  onSignedOut() {
    sessionLost();
  },
});

export async function refreshUnread() {
  try {
    setUnread((await api("GET", "/api/notifications/unread-count")).count);
  } catch {
    // The badge keeps its value; the next event or page load corrects it.
  }
}

/** Starts the session once; resolves when the account (and so its language) is known. */
export function startSession() {
  if (!session.started) {
    session.started = true;
    session.ready = loadSession();
  }
  return session.ready;
}

async function loadSession() {
  nav.hidden = false;
  live.start();
  refreshUnread();
  try {
    session.me = await api("GET", "/api/users/me");
    whoami.textContent = session.me.email;
    await setLanguage(session.me.language, { quiet: true }); // the page is drawn next
  } catch {
    // Shown again on the next page load; the page is drawn in the current language meanwhile.
  }
}

/** Ends the session here: the socket closed, the account forgotten, the navigation hidden. */
export function endSession() {
  live.stop();
  session.started = false;
  session.me = null;
  nav.hidden = true;
  whoami.textContent = "";
}
