// The TaskFlow web client: a few pages on the gateway's origin, no framework, no build step.
// This module only wires the parts: the session and its live connection (session.js), the
// routes (router.js), the pages (pages/), the labels (i18n.js, labels.js, frame.js).

import { SIGNED_OUT, signOut } from "./api.js";
import { loadLanguages, onLanguageChange, t } from "./i18n.js";
import { render, showSignIn, startRouting } from "./router.js";
import { live, onSessionLost } from "./session.js";
import { session } from "./state.js";

const sessionEnded = () => t("Your session has ended. Please sign in again.");

onSessionLost(() => showSignIn(sessionEnded));

window.addEventListener(SIGNED_OUT, () => {
  if (session.started) showSignIn(sessionEnded);
});

document.getElementById("sign-out").addEventListener("click", async () => {
  live.stop();
  await signOut();
  history.pushState(null, "", "/");
  showSignIn(() => t("You are signed out."));
});

// A language chosen on the settings page or in the footer: everything is drawn again in it.
onLanguageChange(() => render());

startRouting();
loadLanguages().then(() => render());
