// The TaskFlow HTTP API, as the web client uses it: JSON over the gateway's /api, the access and
// refresh tokens kept in localStorage, one transparent refresh on a 401. Every call says the
// client's language in Accept-Language (the browser would send its own otherwise, and the API
// answers that before the account's language), so the API's messages match the page.

import { currentLanguage, t } from "./i18n.js";

const ACCESS_KEY = "taskflow.access";
const REFRESH_KEY = "taskflow.refresh";

/** An API answer that is not a success, with the API's error shape kept. */
export class ApiError extends Error {
  constructor(status, body) {
    super(describe(status, body));
    this.name = "ApiError";
    this.status = status;
    this.body = body;
    this.code = body && typeof body === "object" && typeof body.code === "string" ? body.code : "";
  }
}

/** A readable sentence for an error body: `{"detail", "code"}` or `{"field": ["message"]}`. */
function describe(status, body) {
  if (body && typeof body === "object") {
    if (typeof body.detail === "string") return body.detail;
    const parts = [];
    for (const [field, messages] of Object.entries(body)) {
      const text = Array.isArray(messages) ? messages.join(" ") : String(messages);
      parts.push(field === "non_field_errors" ? text : `${field}: ${text}`);
    }
    if (parts.length) return parts.join(" ");
  }
  if (status === 0) return t("The server cannot be reached. Check your connection and try again.");
  return t("The request failed (HTTP {status}).", { status });
}

export const tokens = {
  get access() {
    return localStorage.getItem(ACCESS_KEY) || "";
  },
  get refresh() {
    return localStorage.getItem(REFRESH_KEY) || "";
  },
  save({ access, refresh }) {
    localStorage.setItem(ACCESS_KEY, access);
    localStorage.setItem(REFRESH_KEY, refresh);
  },
  clear() {
    localStorage.removeItem(ACCESS_KEY);
    localStorage.removeItem(REFRESH_KEY);
  },
};

export function signedIn() {
  return Boolean(tokens.refresh);
}

/** Fired on window when the session ends without the user asking (the refresh was refused). */
export const SIGNED_OUT = "taskflow:signed-out";

async function send(method, path, body, access) {
  const headers = { Accept: "application/json", "Accept-Language": currentLanguage() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (access) headers.Authorization = `Bearer ${access}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      // Never send the page's address (an invite token may be in it) along with API calls.
      referrerPolicy: "no-referrer",
    });
  } catch {
    throw new ApiError(0, null);
  }
  let data = null;
  const text = await response.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { detail: t("Unexpected answer from the server (HTTP {status}).", { status: response.status }) };
    }
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// Refresh tokens are single-use (a reused one revokes every session): one refresh at a time,
// shared by every request that got a 401 meanwhile.
let refreshing = null;
// A password change in flight: it revokes every token, so a refresh (the live socket's, closed
// by that revocation) waits for the fresh pair the change answers instead of presenting the old.
let passwordChanging = null;

export function refreshSession() {
  if (!refreshing) {
    refreshing = (async () => {
      if (passwordChanging) await passwordChanging;
      const presented = tokens.refresh;
      if (!presented) throw new ApiError(401, { detail: t("Please sign in."), code: "not_authenticated" });
      try {
        tokens.save(await send("POST", "/api/auth/refresh", { refresh: presented }));
      } catch (error) {
        // Another tab may have rotated it first: its new pair is in localStorage already.
        if (tokens.refresh && tokens.refresh !== presented) return;
        if (error.status === 401 || error.status === 400) {
          tokens.clear();
          window.dispatchEvent(new CustomEvent(SIGNED_OUT));
        }
        throw error;
      }
    })().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

/** Calls the API with the session; a 401 refreshes the tokens once and retries. */
export async function api(method, path, body) {
  try {
    return await send(method, path, body, tokens.access);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401 || !tokens.refresh) throw error;
  }
  await refreshSession();
  return send(method, path, body, tokens.access);
}

/** Calls an endpoint that needs no session (a mailed token is the credential). */
export function anonymous(method, path, body) {
  return send(method, path, body, "");
}

export async function signIn(email, password) {
  tokens.save(await send("POST", "/api/auth/login", { email, password }));
}

export async function register(name, email, password) {
  await send("POST", "/api/auth/register", { name, email, password });
  await signIn(email, password);
}

/**
 * Changes the password (POST /api/users/me/password). Every session of the account ends, this
 * one continues with the pair the API answers. Errors: `current_password`, `new_password`.
 */
export async function changePassword(currentPassword, newPassword) {
  // A fresh access token first: once refreshes wait for the change, the change cannot refresh.
  await refreshSession();
  let done;
  passwordChanging = new Promise((resolve) => (done = resolve));
  try {
    const pair = await send(
      "POST",
      "/api/users/me/password",
      { current_password: currentPassword, new_password: newPassword },
      tokens.access,
    );
    tokens.save(pair);
  } finally {
    passwordChanging = null;
    done();
  }
}

export async function signOut() {
  const refresh = tokens.refresh;
  tokens.clear();
  if (refresh) {
    try {
      await send("POST", "/api/auth/logout", { refresh });
    } catch {
      // Signed out here either way; the token expires on its own.
    }
  }
}

/** The items of a paginated list (or of a plain one). */
export function items(page) {
  return Array.isArray(page) ? page : (page?.results ?? []);
}
