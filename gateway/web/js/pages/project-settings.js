// "/projects/{id}/settings": the project's name and description in each language (admin+),
// its members and their roles (admin+ for those below them; the owner may hand ownership on),
// invitations sent and pending (admin+), leaving (anyone but the owner) and deleting (owner).
// Kept current live: a member change or a rename elsewhere draws the page again.

import { api, items } from "../api.js";
import { confirmButton, errorBox, field, fill, go, h, notify, onSubmit, showError } from "../dom.js";
import { formatDate, languageName, supportedLanguages, t } from "../i18n.js";
import { roleAtLeast, roleLabel } from "../labels.js";
import { failedPage, session, setPage, view } from "../state.js";
import { projectGone } from "./board-live.js";

const ROLES = ["viewer", "member", "admin", "owner"];
const INVITE_ROLES = ["viewer", "member", "admin"];

/**
 * Name and description per language (PATCH /api/projects/{id}: only what changed).
 * @returns {{element: HTMLElement, dirty: () => boolean, update: (project: object) => void}}
 *   dirty: edited and not saved yet; update: shows a newer version of the project in the same
 *   fields (a form replaced under the user's hands would lose what they were typing)
 */
function detailsForm(project, editable, onSaved) {
  let edited = false;
  let current = project;
  const box = errorBox();
  const saved = h("p", { className: "success", role: "status" });
  const form = h(
    "form",
    { className: "stack", "aria-labelledby": "project-details-title" },
    supportedLanguages().map((code) =>
      h(
        "fieldset",
        { className: "translation", lang: code },
        h("legend", {}, languageName(code)),
        field(
          t("Name ({language})", { language: languageName(code) }),
          h("input", { id: `project-name-${code}`, name: `name_${code}`, value: project[`name_${code}`] ?? "", maxlength: "200", disabled: !editable }),
        ),
        field(
          t("Description ({language})", { language: languageName(code) }),
          h("textarea", { id: `project-description-${code}`, name: `description_${code}`, rows: "2", disabled: !editable }, project[`description_${code}`] ?? ""),
        ),
      ),
    ),
    box,
    editable ? h("div", { className: "actions" }, h("button", { type: "submit", className: "primary" }, t("Save project")), saved) : null,
  );
  form.addEventListener("input", () => (edited = true));
  onSubmit(form, box, async (data) => {
    const changes = {};
    for (const [name, value] of data.entries()) {
      if (String(value).trim() !== (current[name] ?? "")) changes[name] = String(value).trim();
    }
    saved.textContent = "";
    if (!Object.keys(changes).length) {
      saved.textContent = t("Nothing to save: no field was changed.");
      return;
    }
    await api("PATCH", `/api/projects/${project.id}`, changes);
    edited = false;
    onSaved();
  });
  const element = h("section", { className: "card", "aria-labelledby": "project-details-title" }, h("h2", { id: "project-details-title" }, t("Project")), form);
  const update = (next) => {
    if (edited) return;
    current = next;
    for (const input of form.querySelectorAll("input[name], textarea[name]")) input.value = next[input.name] ?? "";
  };
  return { element, dirty: () => edited, update };
}

/** One member's row: the role (a select where the viewer of the page may change it), remove or leave. */
function memberRow(project, member, myRole, reload) {
  const me = member.user.id === session.me?.id;
  const box = errorBox();
  // Admins manage the roles below their own; only the owner hands on ownership.
  const manageable = !me && roleAtLeast(myRole, "admin") && ROLES.indexOf(member.role) < ROLES.indexOf(myRole);
  const choices = ROLES.filter((role) => role !== "owner" ? ROLES.indexOf(role) < ROLES.indexOf(myRole) : myRole === "owner");
  const role = manageable
    ? h(
        "select",
        {
          id: `member-role-${member.user.id}`,
          "aria-label": t("Role of {name}", { name: member.user.name }),
          onchange: async (event) => {
            box.hidden = true;
            try {
              await api("PATCH", `/api/projects/${project.id}/members/${member.user.id}`, { role: event.target.value });
              notify(t("{name} is now {role}.", { name: member.user.name, role: roleLabel(event.target.value) }));
              await reload();
            } catch (error) {
              event.target.value = member.role;
              showError(box, error);
            }
          },
        },
        choices.map((code) => h("option", { value: code, selected: code === member.role }, roleLabel(code))),
      )
    : h("span", { className: "pill" }, roleLabel(member.role));
  let action = null;
  if (me && member.role !== "owner") {
    action = confirmButton(t("Leave project"), { question: t("Leave {project}?", { project: project.name }), yes: t("Leave project"), className: "danger" }, async () => {
      await api("DELETE", `/api/projects/${project.id}/members/${member.user.id}`);
      notify(t("You left {project}.", { project: project.name }));
      go("/");
    });
  } else if (manageable) {
    action = confirmButton(t("Remove"), { question: t("Remove {name} from the project?", { name: member.user.name }), yes: t("Remove"), className: "danger" }, async () => {
      await api("DELETE", `/api/projects/${project.id}/members/${member.user.id}`);
      await reload();
    });
  }
  return h(
    "li",
    { className: "member", "data-user-id": String(member.user.id) },
    h("span", { className: "member-name" }, member.user.name, me ? ` (${t("you")})` : "", h("span", { className: "meta" }, ` ${member.user.email}`)),
    role,
    action,
    box,
  );
}

/** Invite by email (POST /api/projects/{id}/invites) and the invitations still pending. */
function invitesSection(project, invites, reload) {
  const box = errorBox();
  const form = h(
    "form",
    { className: "invite-form", "aria-labelledby": "invites-title" },
    field(t("Email"), h("input", { id: "invite-email", name: "email", type: "email", required: true, autocomplete: "off" })),
    field(
      t("Role"),
      h("select", { id: "invite-role", name: "role" }, INVITE_ROLES.map((code) => h("option", { value: code, selected: code === "member" }, roleLabel(code)))),
    ),
    box,
    h("div", { className: "actions" }, h("button", { type: "submit", className: "primary" }, t("Send invitation"))),
  );
  onSubmit(form, box, async (data) => {
    const sent = await api("POST", `/api/projects/${project.id}/invites`, { email: String(data.get("email")).trim(), role: data.get("role") });
    notify(t("Invitation sent to {email}.", { email: sent.email }));
    await reload();
  });
  const pending = invites.filter((invite) => invite.status === "pending");
  return h(
    "section",
    { className: "card", "aria-labelledby": "invites-title" },
    h("h2", { id: "invites-title" }, t("Invitations")),
    form,
    h("h3", {}, t("Pending")),
    pending.length
      ? h(
          "ul",
          { className: "plain", id: "pending-invites" },
          pending.map((invite) =>
            h(
              "li",
              { "data-invite-id": String(invite.id) },
              `${invite.email} · ${roleLabel(invite.role)} · `,
              h("span", { className: "meta" }, t("expires {date}", { date: formatDate(invite.expires_at) })),
              " ",
              confirmButton(t("Revoke"), { question: t("Revoke the invitation to {email}?", { email: invite.email }), yes: t("Revoke") }, async () => {
                await api("DELETE", `/api/projects/${project.id}/invites/${invite.id}`);
                await reload();
              }),
            ),
          ),
        )
      : h("p", { className: "empty", id: "pending-invites" }, t("No invitations pending.")),
  );
}

export async function projectSettingsPage(projectId) {
  const thisRender = view.renders;
  setPage(t("Project settings"), h("p", { role: "status" }, t("Loading the project…")));
  let handlers = null;
  let details = null;
  const heading = h("h1", {});
  const boardLink = h("a", { href: `/projects/${projectId}`, "data-link": true });
  const slot = () => h("div", { className: "slot" });
  const slots = { details: slot(), members: slot(), invites: slot(), danger: slot() };
  const main = h("div", { className: "settings-grid" }, slots.details, slots.members, slots.invites, slots.danger);

  async function draw() {
    let project, members, invites;
    try {
      project = await api("GET", `/api/projects/${projectId}`);
      const admin = roleAtLeast(project.my_role, "admin");
      [members, invites] = await Promise.all([
        api("GET", `/api/projects/${projectId}/members?page_size=100`).then(items),
        admin ? api("GET", `/api/projects/${projectId}/invites?page_size=100`).then(items) : [],
      ]);
    } catch (error) {
      if (thisRender !== view.renders) return;
      failedPage(t("Project settings"), error, t("This project does not exist, or you are not a member of it."));
      return;
    }
    if (thisRender !== view.renders) return;
    const myRole = project.my_role;
    const title = t("Settings of {project}", { project: project.name });
    document.title = t("{title} · TaskFlow", { title });
    heading.textContent = title;
    boardLink.textContent = t("← Board: {project}", { project: project.name });
    // Kept current on every change made elsewhere, in place (the same fields, so nothing typed
    // is lost), and never while being edited here; drawn anew when the role changes what it allows.
    if (details && details.role === myRole) {
      details.update(project);
    } else {
      details = detailsForm(project, roleAtLeast(myRole, "admin"), () => {
        notify(t("Project saved."));
        draw();
      });
      details.role = myRole;
      fill(slots.details, details.element);
    }
    fill(
      slots.members,
      h(
        "section",
        { className: "card", "aria-labelledby": "members-title" },
        h("h2", { id: "members-title" }, t("Members")),
        h("ul", { className: "plain members", id: "members" }, members.map((member) => memberRow(project, member, myRole, draw))),
      ),
    );
    fill(slots.invites, roleAtLeast(myRole, "admin") ? invitesSection(project, invites, draw) : null);
    fill(
      slots.danger,
      myRole === "owner"
        ? h(
            "section",
            { className: "card danger-zone", "aria-labelledby": "delete-title" },
            h("h2", { id: "delete-title" }, t("Delete the project")),
            h("p", {}, t("Its tasks, comments and history are deleted for everyone. This cannot be undone.")),
            confirmButton(t("Delete project"), { question: t("Delete {project} for everyone?", { project: project.name }), yes: t("Delete project"), className: "danger" }, async () => {
              await api("DELETE", `/api/projects/${projectId}`);
              notify(t("The project was deleted."));
              go("/");
            }),
          )
        : null,
    );
    if (!main.parentElement) {
      setPage(title, h("p", { className: "crumbs" }, boardLink), heading, main);
    }
    handlers.board.project = project;
  }

  handlers = {
    board: { project: { id: projectId, name: "" } },
    onEvent(frame) {
      const event = frame?.event;
      if (!event?.type?.startsWith("project.") || event.data?.project?.id !== projectId) return false;
      if (event.type === "project.deleted") projectGone(handlers.board, t("This project was deleted."));
      else if (event.type === "project.member_removed" && event.data.member?.id === session.me?.id) projectGone(handlers.board, t("You are no longer a member of this project."));
      else draw().catch(() => {});
      return true;
    },
    onResync: () => draw().catch(() => {}),
  };
  view.current = handlers;
  await draw();
}
