// The TaskFlow web client: a few pages on the gateway's origin, no framework, no build step.
//
//   /                          my notifications (live), invites, tasks assigned to me, projects
//   /tasks/{id}                a task and its comments
//   /settings/notifications    notification preferences (event type x channel)
//   /invite/accept?token=...   accepts an emailed invitation
//
// The paths of the last three are linked from emails (django-core/mailing/links.py).

import { ApiError, SIGNED_OUT, api, items, register, signIn, signOut, signedIn } from "./api.js";
import { LiveNotifications } from "./realtime.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const badge = document.getElementById("unread-badge");
const liveState = document.getElementById("live-state");
const whoami = document.getElementById("whoami");
const toast = document.getElementById("toast");

const INVITE_TOKEN_KEY = "taskflow.invite-token";
const EVENT_LABELS = {
  "project.invited": "I am invited to a project",
  "project.member_joined": "Someone joins my project",
  "project.member_removed": "I am removed from a project",
  "task.created": "A task is created",
  "task.assigned": "A task is assigned to me",
  "task.unassigned": "A task is unassigned from me",
  "task.status_changed": "A task's status changes",
  "task.updated": "A task is edited",
  "task.commented": "Someone comments on a task",
  "task.deadline_approaching": "A deadline is approaching",
  "task.overdue": "A task is overdue",
};
const CHANNELS = [
  ["web", "Web"],
  ["email", "Email"],
  ["telegram", "Telegram"],
];
const STATUS_LABELS = { todo: "To do", in_progress: "In progress", review: "In review", done: "Done" };
const PRIORITY_LABELS = { low: "Low", medium: "Medium", high: "High", urgent: "Urgent" };
const INVITE_ERRORS = {
  invite_expired: "This invitation has expired. Ask the person who invited you to send a new one.",
  invite_not_pending: "This invitation has already been used or revoked.",
  invite_not_found: "This invitation link is not valid. Check that you opened the whole link from the email.",
  not_found: "This invitation link is not valid. Check that you opened the whole link from the email.",
  already_member: "You are already a member of this project.",
};

// --- Small DOM helpers ------------------------------------------------------------------------

/** Builds an element: h("a", {href: "/"}, "text", child, ...). Text is never parsed as HTML. */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "className") element.className = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

function errorBox() {
  return h("div", { className: "error", role: "alert", hidden: true });
}

function showError(box, error) {
  box.textContent = error instanceof Error ? error.message : String(error);
  box.hidden = false;
}

function formatDate(value) {
  if (!value) return "—";
  const date = new Date(value);
  return Number.isNaN(date.getTime())
    ? value
    : new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" }).format(date);
}

/** Replaces an element's children; null, undefined and false stand for nothing. */
function fill(element, ...children) {
  element.replaceChildren(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
}

function setPage(title, ...children) {
  document.title = title ? `${title} · TaskFlow` : "TaskFlow";
  fill(main, ...children);
}

/** Runs a form's submit handler with the button disabled and errors shown in `box`. */
function onSubmit(form, box, handler) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const buttons = form.querySelectorAll("button");
    buttons.forEach((button) => (button.disabled = true));
    box.hidden = true;
    try {
      await handler(new FormData(form));
    } catch (error) {
      showError(box, error);
    } finally {
      buttons.forEach((button) => (button.disabled = false));
    }
  });
}

let toastTimer = null;
function notify(text) {
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (toast.hidden = true), 6000);
}

// --- Session and live notifications ---------------------------------------------------------

const session = { me: null, unread: 0, started: false };
let currentView = null; // {onNotification?(notification, frame), onResync?()}
let renders = 0; // a page whose data arrives after the user has moved on draws nothing

function setUnread(count) {
  session.unread = Math.max(0, count);
  badge.textContent = String(session.unread);
  badge.hidden = session.unread === 0;
  badge.setAttribute("aria-label", `${session.unread} unread`);
  document.querySelectorAll("[data-unread-count]").forEach((element) => {
    element.textContent = `${session.unread} unread`;
  });
}

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
    if (currentView?.onNotification) currentView.onNotification(notification, frame);
    else notify(notification.message);
  },
  onResync() {
    refreshUnread();
    currentView?.onResync?.();
  },
  onState(state) {
    const labels = { connecting: "Connecting…", live: "Live", offline: "Offline, reconnecting…" };
    liveState.textContent = labels[state] || "";
    liveState.dataset.state = state;
  },
  onSignedOut() {
    endSession("Your session has ended. Please sign in again.");
  },
});

async function refreshUnread() {
  try {
    setUnread((await api("GET", "/api/notifications/unread-count")).count);
  } catch {
    // The badge keeps its value; the next event or page load corrects it.
  }
}

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
  } catch {
    // Shown again on the next page load; nothing depends on it.
  }
}

function endSession(message) {
  live.stop();
  session.started = false;
  session.me = null;
  nav.hidden = true;
  whoami.textContent = "";
  render(message);
}

window.addEventListener(SIGNED_OUT, () => {
  if (session.started) endSession("Your session has ended. Please sign in again.");
});

document.getElementById("sign-out").addEventListener("click", async () => {
  live.stop();
  await signOut();
  history.pushState(null, "", "/");
  endSession("You are signed out.");
});

// --- Pages ----------------------------------------------------------------------------------

function authPage(intro, notice) {
  let mode = "signin";
  const box = errorBox();
  const container = h("section", { className: "card auth", "aria-labelledby": "auth-title" });

  function draw() {
    const registering = mode === "register";
    const form = h(
      "form",
      { novalidate: false },
      registering
        ? h(
            "p",
            { className: "field" },
            h("label", { for: "auth-name" }, "Name"),
            h("input", { id: "auth-name", name: "name", required: true, autocomplete: "name" }),
          )
        : null,
      h(
        "p",
        { className: "field" },
        h("label", { for: "auth-email" }, "Email"),
        h("input", { id: "auth-email", name: "email", type: "email", required: true, autocomplete: "email" }),
      ),
      h(
        "p",
        { className: "field" },
        h("label", { for: "auth-password" }, "Password"),
        h("input", {
          id: "auth-password",
          name: "password",
          type: "password",
          required: true,
          minlength: registering ? "8" : null,
          autocomplete: registering ? "new-password" : "current-password",
        }),
      ),
      box,
      h("button", { type: "submit", className: "primary" }, registering ? "Create account" : "Sign in"),
    );
    onSubmit(form, box, async (data) => {
      const email = String(data.get("email")).trim();
      const password = String(data.get("password"));
      if (registering) await register(String(data.get("name")).trim(), email, password);
      else await signIn(email, password);
      render();
    });
    fill(
      container,
      h("h1", { id: "auth-title" }, registering ? "Create an account" : "Sign in"),
      notice ? h("p", { className: "notice", role: "status" }, notice) : null,
      intro ? h("p", {}, intro) : null,
      form,
      h(
        "p",
        { className: "switch" },
        registering ? "Already have an account? " : "New to TaskFlow? ",
        h(
          "button",
          {
            type: "button",
            className: "link",
            onclick: () => {
              mode = registering ? "signin" : "register";
              box.hidden = true;
              draw();
              container.querySelector("input")?.focus();
            },
          },
          registering ? "Sign in instead" : "Create an account",
        ),
      ),
    );
  }

  draw();
  setPage("Sign in", container);
}

function notificationItem(notification, onRead) {
  const taskId = notification.data?.task?.id;
  const markButton = h("button", { type: "button", className: "small" }, "Mark as read");
  const item = h(
    "li",
    { className: notification.is_read ? "notification" : "notification unread", "data-id": notification.id },
    h(
      "div",
      { className: "message" },
      notification.is_read ? null : h("span", { className: "visually-hidden" }, "Unread: "),
      notification.message,
    ),
    h(
      "div",
      { className: "meta" },
      h("time", { datetime: notification.created_at }, formatDate(notification.created_at)),
      taskId ? h("a", { href: `/tasks/${taskId}`, "data-link": true }, "Open task") : null,
      notification.is_read ? null : markButton,
    ),
  );
  markButton.addEventListener("click", async () => {
    markButton.disabled = true;
    try {
      await api("PATCH", `/api/notifications/${notification.id}/read`);
      notification.is_read = true;
      item.classList.remove("unread");
      item.querySelector(".visually-hidden")?.remove();
      markButton.remove();
      onRead();
    } catch (error) {
      markButton.disabled = false;
      notify(error.message);
    }
  });
  return item;
}

async function homePage() {
  const box = errorBox();
  const list = h("ul", { className: "notifications", id: "notifications", "aria-live": "polite" });
  const empty = h("p", { className: "empty" }, "No notifications yet.");
  const counter = h("span", { "data-unread-count": true, className: "count" }, `${session.unread} unread`);
  const markAll = h("button", { type: "button" }, "Mark all as read");
  const invites = h("section", { "aria-labelledby": "invites-title", hidden: true });
  const tasks = h("ul", { className: "plain", id: "my-tasks" });
  const projects = h("ul", { className: "plain", id: "my-projects" });
  const shown = new Set();

  function add(notification, atTop) {
    if (shown.has(notification.id)) return;
    shown.add(notification.id);
    const item = notificationItem(notification, () => setUnread(session.unread - 1));
    if (atTop) list.prepend(item);
    else list.append(item);
    empty.hidden = true;
  }

  async function loadNotifications() {
    try {
      const page = await api("GET", "/api/notifications?page_size=50");
      list.replaceChildren();
      shown.clear();
      items(page).forEach((notification) => add(notification, false));
      empty.hidden = shown.size > 0;
      box.hidden = true;
    } catch (error) {
      showError(box, error);
    }
  }

  markAll.addEventListener("click", async () => {
    markAll.disabled = true;
    try {
      await api("POST", "/api/notifications/read-all");
      list.querySelectorAll(".unread").forEach((item) => {
        item.classList.remove("unread");
        item.querySelector(".visually-hidden")?.remove();
        item.querySelector("button")?.remove();
      });
      setUnread(0);
    } catch (error) {
      showError(box, error);
    } finally {
      markAll.disabled = false;
    }
  });

  setPage(
    "Notifications",
    h(
      "section",
      { "aria-labelledby": "notifications-title" },
      h("div", { className: "heading-row" }, h("h1", { id: "notifications-title" }, "Notifications"), counter, markAll),
      box,
      list,
      empty,
    ),
    invites,
    h(
      "div",
      { className: "columns" },
      h("section", { "aria-labelledby": "tasks-title" }, h("h2", { id: "tasks-title" }, "Assigned to me"), tasks),
      h("section", { "aria-labelledby": "projects-title" }, h("h2", { id: "projects-title" }, "My projects"), projects),
    ),
  );

  async function loadInvites() {
    try {
      const pending = items(await api("GET", "/api/invites"));
      invites.hidden = pending.length === 0;
      invites.replaceChildren(
        h("h2", { id: "invites-title" }, "Invitations"),
        h(
          "ul",
          { className: "plain" },
          pending.map((invite) => {
            const accept = h("button", { type: "button", className: "small primary" }, "Accept");
            const decline = h("button", { type: "button", className: "small" }, "Decline");
            const row = h("li", {}, `${invite.project.name} (as ${invite.role}) `, accept, " ", decline);
            const answer = (verb) => async () => {
              accept.disabled = decline.disabled = true;
              try {
                await api("POST", `/api/invites/${invite.id}/${verb}`);
                row.replaceWith(h("li", {}, verb === "accept" ? `You joined ${invite.project.name}.` : "Declined."));
                if (verb === "accept") loadLists();
              } catch (error) {
                accept.disabled = decline.disabled = false;
                notify(error.message);
              }
            };
            accept.addEventListener("click", answer("accept"));
            decline.addEventListener("click", answer("decline"));
            return row;
          }),
        ),
      );
    } catch {
      invites.hidden = true;
    }
  }

  async function loadLists() {
    try {
      const assigned = items(await api("GET", "/api/tasks?assignee=me&status=todo,in_progress,review&ordering=deadline"));
      tasks.replaceChildren(
        ...(assigned.length
          ? assigned.map((task) =>
              h(
                "li",
                {},
                h("a", { href: `/tasks/${task.id}`, "data-link": true }, task.title),
                h("span", { className: "meta" }, ` ${STATUS_LABELS[task.status] || task.status}`),
                task.deadline ? h("span", { className: "meta" }, ` · due ${formatDate(task.deadline)}`) : null,
              ),
            )
          : [h("li", { className: "empty" }, "Nothing assigned to you.")]),
      );
      const mine = items(await api("GET", "/api/projects"));
      projects.replaceChildren(
        ...(mine.length
          ? mine.map((project) => h("li", {}, project.name, h("span", { className: "meta" }, ` · ${project.my_role}`)))
          : [h("li", { className: "empty" }, "No projects yet.")]),
      );
    } catch (error) {
      showError(box, error);
    }
  }

  currentView = {
    onNotification(notification) {
      add(notification, true);
      if (notification.data?.task) loadLists();
      if (notification.type === "project.invited") loadInvites();
    },
    onResync() {
      loadNotifications();
      loadLists();
    },
  };
  await Promise.all([loadNotifications(), loadInvites(), loadLists()]);
}

async function taskPage(id) {
  const thisRender = renders;
  setPage("Task", h("p", { role: "status" }, "Loading the task…"));
  const article = h("article", { className: "card task", "aria-labelledby": "task-title" });
  const list = h("ol", { className: "comments", id: "comments" });

  const drawComments = (all) =>
    list.replaceChildren(
      ...(all.length
        ? all.map((comment) =>
            h(
              "li",
              {},
              h(
                "div",
                { className: "meta" },
                h("strong", {}, comment.author?.name || "Someone"),
                " · ",
                h("time", { datetime: comment.created_at }, formatDate(comment.created_at)),
              ),
              h("p", { className: "body" }, comment.body),
            ),
          )
        : [h("li", { className: "empty" }, "No comments yet.")]),
    );

  const row = (label, value) => [h("dt", {}, label), h("dd", {}, value)];
  const drawTask = (task) => {
    document.title = `${task.title} · TaskFlow`;
    article.replaceChildren(
      h("h1", { id: "task-title" }, task.title, h("span", { className: "meta" }, ` #${task.id}`)),
      h(
        "dl",
        { className: "facts" },
        row("Status", h("span", { className: `pill status-${task.status}` }, STATUS_LABELS[task.status] || task.status)),
        row(
          "Priority",
          h("span", { className: `pill priority-${task.priority}` }, PRIORITY_LABELS[task.priority] || task.priority),
        ),
        row("Assignee", task.assignee ? task.assignee.name : "Unassigned"),
        row("Reporter", task.reporter ? task.reporter.name : "—"),
        row("Deadline", task.deadline ? h("time", { datetime: task.deadline }, formatDate(task.deadline)) : "None"),
      ),
      h("h2", {}, "Description"),
      task.description ? h("p", { className: "body" }, task.description) : h("p", { className: "empty" }, "No description."),
    );
  };

  const load = () =>
    Promise.all([api("GET", `/api/tasks/${id}`), api("GET", `/api/tasks/${id}/comments?page_size=100`)]).then(
      ([task, comments]) => {
        drawTask(task);
        drawComments(items(comments));
      },
    );

  try {
    await load();
  } catch (error) {
    if (thisRender !== renders) return;
    const message =
      error instanceof ApiError && error.status === 404
        ? "This task does not exist, or you are not a member of its project."
        : error.message;
    setPage(
      "Task",
      h("h1", {}, "Task"),
      h("p", { className: "error", role: "alert" }, message),
      h("p", {}, h("a", { href: "/", "data-link": true }, "Back to my notifications")),
    );
    return;
  }
  if (thisRender !== renders) return;

  const box = errorBox();
  const form = h(
    "form",
    { className: "comment-form" },
    h(
      "p",
      { className: "field" },
      h("label", { for: "comment-body" }, "Add a comment"),
      h("textarea", { id: "comment-body", name: "body", rows: "4", maxlength: "10000", required: true }),
    ),
    box,
    h("button", { type: "submit", className: "primary" }, "Post comment"),
  );
  onSubmit(form, box, async (data) => {
    await api("POST", `/api/tasks/${id}/comments`, { body: String(data.get("body")) });
    form.reset();
    drawComments(items(await api("GET", `/api/tasks/${id}/comments?page_size=100`)));
  });

  setPage(
    document.title.replace(/ · TaskFlow$/, ""),
    h("p", { className: "crumbs" }, h("a", { href: "/", "data-link": true }, "← Notifications")),
    article,
    h("section", { "aria-labelledby": "comments-title" }, h("h2", { id: "comments-title" }, "Comments"), list, form),
  );

  currentView = {
    onNotification(notification) {
      // A change to this task (status, comment, ...): redraw it in place; a draft comment stays.
      if (notification.data?.task?.id === Number(id)) load().catch(() => {});
      else notify(notification.message);
    },
    onResync() {
      load().catch(() => {});
    },
  };
}

async function preferencesPage() {
  const thisRender = renders;
  setPage("Notification settings", h("p", { role: "status" }, "Loading your preferences…"));
  let preferences;
  try {
    preferences = await api("GET", "/api/notifications/preferences");
  } catch (error) {
    if (thisRender !== renders) return;
    setPage("Notification settings", h("h1", {}, "Notification settings"), h("p", { className: "error", role: "alert" }, error.message));
    return;
  }
  if (thisRender !== renders) return;
  const box = errorBox();
  const saved = h("p", { className: "success", role: "status" });
  const types = Object.keys(preferences);
  const form = h(
    "form",
    {},
    h(
      "table",
      { className: "preferences" },
      h("caption", {}, "Where to notify me, per kind of event"),
      h(
        "thead",
        {},
        h("tr", {}, h("th", { scope: "col" }, "Event"), CHANNELS.map(([, label]) => h("th", { scope: "col" }, label))),
      ),
      h(
        "tbody",
        {},
        types.map((type) => {
          const label = EVENT_LABELS[type] || type;
          return h(
            "tr",
            {},
            h("th", { scope: "row" }, label),
            CHANNELS.map(([channel, channelLabel]) =>
              h(
                "td",
                {},
                h("input", {
                  type: "checkbox",
                  name: `${type}:${channel}`,
                  "aria-label": `${label}: ${channelLabel}`,
                  "data-type": type,
                  "data-channel": channel,
                  checked: Boolean(preferences[type]?.[channel]),
                }),
              ),
            ),
          );
        }),
      ),
    ),
    box,
    h("div", { className: "actions" }, h("button", { type: "submit", className: "primary" }, "Save preferences"), saved),
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
    saved.textContent = "Preferences saved.";
  });
  setPage(
    "Notification settings",
    h("h1", {}, "Notification settings"),
    h("p", {}, "Choose how TaskFlow tells you about each kind of event. Telegram needs a linked account."),
    form,
    await telegramSection(),
  );
}

/** Linking Telegram: a single-use deep link to the bot (POST /api/telegram/link), or unlinking. */
async function telegramSection() {
  const section = h("section", { className: "telegram", "aria-labelledby": "telegram-title" });
  const box = errorBox();
  async function draw() {
    const me = await api("GET", "/api/users/me");
    const status = h(
      "p",
      { id: "telegram-status" },
      me.telegram_linked ? "Your Telegram account is linked." : "Telegram is not linked.",
    );
    const linkButton = h("button", { type: "button", className: "primary", id: "telegram-link" }, "Link Telegram");
    const unlinkButton = h("button", { type: "button", id: "telegram-unlink" }, "Unlink Telegram");
    const offer = h("p", { id: "telegram-offer", role: "status" });
    linkButton.addEventListener("click", async () => {
      box.hidden = true;
      try {
        const link = await api("POST", "/api/telegram/link");
        const minutes = Math.round(link.expires_in / 60);
        fill(
          offer,
          h("a", { href: link.url, target: "_blank", rel: "noopener", id: "telegram-deep-link" }, "Open TaskFlow in Telegram"),
          ` and press Start. The link works once, for ${minutes} minutes.`,
        );
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
      h("h2", { id: "telegram-title" }, "Telegram"),
      status,
      h("div", { className: "actions" }, linkButton, me.telegram_linked ? unlinkButton : null),
      offer,
      box,
    );
  }
  try {
    await draw();
  } catch (error) {
    fill(section, h("h2", { id: "telegram-title" }, "Telegram"), box);
    showError(box, error);
  }
  return section;
}

function invitePage(token) {
  if (!token) {
    setPage(
      "Invitation",
      h("h1", {}, "Invitation"),
      h("p", { className: "error", role: "alert" }, INVITE_ERRORS.invite_not_found),
    );
    return;
  }
  const box = errorBox();
  const accept = h("button", { type: "button", className: "primary" }, "Accept invitation");
  const card = h(
    "section",
    { className: "card", "aria-labelledby": "invite-title" },
    h("h1", { id: "invite-title" }, "Join a project"),
    h("p", {}, "You have been invited to a project on TaskFlow."),
    h("p", {}, "Signed in as ", h("strong", {}, session.me?.email || "you"), "."),
    box,
    h("div", { className: "actions" }, accept),
  );
  accept.addEventListener("click", async () => {
    accept.disabled = true;
    box.hidden = true;
    try {
      const joined = await api("POST", "/api/invites/accept", { token });
      sessionStorage.removeItem(INVITE_TOKEN_KEY); // spent
      card.replaceChildren(
        h("h1", { id: "invite-title" }, "Welcome aboard"),
        h(
          "p",
          { className: "success", role: "status" },
          "You joined ",
          h("strong", { className: "project-name" }, joined.project.name),
          ` as ${joined.role}.`,
        ),
        h("p", {}, h("a", { href: "/", "data-link": true, className: "button primary" }, "Go to my notifications")),
      );
    } catch (error) {
      accept.disabled = false;
      if (INVITE_ERRORS[error.code]) sessionStorage.removeItem(INVITE_TOKEN_KEY); // final answers
      showError(box, new Error(INVITE_ERRORS[error.code] || error.message));
    }
  });
  setPage("Invitation", card);
}

function notFoundPage() {
  setPage(
    "Not found",
    h("h1", {}, "Page not found"),
    h("p", {}, "There is nothing at this address. "),
    h("p", {}, h("a", { href: "/", "data-link": true }, "Go to my notifications")),
  );
}

// --- Routing ----------------------------------------------------------------------------------

async function render(notice) {
  renders += 1;
  currentView = null;
  const path = location.pathname.replace(/\/+$/, "") || "/";
  const query = new URLSearchParams(location.search);
  if (path === "/invite/accept" && query.has("token")) {
    // The invite token leaves the address bar at once (history, Referer headers, shoulder
    // surfing); this tab keeps it until it is used.
    sessionStorage.setItem(INVITE_TOKEN_KEY, query.get("token"));
    history.replaceState(null, "", "/invite/accept");
  }
  if (!signedIn()) {
    if (path === "/invite/accept") {
      authPage("You have been invited to a project. Sign in, or create an account, to accept the invitation.", notice);
    } else {
      authPage(path === "/" ? "" : "Sign in to continue.", notice);
    }
    return;
  }
  startSession();
  const task = path.match(/^\/tasks\/(\d+)$/);
  if (path === "/") await homePage();
  else if (task) await taskPage(task[1]);
  else if (path === "/settings/notifications") await preferencesPage();
  else if (path === "/invite/accept") {
    await startSession();
    invitePage(sessionStorage.getItem(INVITE_TOKEN_KEY));
  } else notFoundPage();
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

render();
