// The TaskFlow web client: a few pages on the gateway's origin, no framework, no build step.
//
//   /                          my notifications (live), invites, tasks assigned to me, projects
//   /tasks/{id}                a task and its comments
//   /settings/notifications    notification preferences (event type x channel), Telegram, language
//   /invite/accept?token=...   accepts an emailed invitation
//   /verify-email?token=...    verifies the account's address; /forgot-password and
//   /reset-password?token=...  reset a forgotten password (signed in or not: pages/account.js)
//
// The paths of /tasks, /settings, /invite, /verify-email and /reset-password are linked from emails (django-core/mailing/links.py). This
// module holds the session, the live socket and the routing; the pages are in pages/.

import { SIGNED_OUT, api, signOut, signedIn, tokens } from "./api.js";
import { h, notify } from "./dom.js";
import { drawFrame, liveStateLabel } from "./frame.js";
import { loadLanguages, onLanguageChange, setLanguage, signedOutLanguage, t } from "./i18n.js";
import { forgotPasswordPage, resetPasswordPage, verifyEmailPage } from "./pages/account.js";
import { authPage } from "./pages/auth.js";
import { homePage } from "./pages/home.js";
import { invitePage } from "./pages/invite.js";
import { settingsPage } from "./pages/settings.js";
import { taskPage } from "./pages/task.js";
import { LiveNotifications } from "./realtime.js";
import { INVITE_TOKEN_KEY, RESET_TOKEN_KEY, VERIFY_TOKEN_KEY, session, setPage, setUnread, view } from "./state.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const liveState = document.getElementById("live-state");
const whoami = document.getElementById("whoami");

// --- Session and live notifications ---------------------------------------------------------

const sessionEnded = () => t("Your session has ended. Please sign in again.");

const live = new LiveNotifications({
  onEvent(frame) {
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
    if (view.current?.onNotification) view.current.onNotification(notification, frame);
    else notify(notification.message);
  },
  onResync() {
    refreshUnread();
    view.current?.onResync?.();
  },
  onState(state) {
    liveState.dataset.state = state;
    liveState.textContent = liveStateLabel(state);
  },
  onSignedOut() {
    endSession(sessionEnded);
  },
});

async function refreshUnread() {
  try {
    setUnread((await api("GET", "/api/notifications/unread-count")).count);
  } catch {
    // The badge keeps its value; the next event or page load corrects it.
  }
}

/** Starts the session once; resolves when the account (and so its language) is known. */
function startSession() {
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

/** @param {() => string} notice  the sign-in page's status line, in the language of that page */
function endSession(notice) {
  live.stop();
  session.started = false;
  session.me = null;
  nav.hidden = true;
  whoami.textContent = "";
  render(notice);
}

window.addEventListener(SIGNED_OUT, () => {
  if (session.started) endSession(sessionEnded);
});

document.getElementById("sign-out").addEventListener("click", async () => {
  live.stop();
  await signOut();
  history.pushState(null, "", "/");
  endSession(() => t("You are signed out."));
});

// A language chosen on the settings page or in the footer: everything is drawn again in it.
onLanguageChange(() => render());

function notFoundPage() {
  setPage(
    t("Not found"),
    h("h1", {}, t("Page not found")),
    h("p", {}, t("There is nothing at this address.")),
    h("p", {}, h("a", { href: "/", "data-link": true }, t("Go to my notifications"))),
  );
}

// --- Routing ----------------------------------------------------------------------------------

// Pages open whether signed in or not (linked from account emails, or from the sign-in page).
const ACCOUNT_PATHS = new Set(["/verify-email", "/forgot-password", "/reset-password"]);

/** After a password reset every session has ended, this tab's too: sign in with the new one. */
function passwordReset() {
  tokens.clear();
  history.pushState(null, "", "/");
  endSession(() => t("Your password was changed. Sign in with the new one."));
}

/** @param {() => string} [notice]  a status line for the sign-in page */
async function render(notice) {
  view.renders += 1;
  const thisRender = view.renders;
  view.current = null;
  const path = location.pathname.replace(/\/+$/, "") || "/";
  const query = new URLSearchParams(location.search);
  if (path === "/invite/accept" && query.has("token")) {
    // The invite token leaves the address bar at once (history, Referer headers, shoulder
    // surfing); this tab keeps it until it is used.
    sessionStorage.setItem(INVITE_TOKEN_KEY, query.get("token"));
    history.replaceState(null, "", "/invite/accept");
  }
  // Mailed account tokens leave the address bar at once too.
  for (const [tokenPath, key] of [
    ["/verify-email", VERIFY_TOKEN_KEY],
    ["/reset-password", RESET_TOKEN_KEY],
  ]) {
    if (path === tokenPath && query.has("token")) {
      sessionStorage.setItem(key, query.get("token"));
      history.replaceState(null, "", tokenPath);
    }
  }
  if (ACCOUNT_PATHS.has(path)) {
    if (signedIn()) {
      await startSession();
      if (thisRender !== view.renders) return;
      drawFrame(true);
      setUnread(session.unread);
    } else {
      await setLanguage(signedOutLanguage(), { quiet: true });
      if (thisRender !== view.renders) return;
      drawFrame(false);
    }
    if (path === "/verify-email") await verifyEmailPage(sessionStorage.getItem(VERIFY_TOKEN_KEY));
    else if (path === "/forgot-password") forgotPasswordPage();
    else resetPasswordPage(sessionStorage.getItem(RESET_TOKEN_KEY), passwordReset);
    return;
  }
  if (!signedIn()) {
    await setLanguage(signedOutLanguage(), { quiet: true });
    if (thisRender !== view.renders) return;
    drawFrame(false);
    const intro =
      path === "/invite/accept"
        ? t("You have been invited to a project. Sign in, or create an account, to accept the invitation.")
        : path === "/"
          ? ""
          : t("Sign in to continue.");
    authPage(intro, notice ? notice() : "", () => render());
    return;
  }
  await startSession();
  if (thisRender !== view.renders) return;
  drawFrame(true);
  setUnread(session.unread);
  const task = path.match(/^\/tasks\/(\d+)$/);
  if (path === "/") await homePage();
  else if (task) await taskPage(task[1]);
  else if (path === "/settings/notifications") await settingsPage();
  else if (path === "/invite/accept") invitePage(sessionStorage.getItem(INVITE_TOKEN_KEY));
  else notFoundPage();
}

/** In-app navigation: no reload (the live socket stays open); focus moves to the new heading. */
async function navigate(url) {
  history.pushState(null, "", url);
  await render();
  const heading = main.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-link]");
  if (!link || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(link.getAttribute("href"));
});
window.addEventListener("popstate", () => render());

loadLanguages().then(() => render());
