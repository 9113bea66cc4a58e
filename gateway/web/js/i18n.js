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

/** A date and time in the active language and the account's time zone ("—" for none). */
export function formatDate(value) {
  if (!value) return "—";
  const date = new Date(value);
  return Number.isNaN(date.getTime())
    ? value
    : new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "short", timeZone }).format(date);
}

// --- Time zones: the account's (GET /api/users/me `timezone`, an IANA name), else the browser's.

let timeZone; // undefined: the browser's

/** Whether the browser knows the IANA zone `name`. */
export function knownTimeZone(name) {
  try {
    new Intl.DateTimeFormat("en", { timeZone: name });
    return Boolean(name);
  } catch {
    return false;
  }
}

/** Dates are shown, and datetime-local fields read, in `name` from now on (state.js: the account's). */
export function setTimeZone(name) {
  timeZone = knownTimeZone(name) ? name : undefined;
}

export function currentTimeZone() {
  return timeZone || Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** The zones for a selector: the browser's list, with UTC and `extra` (the stored one) if it lacks them. */
export function timeZoneNames(extra) {
  const names = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return [...new Set(["UTC", ...names, ...(extra ? [extra] : [])])].sort((a, b) => (a === "UTC" ? -1 : b === "UTC" ? 1 : a.localeCompare(b)));
}

function wallClock(instant, zone) {
  const parts = {};
  new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  })
    .formatToParts(instant)
    .forEach(({ type, value }) => (parts[type] = Number(value)));
  return parts;
}

/** The zone's offset from UTC at `instant`, in minutes (east positive). */
function offsetMinutes(instant, zone) {
  const wall = wallClock(instant, zone);
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
  return Math.round((asUtc - Math.floor(instant.getTime() / 1000) * 1000) / 60000);
}

const pad = (number, width = 2) => String(number).padStart(width, "0");

/** A datetime-local value ("2026-12-01T17:00") of an ISO instant, on the time zone's clock; "" for none. */
export function toZonedInput(value, zone = currentTimeZone()) {
  const instant = value ? new Date(value) : null;
  if (!instant || Number.isNaN(instant.getTime())) return "";
  const wall = wallClock(instant, zone);
  return `${pad(wall.year, 4)}-${pad(wall.month)}-${pad(wall.day)}T${pad(wall.hour)}:${pad(wall.minute)}`;
}

/**
 * The ISO 8601 instant, with the zone's offset ("2026-12-01T17:00:00+01:00"), of a
 * datetime-local value read on the time zone's clock; "" for an empty or malformed value. A
 * wall time that a change of clocks skips comes out as the time it is moved to (02:30 → 03:30).
 */
export function fromZonedInput(value, zone = currentTimeZone()) {
  const found = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(value || "");
  if (!found) return "";
  const [year, month, day, hour, minute, second] = found.slice(1).map((part) => Number(part || 0));
  const asUtc = Date.UTC(year, month - 1, day, hour, minute, second);
  const guess = offsetMinutes(new Date(asUtc), zone);
  let instant = new Date(asUtc - guess * 60000);
  const actual = offsetMinutes(instant, zone);
  if (actual !== guess) instant = new Date(asUtc - actual * 60000);
  const offset = offsetMinutes(instant, zone);
  const wall = wallClock(instant, zone);
  const sign = offset < 0 ? "-" : "+";
  const zoneOffset = `${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  return (
    `${pad(wall.year, 4)}-${pad(wall.month)}-${pad(wall.day)}T${pad(wall.hour)}:${pad(wall.minute)}:${pad(wall.second)}` +
    zoneOffset
  );
}
