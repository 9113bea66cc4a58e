// Element helpers: text is never parsed as HTML.

import { t } from "./i18n.js";

/** Builds an element: h("a", {href: "/"}, "text", child, ...). */
export function h(tag, attributes = {}, ...children) {
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

/** Replaces an element's children; null, undefined and false stand for nothing. */
export function fill(element, ...children) {
  element.replaceChildren(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
}

export function errorBox() {
  return h("div", { className: "error", role: "alert", hidden: true });
}

export function showError(box, error) {
  box.textContent = error instanceof Error ? error.message : String(error);
  box.hidden = false;
}

/**
 * A labelled form field: the control (which has an id and a name), an optional hint, and the
 * place its errors go (`data-error-for` the control's name, read by showFormError).
 */
export function field(label, control, { hint = "", className = "field" } = {}) {
  const errorId = `${control.id}-error`;
  const hintId = `${control.id}-hint`;
  control.setAttribute("aria-describedby", hint ? `${hintId} ${errorId}` : errorId);
  return h(
    "div",
    { className },
    h("label", { for: control.id }, label),
    control,
    hint ? h("p", { className: "hint", id: hintId }, hint) : null,
    h("p", { className: "field-error", id: errorId, "data-error-for": control.name, hidden: true }),
  );
}

function clearFieldErrors(form) {
  form.querySelectorAll("[data-error-for]").forEach((slot) => {
    slot.hidden = true;
    slot.textContent = "";
  });
  form.querySelectorAll("[aria-invalid]").forEach((control) => control.removeAttribute("aria-invalid"));
}

/**
 * Shows a failed submission: an API error's field messages (`{"field": ["..."]}`) next to the
 * form's fields that have a place for them, the rest (and a pointer to the fields) in `box`.
 */
export function showFormError(form, box, error) {
  clearFieldErrors(form);
  const body = error?.body;
  if (!body || typeof body !== "object" || Array.isArray(body) || typeof body.detail === "string") {
    showError(box, error);
    return;
  }
  const rest = [];
  let first = null;
  for (const [name, messages] of Object.entries(body)) {
    const text = Array.isArray(messages) ? messages.join(" ") : String(messages);
    const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
    if (!slot) {
      rest.push(name === "non_field_errors" ? text : `${name}: ${text}`);
      continue;
    }
    slot.textContent = text;
    slot.hidden = false;
    const control = form.elements.namedItem(name);
    if (control instanceof Element) {
      control.setAttribute("aria-invalid", "true");
      first ??= control;
    }
  }
  if (first) rest.unshift(t("Correct the fields marked below, then try again."));
  showError(box, rest.join(" "));
  first?.focus();
}

/** Runs a form's submit handler with the buttons disabled and errors shown in `box` (and at the fields). */
export function onSubmit(form, box, handler) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const buttons = form.querySelectorAll("button");
    buttons.forEach((button) => (button.disabled = true));
    box.hidden = true;
    clearFieldErrors(form);
    try {
      await handler(new FormData(form));
    } catch (error) {
      showFormError(form, box, error);
    } finally {
      buttons.forEach((button) => (button.disabled = false));
    }
  });
}

/**
 * A button whose action is asked about first, in place: "question [yes] [no]" replaces it until
 * answered. `action` may throw: its message is shown with the question, which stays.
 */
export function confirmButton(label, { question, yes, className = "" }, action) {
  const button = h("button", { type: "button", className }, label);
  const box = errorBox();
  const confirmYes = h("button", { type: "button", className: "danger" }, yes);
  const confirmNo = h("button", { type: "button" }, t("Cancel"));
  const asking = h("span", { className: "confirm", role: "group", "aria-label": question, hidden: true }, question, " ", confirmYes, " ", confirmNo, box);
  const wrapper = h("span", { className: "confirm-wrapper" }, button, asking);
  button.addEventListener("click", () => {
    button.hidden = true;
    asking.hidden = false;
    confirmNo.focus();
  });
  confirmNo.addEventListener("click", () => {
    asking.hidden = true;
    box.hidden = true;
    button.hidden = false;
    button.focus();
  });
  confirmYes.addEventListener("click", async () => {
    confirmYes.disabled = confirmNo.disabled = true;
    box.hidden = true;
    try {
      await action();
    } catch (error) {
      showError(box, error);
    } finally {
      confirmYes.disabled = confirmNo.disabled = false;
    }
  });
  return wrapper;
}

/** Opens an in-app page as a click on a `data-link` does (app.js: no reload, focus on the new heading). */
export function go(path) {
  const link = h("a", { href: path, "data-link": true, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
}

let toastTimer = null;

/** A passing message in the toast area. */
export function notify(text) {
  const toast = document.getElementById("toast");
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (toast.hidden = true), 6000);
}
