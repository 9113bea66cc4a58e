// "/tasks/{id}": a task and its comments (linked from emails).

import { ApiError, api, items } from "../api.js";
import { errorBox, h, notify, onSubmit } from "../dom.js";
import { formatDate, t } from "../i18n.js";
import { priorityLabel, statusLabel } from "../labels.js";
import { setPage, view } from "../state.js";

export async function taskPage(id) {
  const thisRender = view.renders;
  setPage(t("Task"), h("p", { role: "status" }, t("Loading the task…")));
  const article = h("article", { className: "card task", "aria-labelledby": "task-title" });
  const list = h("ol", { className: "comments", id: "comments" });
  let title = t("Task");

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
                h("strong", {}, comment.author?.name || t("Someone")),
                " · ",
                h("time", { datetime: comment.created_at }, formatDate(comment.created_at)),
              ),
              h("p", { className: "body" }, comment.body),
            ),
          )
        : [h("li", { className: "empty" }, t("No comments yet."))]),
    );

  const row = (label, value) => [h("dt", {}, label), h("dd", {}, value)];
  const drawTask = (task) => {
    title = task.title;
    document.title = t("{title} · TaskFlow", { title });
    article.replaceChildren(
      h("h1", { id: "task-title" }, task.title, h("span", { className: "meta" }, ` #${task.id}`)),
      h(
        "dl",
        { className: "facts" },
        row(t("Status"), h("span", { className: `pill status-${task.status}` }, statusLabel(task.status))),
        row(t("Priority"), h("span", { className: `pill priority-${task.priority}` }, priorityLabel(task.priority))),
        row(t("Assignee"), task.assignee ? task.assignee.name : t("Unassigned")),
        row(t("Reporter"), task.reporter ? task.reporter.name : "—"),
        row(
          t("Deadline"),
          task.deadline ? h("time", { datetime: task.deadline }, formatDate(task.deadline)) : t("None"),
        ),
      ),
      h("h2", {}, t("Description")),
      task.description
        ? h("p", { className: "body" }, task.description)
        : h("p", { className: "empty" }, t("No description.")),
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
    if (thisRender !== view.renders) return;
    const message =
      error instanceof ApiError && error.status === 404
        ? t("This task does not exist, or you are not a member of its project.")
        : error.message;
    setPage(
      t("Task"),
      h("h1", {}, t("Task")),
      h("p", { className: "error", role: "alert" }, message),
      h("p", {}, h("a", { href: "/", "data-link": true }, t("Back to my notifications"))),
    );
    return;
  }
  if (thisRender !== view.renders) return;

  const box = errorBox();
  const form = h(
    "form",
    { className: "comment-form" },
    h(
      "p",
      { className: "field" },
      h("label", { for: "comment-body" }, t("Add a comment")),
      h("textarea", { id: "comment-body", name: "body", rows: "4", maxlength: "10000", required: true }),
    ),
    box,
    h("button", { type: "submit", className: "primary" }, t("Post comment")),
  );
  onSubmit(form, box, async (data) => {
    await api("POST", `/api/tasks/${id}/comments`, { body: String(data.get("body")) });
    form.reset();
    drawComments(items(await api("GET", `/api/tasks/${id}/comments?page_size=100`)));
  });

  setPage(
    title,
    h("p", { className: "crumbs" }, h("a", { href: "/", "data-link": true }, t("← Notifications"))),
    article,
    h("section", { "aria-labelledby": "comments-title" }, h("h2", { id: "comments-title" }, t("Comments")), list, form),
  );

  view.current = {
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
