// A board card (title, priority, assignee, deadline) and its "Move" menu: the keyboard's and
// the phone's way to do what dragging does (another column, up, down, top of the column).

import { h } from "./dom.js";
import { formatDate, t } from "./i18n.js";
import { priorityLabel, statusLabel } from "./labels.js";

export const STATUSES = ["todo", "in_progress", "review", "done"];

/**
 * @param {object} card  {id, title, status, priority, rank, assignee_id, deadline}
 * @param {object} options
 * @param {(id: number|null) => string} options.memberName  the assignee's name
 * @param {boolean} options.movable  member+: the grip and the Move menu
 * @param {(card: object, where: string) => void} options.onMove  where: a status, "up", "down" or "top"
 * @param {HTMLElement} [options.reuse]  the card's element, drawn again in place
 */
export function cardElement(card, { memberName, movable, onMove, reuse }) {
  const element = reuse ?? h("li", { className: "card", "data-task-id": String(card.id) });
  const overdue = card.deadline && card.status !== "done" && new Date(card.deadline) < new Date();
  const titleId = `card-${card.id}-title`;
  element.setAttribute("aria-labelledby", titleId);
  element.replaceChildren(
    movable ? h("span", { className: "card-grip", "aria-hidden": "true", title: t("Drag to move") }, "⠿") : null,
    h("a", { className: "card-title", id: titleId, href: `/tasks/${card.id}`, "data-link": true, draggable: "false" }, card.title),
    h(
      "p",
      { className: "card-meta" },
      h("span", { className: `pill priority-${card.priority}` }, priorityLabel(card.priority)),
      " ",
      h("span", { className: "card-assignee" }, card.assignee_id ? memberName(card.assignee_id) : t("Unassigned")),
      card.deadline
        ? h(
            "time",
            { datetime: card.deadline, className: overdue ? "card-deadline overdue" : "card-deadline" },
            formatDate(card.deadline),
          )
        : null,
    ),
    movable ? moveMenu(card, onMove) : null,
  );
  return element;
}

let openMenu = null; // one menu open at a time

function closeOpenMenu({ focusButton = false } = {}) {
  if (!openMenu) return;
  const { button, menu } = openMenu;
  openMenu = null;
  menu.hidden = true;
  button.setAttribute("aria-expanded", "false");
  if (focusButton) button.focus();
}

document.addEventListener("pointerdown", (event) => {
  if (openMenu && !openMenu.wrapper.contains(event.target)) closeOpenMenu();
});

function moveMenu(card, onMove) {
  const menuId = `card-${card.id}-menu`;
  const button = h(
    "button",
    {
      type: "button",
      className: "small card-move",
      "aria-haspopup": "menu",
      "aria-expanded": "false",
      "aria-controls": menuId,
      "aria-label": t("Move"),
      title: t("Move"),
    },
    "⋯",
  );
  const choice = (label, where) =>
    h("button", { type: "button", role: "menuitem", tabindex: "-1", "data-where": where }, label);
  const menu = h(
    "div",
    { className: "menu", role: "menu", id: menuId, "aria-label": t("Move “{title}”", { title: card.title }), hidden: true },
    STATUSES.filter((status) => status !== card.status).map((status) =>
      choice(t("Move to {column}", { column: statusLabel(status) }), status),
    ),
    choice(t("Move up"), "up"),
    choice(t("Move down"), "down"),
    choice(t("Move to the top"), "top"),
  );
  const wrapper = h("div", { className: "card-actions" }, button, menu);
  const entries = () => [...menu.querySelectorAll("[role=menuitem]")];

  button.addEventListener("click", () => {
    if (openMenu?.menu === menu) {
      closeOpenMenu();
      return;
    }
    closeOpenMenu();
    openMenu = { button, menu, wrapper };
    menu.hidden = false;
    button.setAttribute("aria-expanded", "true");
    entries()[0].focus();
  });
  menu.addEventListener("click", (event) => {
    const entry = event.target.closest("[role=menuitem]");
    if (!entry) return;
    closeOpenMenu();
    onMove(card, entry.dataset.where);
  });
  menu.addEventListener("keydown", (event) => {
    const all = entries();
    const at = all.indexOf(document.activeElement);
    const to = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: all.length - 1 }[event.key];
    if (to !== undefined) {
      event.preventDefault();
      all[(to + all.length) % all.length].focus();
    } else if (event.key === "Escape") {
      event.preventDefault();
      closeOpenMenu({ focusButton: true });
    } else if (event.key === "Tab") {
      closeOpenMenu();
    }
  });
  return wrapper;
}
