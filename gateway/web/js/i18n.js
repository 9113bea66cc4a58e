// The web client's languages: English in the code (the msgids), the others from the catalogs
// that exist, compiled from locales/<lang>/LC_MESSAGES/web.po to /locales/<lang>.json by
// scripts/web_catalogs.py (/locales/index.json lists them).
//
//   t("Signed in as {email}.", { email })      a translated sentence, `{name}` placeholders
//   nt("{count} unread", "{count} unread", n)  the plural form for n (Intl.PluralRules), `{count}` = n
//
// Interpolated values are text: callers put the result in text nodes, never in HTML. A value
// that must be an element (a link, <strong>) goes in with place(t("... {link} ..."), { link }).

export const SOURCE_LANGUAGE = "en";
const STORED_KEY = "taskflow.language"; // the choice made while signed out (the footer selector)

let language = SOURCE_LANGUAGE;
let catalog = null; // {plural: {category: form index}, messages: {msgid: msgstr | [forms]}}
let supported = [SOURCE_LANGUAGE];
const catalogs = new Map();
const listeners = new Set();

/** The active language's code ("en", "ru", ...). */
export function currentLanguage() {
  return language;
}

/** The languages there are catalogs for, the source language first. */
export function supportedLanguages() {
  return supported.slice();
}

/** A language's name in that language ("русский"), for a selector. */
export function languageName(code) {
  try {
    const name = new Intl.DisplayNames([code], { type: "language" }).of(code) || code;
    return name.charAt(0).toLocaleUpperCase(code) + name.slice(1);
  } catch {
    return code;
  }
}

/** The supported language for a code such as "ru-RU" or "es-419", or "". */
export function match(code) {
  if (!code) return "";
  const lower = String(code).toLowerCase();
  if (supported.includes(lower)) return lower;
  const base = lower.split("-")[0];
  return supported.includes(base) ? base : "";
}

/** Signed out: the language chosen on this device, else the browser's first supported one, else English. */
export function signedOutLanguage() {
  const stored = match(localStorage.getItem(STORED_KEY));
  if (stored) return stored;
  for (const code of navigator.languages?.length ? navigator.languages : [navigator.language]) {
    const found = match(code);
    if (found) return found;
  }
  return SOURCE_LANGUAGE;
}

/** Remembers a choice made while signed out (the account's language wins once signed in). */
export function storeSignedOutLanguage(code) {
  localStorage.setItem(STORED_KEY, code);
}

/** Reads the list of catalogs; without it (not compiled yet) the client is English only. */
export async function loadLanguages() {
  try {
    const response = await fetch("/locales/index.json", { credentials: "omit" });
    const index = response.ok ? await response.json() : null;
    if (Array.isArray(index?.languages)) {
      supported = [SOURCE_LANGUAGE, ...index.languages.filter((code) => code !== SOURCE_LANGUAGE)];
    }
  } catch {
    supported = [SOURCE_LANGUAGE];
  }
}

async function loadCatalog(code) {
  if (code === SOURCE_LANGUAGE) return null;
  if (!catalogs.has(code)) {
    const response = await fetch(`/locales/${code}.json`, { credentials: "omit" });
    if (!response.ok) throw new Error(`no catalog for ${code} (HTTP ${response.status})`);
    catalogs.set(code, await response.json());
  }
  return catalogs.get(code);
}

/**
 * Makes `code` the active language (an unsupported one means English), sets <html lang> and,
 * unless `quiet` (the caller is about to render anyway), tells the listeners (the app
 * re-renders). A catalog that cannot be loaded leaves English. True if the language changed.
 */
export async function setLanguage(code, { quiet = false } = {}) {
  let wanted = match(code) || SOURCE_LANGUAGE;
  let loaded = null;
  try {
    loaded = await loadCatalog(wanted);
  } catch {
    wanted = SOURCE_LANGUAGE;
  }
  const changed = wanted !== language;
  language = wanted;
  catalog = loaded;
  document.documentElement.lang = language;
  if (changed && !quiet) listeners.forEach((listener) => listener(language));
  return changed;
}

/** Calls `listener(code)` after every change of language. */
export function onLanguageChange(listener) {
  listeners.add(listener);
}

function interpolate(template, params) {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole,
  );
}

/** The translation of `msgid` (English if there is none), its `{name}` placeholders filled. */
export function t(msgid, params) {
  const translated = catalog?.messages?.[msgid];
  return interpolate(typeof translated === "string" && translated ? translated : msgid, params);
}

/** The plural form for `n`; `{count}` is n formatted for the language, other params as in t(). */
export function nt(singular, plural, n, params) {
  const category = new Intl.PluralRules(language).select(n);
  const forms = catalog?.messages?.[singular];
  let template = category === "one" ? singular : plural;
  if (Array.isArray(forms)) {
    const rule = catalog.plural || {};
    const index = rule[category] ?? rule.other ?? forms.length - 1;
    if (forms[index]) template = forms[index];
  }
  return interpolate(template, { count: formatNumber(n), ...params });
}

/**
 * A translated template with elements in its placeholders: place(t("Open {link} now"), { link })
 * gives ["Open ", link, " now"] (the text parts stay text).
 */
export function place(template, nodes) {
  return template
    .split(/(\{\w+\})/)
    .filter((part) => part !== "")
    .map((part) => {
      const name = part.match(/^\{(\w+)\}$/)?.[1];
      return name && Object.prototype.hasOwnProperty.call(nodes, name) ? nodes[name] : part;
    });
}

export function formatNumber(value) {
  return new Intl.NumberFormat(language).format(value);
}

/** A date and time in the active language ("—" for none). */
export function formatDate(value) {
  if (!value) return "—";
  const date = new Date(value);
  return Number.isNaN(date.getTime())
    ? value
    : new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "short" }).format(date);
}
