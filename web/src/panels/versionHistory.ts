// A rulebook's version history: one row per version, newest first, with who did what and when.
import type { RulebookVersion } from "../api/types";
import { formatDateTime, h } from "../dom";

export const STATUS_LABELS: Record<string, string> = {
  in_review: "In review",
  changes_requested: "Changes requested",
  approved: "Approved",
  published: "Published",
  withdrawn: "Withdrawn",
};

export function statusBadge(status: string): HTMLElement {
  return h("span", { class: `badge badge-${status.replace(/_/g, "-")}` }, STATUS_LABELS[status] ?? status);
}

/** The people behind a version are ids (names are for user administrators): "you" or "a colleague". */
export type PersonName = (userId: string | null | undefined) => string;

export function effectiveRange(version: RulebookVersion): string {
  if (!version.effectiveFrom) return "No effective date";
  return version.effectiveUntil ? `${version.effectiveFrom} to ${version.effectiveUntil}` : `From ${version.effectiveFrom}`;
}

export function shortHash(contentHash: string): string {
  return contentHash.replace(/^sha256:/, "").slice(0, 10);
}

function when(at: string | null, who: string | null): HTMLElement {
  return at ? h("span", {}, formatDateTime(at), who ? h("span", { class: "muted" }, ` by ${who}`) : null) : h("span", { class: "muted" }, "—");
}

export function renderVersionHistory(
  versions: RulebookVersion[],
  selectedId: string | null,
  person: PersonName,
  onSelect: (version: RulebookVersion) => void,
): HTMLElement {
  const rows = versions.map((version) => {
    const selected = version.id === selectedId;
    return h(
      "tr",
      { class: selected ? "selected" : "", "data-version": version.number },
      h(
        "th",
        { scope: "row" },
        h(
          "button",
          { type: "button", class: "link", "aria-current": selected ? "true" : null, onclick: () => onSelect(version) },
          `Version ${version.number}`,
        ),
      ),
      h("td", {}, statusBadge(version.status)),
      h("td", {}, when(version.submittedAt, person(version.submittedBy))),
      h("td", {}, when(version.reviewedAt, version.reviewedAt ? person(version.reviewedBy) : null)),
      h("td", {}, when(version.publishedAt, version.publishedAt ? person(version.publishedBy) : null)),
      h("td", {}, h("code", { title: version.contentHash }, shortHash(version.contentHash))),
      h("td", {}, effectiveRange(version)),
    );
  });
  return h(
    "table",
    { class: "versions-table" },
    h("caption", {}, "Version history, newest first"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Version", "Status", "Submitted", "Reviewed", "Published", "Content", "Effective"].map((label) => h("th", { scope: "col" }, label)),
      ),
    ),
    h("tbody", {}, rows),
  );
}
