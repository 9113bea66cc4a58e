// The labels of the API's codes (event types, channels, statuses, ...), in the active language:
// functions, so a change of language is seen at the next render.

import { t } from "./i18n.js";

const EVENTS = {
  "project.invited": () => t("I am invited to a project"),
  "project.member_joined": () => t("Someone joins my project"),
  "project.member_removed": () => t("I am removed from a project"),
  "project.member_role_changed": () => t("My role in a project changes"),
  "project.deleted": () => t("A project of mine is deleted"),
  "task.created": () => t("A task is created"),
  "task.assigned": () => t("A task is assigned to me"),
  "task.unassigned": () => t("A task is unassigned from me"),
  "task.status_changed": () => t("A task's status changes"),
  "task.updated": () => t("A task is edited"),
  "task.commented": () => t("Someone comments on a task"),
  "task.deleted": () => t("A task is deleted"),
  "task.deadline_approaching": () => t("A deadline is approaching"),
  "task.overdue": () => t("A task is overdue"),
};
const STATUSES = {
  todo: () => t("To do"),
  in_progress: () => t("In progress"),
  review: () => t("In review"),
  done: () => t("Done"),
};
const PRIORITIES = {
  low: () => t("Low"),
  medium: () => t("Medium"),
  high: () => t("High"),
  urgent: () => t("Urgent"),
};
// Translators: project roles, as in "Web client (as member)".
const ROLES = {
  owner: () => t("owner"),
  admin: () => t("admin"),
  member: () => t("member"),
  viewer: () => t("viewer"),
};
const INVITE_ERRORS = {
  invite_expired: () => t("This invitation has expired. Ask the person who invited you to send a new one."),
  invite_not_pending: () => t("This invitation has already been used or revoked."),
  invite_not_found: () => t("This invitation link is not valid. Check that you opened the whole link from the email."),
  already_member: () => t("You are already a member of this project."),
};
INVITE_ERRORS.not_found = INVITE_ERRORS.invite_not_found;

const ROLE_ORDER = ["viewer", "member", "admin", "owner"];

/** Whether a project role is `minimum` or above (owner > admin > member > viewer). */
export const roleAtLeast = (role, minimum) => ROLE_ORDER.indexOf(role) >= ROLE_ORDER.indexOf(minimum);

const label = (table, code) => (table[code] ? table[code]() : code);

export const eventLabel = (type) => label(EVENTS, type);
export const statusLabel = (status) => label(STATUSES, status);
export const priorityLabel = (priority) => label(PRIORITIES, priority);
export const roleLabel = (role) => label(ROLES, role);
/** The sentence for an invite error code, or "" for a code that is not an invite's. */
export const inviteError = (code) => (INVITE_ERRORS[code] ? INVITE_ERRORS[code]() : "");

/** The notification channels, [code, label] in the preferences table's order. */
export function channels() {
  return [
    ["web", t("Web")],
    ["email", t("Email")],
    ["telegram", t("Telegram")],
  ];
}
