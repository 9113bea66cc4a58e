// Dragging board cards with a pointer (mouse, pen, or touch on the card's grip): the card
// follows the pointer once it has moved a few pixels, a placeholder shows where it will land,
// and on release `onDrop` gets the column and the neighbours it landed between. Escape, or a
// pointer the browser takes back (a scroll), puts it back where it was.
//
// Hand-written on Pointer Events rather than HTML5 drag and drop: that API does nothing for
// touch, cannot show a placeholder between cards without per-browser workarounds, and is not
// driven by synthetic pointer input in tests. A keyboard or a phone user has each card's
// "Move" menu instead (board-card.js).

const THRESHOLD_PX = 6;

/**
 * @param {HTMLElement} board  holds the columns: `.column[data-status]` elements each with one `.cards` list
 * @param {object} options
 * @param {() => boolean} options.canDrag  false for a viewer: nothing moves
 * @param {(drop: {taskId: number, status: string, afterId: number|null, beforeId: number|null}) => void} options.onDrop
 * @returns {() => void}  stops listening (the page is left)
 */
export function enableCardDragging(board, { canDrag, onDrop }) {
  const listening = new AbortController();
  const { signal } = listening;
  let pending = null; // {card, pointerId, x, y} between pointerdown and the threshold
  let drag = null; // {card, pointerId, placeholder, home: {list, next}, dx, dy}

  function cardsListAt(x, y) {
    const under = document.elementFromPoint(x, y);
    const column = under?.closest(".column[data-status]");
    return column && board.contains(column) ? column.querySelector(".cards") : null;
  }

  function placeAt(x, y) {
    const list = cardsListAt(x, y);
    if (!list) return;
    const next = [...list.children].find((element) => {
      if (element === drag.placeholder || element === drag.card) return false;
      const box = element.getBoundingClientRect();
      return y < box.top + box.height / 2;
    });
    if (next) list.insertBefore(drag.placeholder, next);
    else list.append(drag.placeholder);
  }

  function start(x, y) {
    const { card, pointerId } = pending;
    pending = null;
    const box = card.getBoundingClientRect();
    const placeholder = document.createElement("li");
    placeholder.className = "card-placeholder";
    placeholder.style.height = `${box.height}px`;
    drag = { card, pointerId, placeholder, home: { list: card.parentElement, next: card.nextSibling }, dx: x - box.left, dy: y - box.top };
    card.parentElement.insertBefore(placeholder, card);
    card.classList.add("dragging");
    card.style.width = `${box.width}px`;
    follow(x, y);
    document.body.append(card); // above everything while it moves
    board.classList.add("is-dragging");
  }

  function follow(x, y) {
    drag.card.style.left = `${x - drag.dx}px`;
    drag.card.style.top = `${y - drag.dy}px`;
  }

  function finish(dropped) {
    const { card, placeholder, home } = drag;
    drag = null;
    card.classList.remove("dragging");
    card.style.left = card.style.top = card.style.width = "";
    board.classList.remove("is-dragging");
    if (!dropped) {
      placeholder.remove();
      home.list.insertBefore(card, home.next && home.next.parentElement === home.list ? home.next : null);
      return;
    }
    placeholder.replaceWith(card);
    const column = card.closest(".column[data-status]");
    const id = (element) => (element?.dataset?.taskId ? Number(element.dataset.taskId) : null);
    onDrop({
      taskId: Number(card.dataset.taskId),
      status: column.dataset.status,
      afterId: id(card.previousElementSibling),
      beforeId: id(card.nextElementSibling),
    });
    // The release ends a drag, not a click on the card's link.
    window.addEventListener("click", (event) => event.preventDefault(), { capture: true, once: true });
    setTimeout(() => card.querySelector(".card-move, a")?.focus({ preventScroll: true }), 0);
  }

  board.addEventListener("pointerdown", (event) => {
    if (drag || !event.isPrimary || event.button !== 0 || !canDrag()) return;
    const card = event.target.closest(".card[data-task-id]");
    if (!card || event.target.closest("button, input, select, textarea")) return;
    // Touch scrolls the board unless it starts on the grip (which has touch-action: none).
    if (event.pointerType === "touch" && !event.target.closest(".card-grip")) return;
    pending = { card, pointerId: event.pointerId, x: event.clientX, y: event.clientY };
  });

  window.addEventListener("pointermove", (event) => {
    if (pending && event.pointerId === pending.pointerId) {
      if (Math.hypot(event.clientX - pending.x, event.clientY - pending.y) < THRESHOLD_PX) return;
      start(event.clientX, event.clientY);
    }
    if (!drag || event.pointerId !== drag.pointerId) return;
    event.preventDefault();
    follow(event.clientX, event.clientY);
    placeAt(event.clientX, event.clientY);
  }, { signal });

  window.addEventListener("pointerup", (event) => {
    if (pending?.pointerId === event.pointerId) pending = null;
    if (drag && event.pointerId === drag.pointerId) finish(true);
  }, { signal });
  window.addEventListener("pointercancel", (event) => {
    if (pending?.pointerId === event.pointerId) pending = null;
    if (drag && event.pointerId === drag.pointerId) finish(false);
  }, { signal });
  window.addEventListener("keydown", (event) => {
    if (drag && event.key === "Escape") finish(false);
  }, { signal });
  // No native drag of the card's link or text while a card is dragged.
  board.addEventListener("dragstart", (event) => event.preventDefault());

  return () => {
    if (drag) finish(false);
    listening.abort();
  };
}
