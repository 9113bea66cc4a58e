// The task page's comments: the list (oldest first, 50 a page, "Show more"), a new comment, and
// editing or deleting one's own (PATCH/DELETE /api/tasks/{id}/comments/{comment}; a project
// admin may delete anyone's).

import { api, items } from "../api.js";
import { confirmButton, errorBox, field, h, onSubmit } from "../dom.js";
import { formatDate, t } from "../i18n.js";

const PAGE_SIZE = 50;

/**
 * @param {number} taskId
 * @param {object} who
 * @param {number|null} who.meId  the signed-in user
 * @param {boolean} who.canComment  member+: may comment, and edit or delete their own comments
 * @param {boolean} who.canModerate  admin+: may delete anyone's comment
 * @returns {{element: HTMLElement, load: () => Promise<void>}}
 */
export function commentsSection(taskId, { meId, canComment, canModerate }) {
  const list = h("ol", { className: "comments", id: "comments" });
  const box = errorBox();
  const more = h("button", { type: "button", hidden: true }, t("Show more comments"));
  let pages = 1;
  let comments = [];
  const editing = new Map(); // comment id → the draft being edited (kept across redraws)
  const base = `/api/tasks/${taskId}/comments`;

  /** Reads again the pages shown so far (a comment added, edited or deleted anywhere). */
  async function load() {
    const all = [];
    let hasNext = false;
    for (let page = 1; page <= pages; page += 1) {
      const answer = await api("GET", `${base}?page=${page}&page_size=${PAGE_SIZE}`);
      all.push(...items(answer));
      hasNext = Boolean(answer?.next);
      if (!hasNext) break;
    }
    comments = all;
    more.hidden = !hasNext;
    box.hidden = true;
    draw();
  }

  more.addEventListener("click", async () => {
    more.disabled = true;
    pages += 1;
    try {
      await load();
    } catch (error) {
      pages -= 1;
      box.textContent = error.message;
      box.hidden = false;
    } finally {
      more.disabled = false;
    }
  });

  function editor(comment) {
    const errors = errorBox();
    const textarea = h("textarea", { id: `comment-edit-${comment.id}`, name: "body", rows: "4", maxlength: "10000" });
    textarea.value = editing.get(comment.id);
    textarea.addEventListener("input", () => editing.set(comment.id, textarea.value));
    const form = h(
      "form",
      { className: "comment-edit" },
      field(t("Edit your comment"), textarea),
      errors,
      h(
        "div",
        { className: "actions" },
        h("button", { type: "submit", className: "primary" }, t("Save comment")),
        h(
          "button",
          {
            type: "button",
            onclick: () => {
              editing.delete(comment.id);
              draw();
            },
          },
          t("Cancel"),
        ),
      ),
    );
    onSubmit(form, errors, async (data) => {
      await api("PATCH", `${base}/${comment.id}`, { body: String(data.get("body")) });
      editing.delete(comment.id);
      await load();
    });
    return form;
  }

  function item(comment) {
    const own = meId !== null && comment.author?.id === meId;
    const edited = comment.edited ?? comment.updated_at !== comment.created_at;
    const actions = [];
    if (own && canComment && !editing.has(comment.id)) {
      actions.push(
        h(
          "button",
          {
            type: "button",
            className: "small",
            onclick: () => {
              editing.set(comment.id, comment.body);
              draw();
              document.getElementById(`comment-edit-${comment.id}`)?.focus();
            },
          },
          t("Edit"),
        ),
      );
    }
    if ((own && canComment) || canModerate) {
      actions.push(
        confirmButton(
          t("Delete"),
          { question: t("Delete this comment?"), yes: t("Delete comment"), className: "small" },
          async () => {
            await api("DELETE", `${base}/${comment.id}`);
            editing.delete(comment.id);
            await load();
          },
        ),
      );
    }
    return h(
      "li",
      { "data-comment-id": comment.id },
      h(
        "div",
        { className: "meta" },
        h("strong", {}, comment.author?.name || t("Someone")),
        " · ",
        h("time", { datetime: comment.created_at }, formatDate(comment.created_at)),
        edited
          ? h("span", { className: "edited", title: formatDate(comment.updated_at) }, " · ", t("edited"))
          : null,
      ),
      editing.has(comment.id) ? editor(comment) : h("p", { className: "body" }, comment.body),
      actions.length ? h("div", { className: "comment-actions" }, actions) : null,
    );
  }

  function draw() {
    list.replaceChildren(
      ...(comments.length ? comments.map(item) : [h("li", { className: "empty" }, t("No comments yet."))]),
    );
  }

  const element = h(
    "section",
    { "aria-labelledby": "comments-title" },
    h("h2", { id: "comments-title" }, t("Comments")),
    list,
    more,
    box,
    canComment ? newCommentForm(base, load) : null,
  );
  return { element, load };
}

function newCommentForm(base, reload) {
  const errors = errorBox();
  const form = h(
    "form",
    { className: "comment-form" },
    field(t("Add a comment"), h("textarea", { id: "comment-body", name: "body", rows: "4", maxlength: "10000", required: true })),
    errors,
    h("button", { type: "submit", className: "primary" }, t("Post comment")),
  );
  onSubmit(form, errors, async (data) => {
    await api("POST", base, { body: String(data.get("body")) });
    form.reset();
    await reload();
  });
  return form;
}
