// The task page's edit form: title and description in each language, assignee, priority,
// deadline (in the account's time zone), status. Save sends only the fields changed (PATCH
// /api/tasks/{id}); a change made elsewhere meanwhile updates the fields not being edited.

import { api } from "../api.js";
import { errorBox, field, h, onSubmit } from "../dom.js";
import {
  currentLanguage,
  currentTimeZone,
  fromZonedInput,
  languageName,
  supportedLanguages,
  t,
  toZonedInput,
} from "../i18n.js";
import { priorityLabel, statusLabel } from "../labels.js";

const STATUSES = ["todo", "in_progress", "review", "done"];
const PRIORITIES = ["low", "medium", "high", "urgent"];

/** The current language first: it is the one the user reads the task in. */
function languages() {
  const all = supportedLanguages();
  return [currentLanguage(), ...all.filter((code) => code !== currentLanguage())];
}

/** What the form shows of a task, as the controls hold it (strings). */
function valuesOf(task) {
  const values = {};
  for (const code of supportedLanguages()) {
    values[`title_${code}`] = task[`title_${code}`] ?? "";
    values[`description_${code}`] = (task[`description_${code}`] ?? "").replace(/\r\n?/g, "\n");
  }
  values.assignee = task.assignee ? String(task.assignee.id) : "";
  values.priority = task.priority;
  values.status = task.status;
  values.deadline = toZonedInput(task.deadline);
  return values;
}

/** The API's value of a control's string. */
function apiValue(name, value) {
  if (name === "assignee") return value ? Number(value) : null;
  if (name === "deadline") return value ? fromZonedInput(value) : null;
  return value;
}

/**
 * @param {object} task  GET /api/tasks/{id}
 * @param {object} options
 * @param {Array} options.members  GET /api/projects/{id}/members (viewers cannot be assignees)
 * @param {boolean} options.editable  member+: otherwise every control is disabled, no Save
 * @param {(task: object) => void} options.onSaved  the task as the PATCH answered it
 * @returns {{element: HTMLElement, update: (task: object) => void}}
 */
export function taskForm(task, { members, editable, onSaved }) {
  let baseline = valuesOf(task);
  const box = errorBox();
  const saved = h("p", { className: "success", role: "status" });
  const disabled = !editable;

  const translations = languages().map((code) => {
    const language = languageName(code);
    return h(
      "fieldset",
      { className: "translation", lang: code },
      h("legend", {}, language),
      field(
        t("Title ({language})", { language }),
        h("input", { id: `task-title-${code}`, name: `title_${code}`, maxlength: "300", lang: code, disabled }),
      ),
      field(
        t("Description ({language})", { language }),
        h("textarea", { id: `task-description-${code}`, name: `description_${code}`, rows: "4", maxlength: "20000", lang: code, disabled }),
      ),
    );
  });

  const assignee = h("select", { id: "task-assignee", name: "assignee", disabled });
  const drawAssignees = (current) => {
    const eligible = members
      .filter((member) => member.role !== "viewer")
      .map((member) => member.user)
      .sort((a, b) => a.name.localeCompare(b.name, currentLanguage()));
    // A former member (or one made a viewer) still assigned is shown as they are.
    if (current && !eligible.some((user) => user.id === current.id)) eligible.push(current);
    assignee.replaceChildren(
      h("option", { value: "" }, t("Unassigned")),
      ...eligible.map((user) => h("option", { value: String(user.id) }, user.name)),
    );
  };
  drawAssignees(task.assignee);

  const select = (id, name, codes, label) =>
    h("select", { id, name, disabled }, codes.map((code) => h("option", { value: code }, label(code))));
  const deadline = h("input", { id: "task-deadline", name: "deadline", type: "datetime-local", disabled });
  const clearDeadline = h(
    "button",
    { type: "button", className: "small", disabled, onclick: () => (deadline.value = "") },
    t("No deadline"),
  );

  const form = h(
    "form",
    { className: "task-form", id: "task-form", "aria-labelledby": "task-title", novalidate: true },
    translations,
    h(
      "div",
      { className: "field-grid" },
      field(t("Assignee"), assignee),
      field(t("Priority"), select("task-priority", "priority", PRIORITIES, priorityLabel)),
      field(t("Status"), select("task-status", "status", STATUSES, statusLabel)),
      h(
        "div",
        { className: "field" },
        field(t("Deadline"), deadline, {
          className: "",
          hint: t("In your time zone, {zone}.", { zone: currentTimeZone().replaceAll("_", " ") }),
        }),
        h("div", { className: "inline-actions" }, clearDeadline),
      ),
    ),
    box,
    editable ? h("div", { className: "actions" }, h("button", { type: "submit", className: "primary" }, t("Save")), saved) : null,
  );

  const control = (name) => form.elements.namedItem(name);
  Object.entries(baseline).forEach(([name, value]) => (control(name).value = value));
  form.addEventListener("input", () => (saved.textContent = ""));

  onSubmit(form, box, async () => {
    saved.textContent = "";
    const changes = {};
    for (const [name, before] of Object.entries(baseline)) {
      const now = control(name).value;
      if (now !== before) changes[name] = apiValue(name, now);
    }
    if (!Object.keys(changes).length) {
      saved.textContent = t("Nothing to save: no field was changed.");
      return;
    }
    const titles = supportedLanguages().map((code) => `title_${code}`);
    if (titles.every((name) => !control(name).value.trim())) {
      const needed = t("A task needs a title in at least one language.");
      throw Object.assign(new Error(needed), { body: { [`title_${currentLanguage()}`]: [needed] } });
    }
    const updated = await api("PATCH", `/api/tasks/${task.id}`, changes);
    update(updated, { saved: true });
    saved.textContent = t("Saved.");
    onSaved(updated);
  });

  /** A newer state of the task: the fields the user has not touched show it (after a save, all do). */
  function update(newer, { saved: all = false } = {}) {
    const values = valuesOf(newer);
    const shown = Object.fromEntries(Object.keys(values).map((name) => [name, control(name).value]));
    drawAssignees(newer.assignee);
    for (const name of Object.keys(values)) {
      const touched = !all && shown[name] !== baseline[name];
      control(name).value = touched ? shown[name] : values[name];
    }
    baseline = values;
  }

  return { element: form, update };
}
