// The task page's history: GET /api/tasks/{id}/activity, newest first, a page at a time.

import { api, items } from "../api.js";
import { errorBox, h, showError } from "../dom.js";
import { formatDate, t } from "../i18n.js";

const PAGE_SIZE = 20;

/** @returns {{element: HTMLElement, load: () => Promise<void>}}  load: the newest page again */
export function activitySection(taskId) {
  const list = h("ol", { className: "activity", id: "activity" });
  const box = errorBox();
  const more = h("button", { type: "button", hidden: true }, t("Show more"));
  let page = 1;

  const row = (entry) =>
    h(
      "li",
      { "data-activity-id": entry.id, "data-type": entry.type },
      h("span", { className: "message" }, entry.message),
      " ",
      h("time", { className: "meta", datetime: entry.occurred_at }, formatDate(entry.occurred_at)),
    );

  async function fetchPage(number) {
    const answer = await api("GET", `/api/tasks/${taskId}/activity?page=${number}&page_size=${PAGE_SIZE}`);
    more.hidden = !answer?.next;
    box.hidden = true;
    return items(answer).map(row);
  }

  async function load() {
    try {
      const rows = await fetchPage(1);
      page = 1;
      list.replaceChildren(...(rows.length ? rows : [h("li", { className: "empty" }, t("Nothing has happened yet."))]));
    } catch (error) {
      showError(box, error);
    }
  }

  more.addEventListener("click", async () => {
    more.disabled = true;
    try {
      const rows = await fetchPage(page + 1);
      page += 1;
      // Entries added since the first page push older ones onto the next: no row twice.
      const shown = new Set([...list.children].map((item) => item.dataset.activityId));
      list.append(...rows.filter((item) => !shown.has(item.dataset.activityId)));
    } catch (error) {
      showError(box, error);
    } finally {
      more.disabled = false;
    }
  });

  const element = h(
    "section",
    { className: "history", "aria-labelledby": "activity-title" },
    h("h2", { id: "activity-title" }, t("History")),
    box,
    list,
    more,
  );
  return { element, load };
}
