// Signing in, or creating an account (a switch on the same card).

import { register, signIn } from "../api.js";
import { errorBox, fill, h, onSubmit } from "../dom.js";
import { t } from "../i18n.js";
import { setPage } from "../state.js";

/**
 * @param {string} intro  a sentence above the form ("" for none)
 * @param {string} notice  a status line (e.g. "You are signed out."), or ""
 * @param {() => void} onSignedIn  called once the tokens are stored
 */
export function authPage(intro, notice, onSignedIn) {
  let mode = "signin";
  const box = errorBox();
  const container = h("section", { className: "card auth", "aria-labelledby": "auth-title" });

  function field(id, label, input) {
    return h("p", { className: "field" }, h("label", { for: id }, label), h("input", { id, ...input }));
  }

  function draw() {
    const registering = mode === "register";
    const form = h(
      "form",
      { novalidate: false },
      registering ? field("auth-name", t("Name"), { name: "name", required: true, autocomplete: "name" }) : null,
      field("auth-email", t("Email"), { name: "email", type: "email", required: true, autocomplete: "email" }),
      field("auth-password", t("Password"), {
        name: "password",
        type: "password",
        required: true,
        minlength: registering ? "8" : null,
        autocomplete: registering ? "new-password" : "current-password",
      }),
      box,
      h("button", { type: "submit", className: "primary" }, registering ? t("Create account") : t("Sign in")),
      registering
        ? null
        : h("p", { className: "switch" }, h("a", { href: "/forgot-password", "data-link": true }, t("Forgot your password?"))),
    );
    onSubmit(form, box, async (data) => {
      const email = String(data.get("email")).trim();
      const password = String(data.get("password"));
      if (registering) await register(String(data.get("name")).trim(), email, password);
      else await signIn(email, password);
      onSignedIn();
    });
    fill(
      container,
      h("h1", { id: "auth-title" }, registering ? t("Create an account") : t("Sign in")),
      notice ? h("p", { className: "notice", role: "status" }, notice) : null,
      intro ? h("p", {}, intro) : null,
      form,
      h(
        "p",
        { className: "switch" },
        registering ? t("Already have an account?") : t("New to TaskFlow?"),
        " ",
        h(
          "button",
          {
            type: "button",
            className: "link",
            onclick: () => {
              mode = registering ? "signin" : "register";
              box.hidden = true;
              draw();
              container.querySelector("input")?.focus();
            },
          },
          registering ? t("Sign in instead") : t("Create an account"),
        ),
      ),
    );
  }

  draw();
  setPage(t("Sign in"), container);
}
