// "/invite/accept" (linked from invitation emails; the token is kept in sessionStorage).

import { api } from "../api.js";
import { errorBox, h, showError } from "../dom.js";
import { place, t } from "../i18n.js";
import { inviteError, roleLabel } from "../labels.js";
import { INVITE_TOKEN_KEY, session, setPage } from "../state.js";

export function invitePage(token) {
  if (!token) {
    setPage(
      t("Invitation"),
      h("h1", {}, t("Invitation")),
      h("p", { className: "error", role: "alert" }, inviteError("invite_not_found")),
    );
    return;
  }
  const box = errorBox();
  const accept = h("button", { type: "button", className: "primary" }, t("Accept invitation"));
  const who = h("strong", {}, session.me?.email || t("you"));
  const card = h(
    "section",
    { className: "card", "aria-labelledby": "invite-title" },
    h("h1", { id: "invite-title" }, t("Join a project")),
    h("p", {}, t("You have been invited to a project on TaskFlow.")),
    h("p", {}, place(t("Signed in as {email}."), { email: who })),
    box,
    h("div", { className: "actions" }, accept),
  );
  accept.addEventListener("click", async () => {
    accept.disabled = true;
    box.hidden = true;
    try {
      const joined = await api("POST", "/api/invites/accept", { token });
      sessionStorage.removeItem(INVITE_TOKEN_KEY); // spent
      const project = h("strong", { className: "project-name" }, joined.project.name);
      card.replaceChildren(
        h("h1", { id: "invite-title" }, t("Welcome aboard")),
        h(
          "p",
          { className: "success", role: "status" },
          place(t("You joined {project} as {role}.", { role: roleLabel(joined.role) }), { project }),
        ),
        h("p", {}, h("a", { href: "/", "data-link": true, className: "button primary" }, t("Go to my notifications"))),
      );
    } catch (error) {
      accept.disabled = false;
      const known = inviteError(error.code);
      if (known) sessionStorage.removeItem(INVITE_TOKEN_KEY); // final answers
      showError(box, new Error(known || error.message));
    }
  });
  setPage(t("Invitation"), card);
}
