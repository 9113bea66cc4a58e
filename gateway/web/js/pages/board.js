// "/projects/{id}": the project's kanban board, a column per status, cards in their rank order
// (GET /api/projects/{id}/board, one request). Cards move by dragging (board-drag.js) or by
// their Move menu (board-card.js) through POST /api/tasks/{id}/move, shown at once and put back
// if the API refuses. Teammates' changes arrive as board frames on the live connection
// (docs/events.md, "Boards"); a resync loads the board again.

import { ApiError, api } from "../api.js";
import { STATUSES, cardElement } from "../board-card.js";
import { enableCardDragging } from "../board-drag.js";
import { errorBox, h, showError } from "../dom.js";
import { currentLanguage, nt, t } from "../i18n.js";
import { roleAtLeast, roleLabel, statusLabel } from "../labels.js";
import { failedPage, session, setPage, view } from "../state.js";
import { projectEvent, projectGone } from "./board-live.js";
import { newTaskForm } from "./board-new-task.js";

/** Card order within a column: the rank as a plain string, then the id (as the API orders). */
const byRank = (a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : a.id - b.id);

export async function boardPage(projectId) {
  const thisRender = view.renders;
  setPage(t("Board"), h("p", { role: "status" }, t("Loading the board…")));
  let data;
  try {
    data = await api("GET", `/api/projects/${projectId}/board`);
  } catch (error) {
    if (thisRender === view.renders) failedPage(t("Board"), error, t("This project does not exist, or you are not a member of it."));
    return;
  }
  if (thisRender !== view.renders) return;

  const board = {
    project: data.project,
    members: new Map(),
    cards: new Map(), // id -> card
    hidden: {}, // status -> cards beyond what the API listed (a column holds its first 500)
  };
  const elements = new Map(); // id -> the card's <li>
  const lists = {};
  const counts = {};
  const heading = h("h1", { id: "board-title" });
  const roleNote = h("span", { className: "meta", id: "board-role" });
  const alertBox = errorBox();
  const announcer = h("p", { className: "visually-hidden", role: "status", "aria-live": "polite" });
  const canMove = () => roleAtLeast(board.project.my_role, "member");

  function load(snapshot) {
    board.project = snapshot.project;
    board.members = new Map(snapshot.members.map((member) => [member.user.id, member]));
    board.cards = new Map();
    for (const column of snapshot.columns) {
      board.hidden[column.status] = column.count - column.tasks.length;
      for (const card of column.tasks) board.cards.set(card.id, card);
    }
  }

  const memberName = (id) => board.members.get(id)?.user.name ?? t("A former member");

  function drawColumn(status) {
    const cards = [...board.cards.values()].filter((card) => card.status === status).sort(byRank);
    lists[status].replaceChildren(
      ...cards.map((card) => {
        const element = cardElement(card, { memberName, movable: canMove(), onMove: menuMove, reuse: elements.get(card.id) });
        elements.set(card.id, element);
        return element;
      }),
    );
    const total = cards.length + (board.hidden[status] ?? 0);
    counts[status].textContent = nt("{count} task", "{count} tasks", total);
  }

  function drawAll() {
    document.title = t("{title} · TaskFlow", { title: board.project.name });
    heading.textContent = board.project.name;
    roleNote.textContent = t("Your role: {role}", { role: roleLabel(board.project.my_role) });
    columnsElement.classList.toggle("read-only", !canMove());
    for (const id of elements.keys()) if (!board.cards.has(id)) elements.delete(id);
    STATUSES.forEach(drawColumn);
  }

  /** Shows a card where the user put it at once, then asks the API; puts it back if refused. */
  async function move(card, status, afterId, beforeId) {
    const previous = { status: card.status, rank: card.rank };
    const element = elements.get(card.id);
    const target = lists[status];
    const beforeElement = elements.get(beforeId);
    const afterElement = elements.get(afterId);
    // A dragged card is in place already; one moved by its menu goes there now.
    if (beforeElement?.parentElement === target) target.insertBefore(element, beforeElement);
    else if (afterElement?.parentElement === target) afterElement.after(element);
    else target.append(element);
    card.status = status;
    for (const column of new Set([previous.status, status])) {
      counts[column].textContent = nt("{count} task", "{count} tasks", lists[column].children.length + (board.hidden[column] ?? 0));
    }
    alertBox.hidden = true;
    try {
      const moved = await api("POST", `/api/tasks/${card.id}/move`, { status, after: afterId, before: beforeId });
      Object.assign(card, { status: moved.status, rank: moved.rank });
      announcer.textContent = t("Moved “{title}” to {column}.", { title: card.title, column: statusLabel(card.status) });
    } catch (error) {
      Object.assign(card, previous);
      showError(alertBox, t("“{title}” was not moved: {reason}", { title: card.title, reason: error.message }));
    }
    if (view.current !== handlers) return;
    drawColumn(previous.status);
    if (status !== previous.status) drawColumn(status);
    elements.get(card.id)?.querySelector(".card-move, a")?.focus({ preventScroll: true });
  }

  function menuMove(card, where) {
    const column = [...board.cards.values()].filter((other) => other.status === card.status).sort(byRank);
    const at = column.findIndex((other) => other.id === card.id);
    if (STATUSES.includes(where)) return move(card, where, null, null); // the end of that column
    if (where === "top") return at > 0 ? move(card, card.status, null, column[0].id) : undefined;
    if (where === "up" && at > 0) return move(card, card.status, column[at - 2]?.id ?? null, column[at - 1].id);
    if (where === "down" && at < column.length - 1)
      return move(card, card.status, column[at + 1].id, column[at + 2]?.id ?? null);
    return undefined;
  }

  const columnsElement = h(
    "div",
    { className: "board", role: "region", "aria-labelledby": "board-title" },
    STATUSES.map((status) => {
      const titleId = `column-${status}-title`;
      lists[status] = h("ol", { className: "cards", "aria-labelledby": titleId });
      counts[status] = h("span", { className: "count" });
      return h(
        "section",
        { className: "column", "data-status": status, "aria-labelledby": titleId },
        h("h2", { id: titleId }, statusLabel(status), " ", counts[status]),
        lists[status],
        newTaskForm({
          status,
          projectId,
          onCreated(task) {
            board.cards.set(task.id, { ...task, assignee_id: task.assignee?.id ?? null });
            drawColumn(task.status);
          },
        }),
      );
    }),
  );

  load(data);
  const stopDragging = enableCardDragging(columnsElement, {
    canDrag: canMove,
    onDrop({ taskId, status, afterId, beforeId }) {
      const card = board.cards.get(taskId);
      if (card) move(card, status, afterId, beforeId);
    },
  });
  setPage(
    board.project.name,
    h(
      "div",
      { className: "heading-row" },
      heading,
      roleNote,
      h("a", { href: `/projects/${projectId}/settings`, "data-link": true, className: "button", id: "project-settings-link" }, t("Project settings")),
    ),
    alertBox,
    announcer,
    columnsElement,
  );
  drawAll();

  async function reload() {
    try {
      const fresh = await api("GET", `/api/projects/${projectId}/board`);
      if (view.current !== handlers) return;
      load(fresh);
      drawAll();
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) projectGone(board, t("You are no longer a member of this project."));
      else showError(alertBox, error);
    }
  }

  const live = {
    board,
    me: session.me?.id,
    language: currentLanguage(),
    seen: new Set(), // event ids
    redrawColumns: (...statuses) => new Set(statuses).forEach((status) => status && drawColumn(status)),
    redrawAll: drawAll,
    reload,
  };
  const handlers = {
    onEvent: (frame) => projectEvent(frame, live),
    onResync: reload,
    onLeave: stopDragging,
  };
  live.handlers = handlers;
  view.current = handlers;
}
