// The board's live side: a board frame (docs/events.md, "Boards") applied to the open board.
// Frames are per user, in order, replayed from the cursor after a reconnect; a frame seen
// twice (a replay overlapping what was shown) changes nothing the second time.

import { api } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { setPage, view } from "../state.js";

// What changes a card; task.commented and the reminders change nothing a card shows.
const CARD_EVENTS = new Set([
  "task.created",
  "task.assigned",
  "task.unassigned",
  "task.status_changed",
  "task.updated",
  "task.moved",
]);

/** The board's project is gone for this user (deleted, or they were removed): said in place. */
export function projectGone(board, message) {
  view.current?.onLeave?.();
  view.current = null;
  setPage(
    board.project.name,
    h("h1", {}, board.project.name),
    h("p", { className: "notice", role: "alert", id: "board-gone" }, message),
    h("p", {}, h("a", { href: "/", "data-link": true }, t("Back to my work"))),
  );
}

/** A card as the board keeps it, from an event's `task` (titles there are in the default language). */
function cardOf(task, previous, keepTitle) {
  return {
    id: task.id,
    title: keepTitle && previous ? previous.title : task.title,
    status: task.status,
    priority: task.priority,
    rank: task.rank,
    assignee_id: task.assignee_id,
    deadline: task.deadline,
  };
}

function taskEvent(event, ctx) {
  const { board } = ctx;
  const task = event.data.task;
  const previous = board.cards.get(task.id);
  if (event.type === "task.deleted") {
    board.cards.delete(task.id);
    ctx.redrawColumns(previous?.status);
    return;
  }
  if (!CARD_EVENTS.has(event.type)) return;
  const titleChanged = event.type === "task.created" || (event.type === "task.updated" && event.data.changes.includes("title"));
  // Event titles are in the default language: a reader of another language keeps the title
  // they had, and asks for theirs when it changed.
  const translated = ctx.language !== "en";
  const card = cardOf(task, previous, translated && !titleChanged);
  board.cards.set(task.id, card);
  ctx.redrawColumns(previous?.status, card.status);
  if (translated && titleChanged) {
    api("GET", `/api/tasks/${task.id}`)
      .then((fresh) => {
        const current = board.cards.get(task.id);
        if (!current || view.current !== ctx.handlers) return;
        current.title = fresh.title;
        ctx.redrawColumns(current.status);
      })
      .catch(() => {}); // deleted meanwhile: its own event removes the card
  }
}

function projectEventOf(event, ctx) {
  const { board } = ctx;
  const data = event.data;
  const actor = event.actor?.name;
  if (event.type === "project.deleted") {
    projectGone(board, actor ? t("{name} deleted this project.", { name: actor }) : t("This project was deleted."));
  } else if (event.type === "project.member_removed" && data.member.id === ctx.me) {
    projectGone(board, t("You are no longer a member of this project."));
  } else if (event.type === "project.member_role_changed" && data.member.id === ctx.me) {
    board.project.my_role = data.role;
    ctx.redrawAll();
  } else if (event.type === "project.updated" || event.type.startsWith("project.member_")) {
    // A new name (in the reader's language), or members whose names the cards show.
    ctx.reload();
  }
}

/**
 * Applies a frame to the board if it is one of its project's. @returns {boolean} whether it was.
 * @param {object} ctx  {board, me, language, seen: Set, handlers, redrawColumns, redrawAll, reload}
 */
export function projectEvent(frame, ctx) {
  const event = frame?.event;
  if (!event?.type || !event.data) return false;
  const projectId = ctx.board.project.id;
  const isTask = event.type.startsWith("task.") && event.data.task?.project_id === projectId;
  const isProject = event.type.startsWith("project.") && event.type !== "project.invited" && event.data.project?.id === projectId;
  if (!isTask && !isProject) return false;
  if (ctx.seen.has(event.id)) return true;
  ctx.seen.add(event.id);
  if (isTask) taskEvent(event, ctx);
  else projectEventOf(event, ctx);
  return true;
}
