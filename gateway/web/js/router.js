// Which page a path shows, and in-app navigation (links with `data-link`: no reload, the live
// socket stays open, focus moves to the new page's heading).
//
//   /                          my work: notifications (live), invites, tasks assigned to me, projects
//   /projects/{id}             the project's board (live)
//   /projects/{id}/settings    name, members and roles, invites, leave, delete
//   /tasks/{id}                a task: fields in each language, watchers, comments, history
//   /settings/profile          name, language, time zone, password, Telegram link
//   /settings/notifications    notification preferences (event type x channel)
//   /invite/accept?token=...   accepts an emailed invitation
//   /verify-email?token=...    verifies the account's address; /forgot-password and
//   /reset-password?token=...  reset a forgotten password (signed in or not: pages/account.js)
//
// /tasks, /settings, /invite, /verify-email and /reset-password are linked from emails
// (django-core/mailing/links.py): keep them.

import { signedIn, tokens } from "./api.js";
import { h } from "./dom.js";
import { drawFrame } from "./frame.js";
import { setLanguage, signedOutLanguage, t } from "./i18n.js";
import { forgotPasswordPage, resetPasswordPage, verifyEmailPage } from "./pages/account.js";
import { authPage } from "./pages/auth.js";
import { boardPage } from "./pages/board.js";
import { homePage } from "./pages/home.js";
import { invitePage } from "./pages/invite.js";
import { profilePage } from "./pages/profile.js";
import { projectSettingsPage } from "./pages/project-settings.js";
import { settingsPage } from "./pages/settings.js";
import { taskPage } from "./pages/task.js";
import { endSession, startSession } from "./session.js";
import { INVITE_TOKEN_KEY, RESET_TOKEN_KEY, VERIFY_TOKEN_KEY, session, setPage, setUnread, view } from "./state.js";

const main = document.getElementById("main");

/** The signed-in pages: [pattern, page(...captured groups)]. */
const ROUTES = [
  [/^\/$/, () => homePage()],
  [/^\/projects\/(\d+)$/, (id) => boardPage(Number(id))],
  [/^\/projects\/(\d+)\/settings$/, (id) => projectSettingsPage(Number(id))],
  [/^\/tasks\/(\d+)$/, (id) => taskPage(id)],
  [/^\/settings\/profile$/, () => profilePage()],
  [/^\/settings\/notifications$/, () => settingsPage()],
  [/^\/invite\/accept$/, () => invitePage(sessionStorage.getItem(INVITE_TOKEN_KEY))],
];

// Pages open whether signed in or not (linked from account emails, or from the sign-in page).
const ACCOUNT_PATHS = new Set(["/verify-email", "/forgot-password", "/reset-password"]);

// Mailed tokens leave the address bar at once (history, Referer headers, shoulder surfing);
// this tab keeps them until they are used.
const TOKEN_PATHS = [
  ["/invite/accept", INVITE_TOKEN_KEY],
  ["/verify-email", VERIFY_TOKEN_KEY],
  ["/reset-password", RESET_TOKEN_KEY],
];

function notFoundPage() {
  setPage(
    t("Not found"),
    h("h1", {}, t("Page not found")),
    h("p", {}, t("There is nothing at this address.")),
    h("p", {}, h("a", { href: "/", "data-link": true }, t("Go to my notifications"))),
  );
}

/** Signs out here and shows the sign-in page with `notice` (a function: drawn in its language). */
export function showSignIn(notice) {
  endSession();
  render(notice);
}

/** After a password reset every session has ended, this tab's too: sign in with the new one. */
function passwordReset() {
  tokens.clear();
  history.pushState(null, "", "/");
  showSignIn(() => t("Your password was changed. Sign in with the new one."));
}

async function drawFrameFor(thisRender) {
  if (signedIn()) {
    await startSession();
    if (thisRender !== view.renders) return false;
    drawFrame(true);
    setUnread(session.unread);
  } else {
    await setLanguage(signedOutLanguage(), { quiet: true });
    if (thisRender !== view.renders) return false;
    drawFrame(false);
  }
  return true;
}

/** Draws the page of the current address. @param {() => string} [notice]  for the sign-in page */
export async function render(notice) {
  view.renders += 1;
  const thisRender = view.renders;
  view.current?.onLeave?.();
  view.current = null;
  const path = location.pathname.replace(/\/+$/, "") || "/";
  const query = new URLSearchParams(location.search);
  for (const [tokenPath, key] of TOKEN_PATHS) {
    if (path === tokenPath && query.has("token")) {
      sessionStorage.setItem(key, query.get("token"));
      history.replaceState(null, "", tokenPath);
    }
  }
  if (ACCOUNT_PATHS.has(path)) {
    if (!(await drawFrameFor(thisRender))) return;
    if (path === "/verify-email") await verifyEmailPage(sessionStorage.getItem(VERIFY_TOKEN_KEY));
    else if (path === "/forgot-password") forgotPasswordPage();
    else resetPasswordPage(sessionStorage.getItem(RESET_TOKEN_KEY), passwordReset);
    return;
  }
  if (!signedIn()) {
    if (!(await drawFrameFor(thisRender))) return;
    const intro =
      path === "/invite/accept"
        ? t("You have been invited to a project. Sign in, or create an account, to accept the invitation.")
        : path === "/"
          ? ""
          : t("Sign in to continue.");
    authPage(intro, notice ? notice() : "", () => render());
    return;
  }
  if (!(await drawFrameFor(thisRender))) return;
  for (const [pattern, page] of ROUTES) {
    const found = path.match(pattern);
    if (found) {
      await page(...found.slice(1));
      return;
    }
  }
  notFoundPage();
}

/** In-app navigation: no reload (the live socket stays open); focus moves to the new heading. */
export async function navigate(url) {
  history.pushState(null, "", url);
  await render();
  const heading = main.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
}

/** Follows `data-link` clicks in the page and the browser's back and forward buttons. */
export function startRouting() {
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-link]");
    if (!link || event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(link.getAttribute("href"));
  });
  window.addEventListener("popstate", () => render());
}
