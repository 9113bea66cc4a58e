// "/": my work: notifications (live), pending invitations, open tasks assigned to me (by
// deadline), my projects, and a "New project" form that opens the new project's board.

import { api, items } from "../api.js";
import { errorBox, field, go, h, notify, onSubmit, showError } from "../dom.js";
import { formatDate, t } from "../i18n.js";
import { roleLabel, statusLabel } from "../labels.js";
import { session, setPage, setUnread, unreadText, view } from "../state.js";

function notificationItem(notification, onRead) {
  const taskId = notification.data?.task?.id;
  const markButton = h("button", { type: "button", className: "small" }, t("Mark as read"));
  const item = h(
    "li",
    { className: notification.is_read ? "notification" : "notification unread", "data-id": notification.id },
    h(
      "div",
      { className: "message" },
      notification.is_read ? null : h("span", { className: "visually-hidden" }, t("Unread:"), " "),
      notification.message,
    ),
    h(
      "div",
      { className: "meta" },
      h("time", { datetime: notification.created_at }, formatDate(notification.created_at)),
      taskId ? h("a", { href: `/tasks/${taskId}`, "data-link": true }, t("Open task")) : null,
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

/** While the address is unverified: why it matters, and a button that mails another link. */
function verifyNotice() {
  if (!session.me || session.me.email_verified !== false) return null;
  const resend = h("button", { type: "button", className: "small" }, t("Send the link again"));
  const text = h(
    "p",
    {},
    t("Please verify your email address {email}: open the link we mailed to it. Until then, invitations to this address are not shown here.", {
      email: session.me.email,
    }),
  );
  resend.addEventListener("click", async () => {
    resend.disabled = true;
    try {
      await api("POST", "/api/users/me/verify-email");
      text.textContent = t("We mailed a new link to {email}.", { email: session.me.email });
      resend.remove();
    } catch (error) {
      resend.disabled = false;
      notify(error.message);
    }
  });
  return h("section", { className: "notice", id: "verify-notice", role: "status" }, text, resend);
}

/** POST /api/projects; on success the new project's board opens. */
function newProjectForm() {
  const box = errorBox();
  const form = h(
    "form",
    { className: "stack", "aria-labelledby": "new-project-title" },
    field(t("Name"), h("input", { id: "new-project-name", name: "name", required: true, maxlength: "200" })),
    field(
      t("Description"),
      h("textarea", { id: "new-project-description", name: "description", rows: "3", maxlength: "10000" }),
      { hint: t("Optional. You can change both later in the project's settings.") },
    ),
    box,
    h("div", { className: "actions" }, h("button", { type: "submit", className: "primary" }, t("Create project"))),
  );
  onSubmit(form, box, async (data) => {
    const project = await api("POST", "/api/projects", {
      name: String(data.get("name")).trim(),
      description: String(data.get("description")).trim(),
    });
    go(`/projects/${project.id}`);
  });
  return h(
    "section",
    { className: "card new-project", "aria-labelledby": "new-project-title" },
    h("h2", { id: "new-project-title" }, t("New project")),
    form,
  );
}

export async function homePage() {
  const box = errorBox();
  const list = h("ul", { className: "notifications", id: "notifications", "aria-live": "polite" });
  const empty = h("p", { className: "empty" }, t("No notifications yet."));
  const counter = h("span", { "data-unread-count": true, className: "count" }, unreadText(session.unread));
  const markAll = h("button", { type: "button" }, t("Mark all as read"));
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
    t("My work"),
    verifyNotice(),
    h("h1", {}, t("My work")),
    h(
      "section",
      { "aria-labelledby": "notifications-title" },
      h("div", { className: "heading-row" }, h("h2", { id: "notifications-title" }, t("Notifications")), counter, markAll),
      box,
      list,
      empty,
    ),
    invites,
    h(
      "div",
      { className: "columns" },
      h("section", { "aria-labelledby": "tasks-title" }, h("h2", { id: "tasks-title" }, t("Assigned to me")), tasks),
      h("section", { "aria-labelledby": "projects-title" }, h("h2", { id: "projects-title" }, t("My projects")), projects),
    ),
    newProjectForm(),
  );

  function inviteRow(invite) {
    const accept = h("button", { type: "button", className: "small primary" }, t("Accept"));
    const decline = h("button", { type: "button", className: "small" }, t("Decline"));
    const what = t("{project} (as {role})", { project: invite.project.name, role: roleLabel(invite.role) });
    const row = h("li", {}, what, " ", accept, " ", decline);
    const answer = (verb) => async () => {
      accept.disabled = decline.disabled = true;
      try {
        await api("POST", `/api/invites/${invite.id}/${verb}`);
        const done = verb === "accept" ? t("You joined {project}.", { project: invite.project.name }) : t("Declined.");
        row.replaceWith(h("li", {}, done));
        if (verb === "accept") loadLists();
      } catch (error) {
        accept.disabled = decline.disabled = false;
        notify(error.message);
      }
    };
    accept.addEventListener("click", answer("accept"));
    decline.addEventListener("click", answer("decline"));
    return row;
  }

  async function loadInvites() {
    try {
      const pending = items(await api("GET", "/api/invites"));
      invites.hidden = pending.length === 0;
      invites.replaceChildren(
        h("h2", { id: "invites-title" }, t("Invitations")),
        h("ul", { className: "plain" }, pending.map(inviteRow)),
      );
    } catch {
      invites.hidden = true;
    }
  }

  const taskItem = (task) =>
    h(
      "li",
      {},
      h("a", { href: `/tasks/${task.id}`, "data-link": true }, task.title),
      h("span", { className: "meta" }, " ", statusLabel(task.status)),
      task.deadline
        ? h("span", { className: "meta" }, " · ", t("due {date}", { date: formatDate(task.deadline) }))
        : null,
    );

  async function loadLists() {
    try {
      const assigned = items(await api("GET", "/api/tasks?assignee=me&status=todo,in_progress,review&ordering=deadline,id&page_size=100"));
      tasks.replaceChildren(
        ...(assigned.length ? assigned.map(taskItem) : [h("li", { className: "empty" }, t("Nothing assigned to you."))]),
      );
      const mine = items(await api("GET", "/api/projects?page_size=100"));
      projects.replaceChildren(
        ...(mine.length
          ? mine.map((project) =>
              h(
                "li",
                {},
                h("a", { href: `/projects/${project.id}`, "data-link": true }, project.name),
                h("span", { className: "meta" }, " · ", roleLabel(project.my_role)),
              ),
            )
          : [h("li", { className: "empty" }, t("No projects yet. Create one below."))]),
      );
    } catch (error) {
      showError(box, error);
    }
  }

  view.current = {
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
