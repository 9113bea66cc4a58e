// "New task" at the foot of a board column: a title, and the task is created in that column
// (POST /api/tasks with the column's status; it joins the column's end). Hidden from viewers
// (the board's `read-only` class).

import { api } from "../api.js";
import { errorBox, field, h, onSubmit } from "../dom.js";
import { t } from "../i18n.js";
import { statusLabel } from "../labels.js";

/**
 * @param {object} options
 * @param {string} options.status  the column
 * @param {number} options.projectId
 * @param {(task: object) => void} options.onCreated  the task as the API answered it
 */
export function newTaskForm({ status, projectId, onCreated }) {
  const box = errorBox();
  const open = h("button", { type: "button", className: "new-task-open", "aria-expanded": "false" }, t("New task"));
  const title = h("input", {
    id: `new-task-${status}`,
    name: "title",
    required: true,
    maxlength: "300",
    autocomplete: "off",
  });
  const cancel = h("button", { type: "button" }, t("Cancel"));
  const form = h(
    "form",
    { className: "new-task-form", hidden: true, "aria-label": t("New task in {column}", { column: statusLabel(status) }) },
    field(t("Title of the new task"), title),
    box,
    h("div", { className: "actions" }, h("button", { type: "submit", className: "primary" }, t("Create task")), cancel),
  );
  const show = (shown) => {
    form.hidden = !shown;
    open.hidden = shown;
    open.setAttribute("aria-expanded", String(shown));
    box.hidden = true;
    if (shown) title.focus();
    else open.focus();
  };
  open.addEventListener("click", () => show(true));
  cancel.addEventListener("click", () => show(false));
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") show(false);
  });
  onSubmit(form, box, async (data) => {
    const task = await api("POST", "/api/tasks", { project: projectId, title: String(data.get("title")).trim(), status });
    onCreated(task);
    title.value = "";
    title.focus(); // ready for the next one
  });
  return h("div", { className: "new-task" }, open, form);
}
