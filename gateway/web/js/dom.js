// Element helpers: text is never parsed as HTML.

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

/** Runs a form's submit handler with the buttons disabled and errors shown in `box`. */
export function onSubmit(form, box, handler) {
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

/** A passing message in the toast area. */
export function notify(text) {
  const toast = document.getElementById("toast");
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (toast.hidden = true), 6000);
}
