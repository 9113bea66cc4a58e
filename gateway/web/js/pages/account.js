// Pages linked from account emails, open signed in or not:
//   /verify-email?token=...     verifies the address (POST /api/auth/verify-email)
//   /forgot-password            asks for a password reset mail
//   /reset-password?token=...   sets a new password with the mailed token
// The tokens leave the address bar at once (app.js keeps them in sessionStorage until used).

import { anonymous } from "../api.js";
import { errorBox, h, onSubmit, showError } from "../dom.js";
import { t } from "../i18n.js";
import { RESET_TOKEN_KEY, VERIFY_TOKEN_KEY, session, setPage } from "../state.js";

// Answers about a token that are final: the token is forgotten and the message shown.
const TOKEN_ERRORS = {
  token_invalid: () => t("This link is not valid. Ask for a new one."),
  token_used: () => t("This link was already used."),
  token_expired: () => t("This link has expired. Ask for a new one."),
};

function card(titleId, title, ...children) {
  return h("section", { className: "card", "aria-labelledby": titleId }, h("h1", { id: titleId }, title), ...children);
}

const homeLink = (label) => h("p", {}, h("a", { href: "/", "data-link": true, className: "button primary" }, label));

export async function verifyEmailPage(token) {
  const status = h("p", { role: "status" }, t("Verifying your email address…"));
  setPage(t("Verify email"), card("verify-title", t("Verify email"), status));
  if (!token) {
    status.replaceWith(h("p", { className: "error", role: "alert" }, TOKEN_ERRORS.token_invalid()));
    return;
  }
  try {
    await anonymous("POST", "/api/auth/verify-email", { token });
    sessionStorage.removeItem(VERIFY_TOKEN_KEY);
    if (session.me) session.me.email_verified = true;
    status.replaceWith(
      h("p", { className: "success", role: "status" }, t("Your email address is verified.")),
      homeLink(t("Continue")),
    );
  } catch (error) {
    const known = TOKEN_ERRORS[error.code];
    if (known) sessionStorage.removeItem(VERIFY_TOKEN_KEY);
    status.replaceWith(h("p", { className: "error", role: "alert" }, known ? known() : error.message));
  }
}

function passwordField(id, label, name, autocomplete) {
  return h(
    "p",
    { className: "field" },
    h("label", { for: id }, label),
    h("input", { id, name, type: name === "email" ? "email" : "password", required: true, autocomplete }),
  );
}

export function forgotPasswordPage() {
  const box = errorBox();
  const form = h(
    "form",
    {},
    passwordField("forgot-email", t("Email"), "email", "email"),
    box,
    h("button", { type: "submit", className: "primary" }, t("Send the link")),
  );
  const section = card(
    "forgot-title",
    t("Forgot your password?"),
    h("p", {}, t("Enter the email address of your account: we will mail you a link to choose a new password.")),
    form,
  );
  onSubmit(form, box, async (data) => {
    await anonymous("POST", "/api/auth/password-reset", { email: String(data.get("email")).trim() });
    form.replaceWith(
      h(
        "p",
        { className: "success", role: "status" },
        t("If an account has this address, a link to reset its password is on its way. The link is valid for an hour."),
      ),
      homeLink(t("Back to sign in")),
    );
  });
  setPage(t("Forgot your password?"), section);
}

/** @param {() => void} onReset  called once the password is set (every session has ended) */
export function resetPasswordPage(token, onReset) {
  if (!token) {
    setPage(
      t("Reset password"),
      card("reset-title", t("Reset password"), h("p", { className: "error", role: "alert" }, TOKEN_ERRORS.token_invalid())),
      h("p", {}, h("a", { href: "/forgot-password", "data-link": true }, t("Ask for a new link"))),
    );
    return;
  }
  const box = errorBox();
  const form = h(
    "form",
    {},
    passwordField("reset-password", t("New password"), "password", "new-password"),
    box,
    h("button", { type: "submit", className: "primary" }, t("Set the new password")),
  );
  onSubmit(form, box, async (data) => {
    try {
      await anonymous("POST", "/api/auth/password-reset/confirm", { token, password: String(data.get("password")) });
    } catch (error) {
      const known = TOKEN_ERRORS[error.code];
      if (!known) throw error; // a weak password: the form stays, with the reason
      sessionStorage.removeItem(RESET_TOKEN_KEY);
      showError(box, new Error(known()));
      form.querySelector("input").disabled = true;
      return;
    }
    sessionStorage.removeItem(RESET_TOKEN_KEY);
    onReset();
  });
  setPage(t("Reset password"), card("reset-title", t("Reset password"), h("p", {}, t("Choose a new password.")), form));
}
