// "/tasks/{id}" (linked from emails and from the board's cards): a task to read and edit, its
// watchers, comments and history, kept current live (the project's task events for it).

import { api, items } from "../api.js";
import { confirmButton, errorBox, go, h, notify, showError } from "../dom.js";
import { formatDate, t } from "../i18n.js";
import { priorityLabel, roleAtLeast, roleLabel, statusLabel } from "../labels.js";
import { failedPage, session, setPage, view } from "../state.js";
import { activitySection } from "./task-activity.js";
import { commentsSection } from "./task-comments.js";
import { taskForm } from "./task-form.js";

// The events that change what this page shows of its task (task.moved changes only its rank).
const TASK_EVENTS = new Set([
  "task.updated",
  "task.status_changed",
  "task.assigned",
  "task.unassigned",
  "task.commented",
  "task.deleted",
]);

/** Watchers' names and this user's Watch / Unwatch toggle (POST/DELETE /api/tasks/{id}/watch). */
function watchersSection(taskId, reload) {
  const names = h("p", { id: "watchers" });
  const box = errorBox();
  const toggle = h("button", { type: "button", id: "watch-toggle" });
  let watching = false;
  toggle.addEventListener("click", async () => {
    toggle.disabled = true;
    box.hidden = true;
    try {
      await api(watching ? "DELETE" : "POST", `/api/tasks/${taskId}/watch`);
      await reload();
    } catch (error) {
      showError(box, error);
    } finally {
      toggle.disabled = false;
    }
  });
  const element = h(
    "section",
    { className: "watchers", "aria-labelledby": "watchers-title" },
    h("h2", { id: "watchers-title" }, t("Watchers")),
    names,
    toggle,
    box,
  );
  function draw(task) {
    watching = task.is_watching;
    names.textContent = task.watchers.length
      ? task.watchers.map((user) => user.name).join(", ")
      : t("Nobody watches this task yet.");
    toggle.textContent = watching ? t("Unwatch") : t("Watch");
    toggle.setAttribute("aria-pressed", String(watching));
  }
  return { element, draw };
}

export async function taskPage(id) {
  const thisRender = view.renders;
  const taskId = Number(id);
  setPage(t("Task"), h("p", { role: "status" }, t("Loading the task…")));
  let task, project, members;
  try {
    task = await api("GET", `/api/tasks/${taskId}`);
    [project, members] = await Promise.all([
      api("GET", `/api/projects/${task.project}`),
      api("GET", `/api/projects/${task.project}/members?page_size=100`).then(items),
    ]);
  } catch (error) {
    if (thisRender === view.renders) {
      failedPage(t("Task"), error, t("This task does not exist, or you are not a member of its project."));
    }
    return;
  }
  if (thisRender !== view.renders) return;

  const meId = session.me?.id ?? null;
  const role = project.my_role;
  const editable = roleAtLeast(role, "member");
  const board = `/projects/${project.id}`;
  const heading = h("h1", { id: "task-title" });
  const facts = h("dl", { className: "facts", id: "task-facts" });

  const row = (label, value) => [h("dt", {}, label), h("dd", {}, value)];
  const drawHeader = (current) => {
    document.title = t("{title} · TaskFlow", { title: current.title });
    heading.replaceChildren(current.title, h("span", { className: "meta" }, ` #${current.id}`));
    facts.replaceChildren(
      ...row(t("Status"), h("span", { className: `pill status-${current.status}` }, statusLabel(current.status))),
      ...row(t("Priority"), h("span", { className: `pill priority-${current.priority}` }, priorityLabel(current.priority))),
      ...row(t("Assignee"), current.assignee ? current.assignee.name : t("Unassigned")),
      ...row(t("Reporter"), current.reporter ? current.reporter.name : "—"),
      ...row(
        t("Deadline"),
        current.deadline ? h("time", { datetime: current.deadline }, formatDate(current.deadline)) : t("None"),
      ),
      ...row(t("Updated"), h("time", { datetime: current.updated_at }, formatDate(current.updated_at))),
    );
  };

  async function reloadTask() {
    const fresh = await api("GET", `/api/tasks/${taskId}`);
    if (thisRender !== view.renders) return;
    task = fresh;
    drawHeader(task);
    form.update(task);
    watchers.draw(task);
  }

  const form = taskForm(task, {
    members,
    editable,
    onSaved(saved) {
      task = saved;
      drawHeader(task);
      watchers.draw(task);
      activity.load();
    },
  });
  const watchers = watchersSection(taskId, reloadTask);
  const comments = commentsSection(taskId, {
    meId,
    canComment: editable,
    canModerate: roleAtLeast(role, "admin"),
  });
  const activity = activitySection(taskId);
  const canDelete = editable && (task.reporter?.id === meId || roleAtLeast(role, "admin"));
  const remove = canDelete
    ? confirmButton(
        t("Delete task"),
        { question: t("Delete this task for everyone?"), yes: t("Delete task"), className: "danger" },
        async () => {
          await api("DELETE", `/api/tasks/${taskId}`);
          notify(t("The task was deleted."));
          go(board);
        },
      )
    : null;

  drawHeader(task);
  watchers.draw(task);
  setPage(
    task.title,
    h("p", { className: "crumbs" }, h("a", { href: board, "data-link": true, id: "board-link" }, t("← Board: {project}", { project: project.name }))),
    h(
      "article",
      { className: "task", "aria-labelledby": "task-title" },
      h("header", { className: "task-header" }, heading, facts),
      editable
        ? null
        : h(
            "p",
            { className: "notice", id: "read-only-notice" },
            t("You can read this task but not change it: your role in {project} is {role}.", {
              project: project.name,
              role: roleLabel(role),
            }),
          ),
      h("section", { className: "card" }, form.element),
      watchers.element,
      comments.element,
      activity.element,
      remove ? h("div", { className: "danger-zone" }, remove) : null,
    ),
  );

  function deleted(event) {
    view.current = null;
    setPage(
      task.title,
      h("h1", {}, task.title),
      h(
        "p",
        { className: "notice", role: "alert" },
        event.actor
          ? t("{name} deleted this task.", { name: event.actor.name })
          : t("This task was deleted."),
      ),
      h("p", {}, h("a", { href: board, "data-link": true }, t("Back to the board of {project}", { project: project.name }))),
    );
  }

  const seen = new Set(); // event ids: a replayed frame, or one offered twice, is handled once
  /** Handles a frame about this task; false for any other. */
  function offer(frame) {
    const event = frame?.event;
    if (!event || !TASK_EVENTS.has(event.type) || event.data?.task?.id !== taskId) return false;
    if (seen.has(event.id)) return true;
    seen.add(event.id);
    if (event.type === "task.deleted") deleted(event);
    else {
      if (event.type === "task.commented") comments.load().catch(() => {});
      else reloadTask().catch(() => {});
      activity.load();
    }
    return true;
  }

  view.current = {
    onEvent: offer,
    onNotification(notification, frame) {
      if (!offer(frame)) notify(notification.message);
    },
    onResync() {
      reloadTask().catch(() => {});
      comments.load().catch(() => {});
      activity.load();
    },
  };
  await Promise.all([comments.load().catch((error) => notify(error.message)), activity.load()]);
}
