// A version's canonical text, line by line, with the review comments beside the lines they are
// about; a reviewer adds comments on lines here before requesting changes.
import type { RulebookComment, RulebookVersion } from "../api/types";
import { formatDateTime, h } from "../dom";
import type { PersonName } from "./versionHistory";

export interface LineCommentDrafts {
  element: HTMLElement;
  /** The comments on lines typed so far (empty ones left out). */
  drafts(): { line: number; body: string }[];
}

function commentItem(comment: RulebookComment, person: PersonName): HTMLElement {
  return h(
    "li",
    { class: `comment${comment.decision ? ` comment-${comment.decision.replace(/_/g, "-")}` : ""}` },
    h("p", { class: "comment-body" }, comment.body),
    h(
      "p",
      { class: "comment-meta muted" },
      comment.decision === "changes_requested" ? "Changes requested · " : comment.decision === "approved" ? "Approved · " : "",
      person(comment.authorId),
      ", ",
      formatDateTime(comment.createdAt),
    ),
  );
}

/** The comments about the whole version (a review's own comment): shown above the text. */
export function renderVersionComments(version: RulebookVersion, person: PersonName): HTMLElement | null {
  const general = version.comments.filter((c) => c.line === null);
  if (!general.length) return null;
  return h("ul", { class: "comments general-comments", "aria-label": "Review comments" }, general.map((c) => commentItem(c, person)));
}

export function renderVersionText(version: RulebookVersion, person: PersonName, commenting: boolean): LineCommentDrafts {
  const byLine = new Map<number, RulebookComment[]>();
  for (const comment of version.comments) {
    if (comment.line !== null) byLine.set(comment.line, [...(byLine.get(comment.line) ?? []), comment]);
  }
  const drafts = new Map<number, HTMLTextAreaElement>();
  const lines = (version.canonicalText ?? "").replace(/\n$/, "").split("\n");

  function addDraft(line: number, slot: HTMLElement): void {
    const existing = drafts.get(line);
    if (existing) return existing.focus();
    const id = `line-comment-${line}`;
    const textarea = h("textarea", { id, rows: 2, class: "line-comment-input" });
    drafts.set(line, textarea);
    const remove = h("button", { type: "button", class: "button subtle small", "aria-label": `Remove the comment on line ${line}` }, "Remove");
    const box = h("div", { class: "line-comment-draft field" }, h("label", { for: id }, `Comment on line ${line}`), textarea, remove);
    remove.addEventListener("click", () => {
      drafts.delete(line);
      box.remove();
    });
    slot.append(box);
    textarea.focus();
  }

  const items = lines.map((text, index) => {
    const line = index + 1;
    const comments = byLine.get(line) ?? [];
    const slot = h("div", { class: "line-extras" });
    if (comments.length) {
      slot.append(h("ul", { class: "comments line-comments", "aria-label": `Comments on line ${line}` }, comments.map((c) => commentItem(c, person))));
    }
    return h(
      "li",
      { class: `source-line${comments.length ? " has-comments" : ""}`, "data-line": line },
      h("span", { class: "line-number", "aria-hidden": "true" }, line),
      h("code", { class: "line-text" }, text || " "),
      commenting
        ? h(
            "button",
            { type: "button", class: "add-line-comment", "aria-label": `Add a comment on line ${line}`, title: `Add a comment on line ${line}`, onclick: () => addDraft(line, slot) },
            "+",
          )
        : null,
      slot,
    );
  });
  return {
    element: h("ol", { class: "source", "aria-label": `Text of version ${version.number}` }, items),
    drafts: () =>
      [...drafts.entries()]
        .map(([line, textarea]) => ({ line, body: textarea.value.trim() }))
        .filter((draft) => draft.body)
        .sort((a, b) => a.line - b.line),
  };
}
