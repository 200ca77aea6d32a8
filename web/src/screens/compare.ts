// Two versions of a rulebook (or the draft against a version) side by side: the structural changes
// with their text, the exact regions in sentences, and what the change does to sampled charges.
import { gql } from "../api/client";
import type { Refusal, RulebookDiff, RulebookVersion } from "../api/types";
import { h } from "../dom";
import { renderImpact } from "../panels/impactChart";
import { renderFailure, renderRefusal } from "../panels/refusal";
import { sideBySide } from "../panels/sideBySide";
import { focusHeading } from "./shell";
import { versionsPath } from "./versions";

type DiffResult = (RulebookDiff & { __typename: "RulebookDiff" }) | Refusal;

const CHANGE_STATUS: Record<string, string> = { added: "Added", removed: "Removed", changed: "Changed", modified: "Changed" };

function side(versions: RulebookVersion[], rulebookId: string, id: string): string {
  if (id === rulebookId) return "the draft";
  const version = versions.find((v) => v.id === id);
  return version ? `version ${version.number}` : "another version";
}

function renderChange(change: RulebookDiff["changes"][number], fromLabel: string, toLabel: string): HTMLElement {
  const rows = sideBySide(change.textDiff);
  return h(
    "li",
    { class: `change change-${change.status}` },
    h(
      "div",
      { class: "change-head" },
      h("span", { class: `pill pill-change-${change.status}` }, CHANGE_STATUS[change.status] ?? change.status),
      h("span", { class: "change-kind muted" }, change.kind),
      h("code", {}, change.id),
      h("span", { class: "change-label" }, change.label),
    ),
    h(
      "table",
      { class: "side-by-side", "aria-label": `${change.kind} ${change.id}: ${fromLabel} beside ${toLabel}` },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, fromLabel), h("th", { scope: "col" }, toLabel))),
      h(
        "tbody",
        {},
        rows.map((row) =>
          row.kind === "gap"
            ? h("tr", { class: "diff-gap" }, h("td", { colspan: 2 }, "⋯"))
            : h(
                "tr",
                { class: `diff-${row.kind}` },
                h("td", { class: row.before === null ? "diff-empty" : row.kind === "same" ? "" : "diff-before" }, row.before === null ? "" : h("code", {}, row.before || " ")),
                h("td", { class: row.after === null ? "diff-empty" : row.kind === "same" ? "" : "diff-after" }, row.after === null ? "" : h("code", {}, row.after || " ")),
              ),
        ),
      ),
    ),
  );
}

export async function renderCompare(main: HTMLElement, rulebookId: string): Promise<void> {
  document.title = "Compare · cutis";
  const params = new URLSearchParams(location.search);
  const from = params.get("from") ?? "";
  const to = params.get("to") ?? rulebookId;
  main.replaceChildren(h("p", { class: "loading", role: "status" }, "Comparing…"));
  const listed = await gql<{ rulebookVersions: RulebookVersion[] | null }>("RulebookVersions", { rulebookId });
  const versions = listed.rulebookVersions ?? [];
  const fromLabel = side(versions, rulebookId, from);
  const toLabel = side(versions, rulebookId, to);
  const title = `Compare ${fromLabel} with ${toLabel}`;
  const body = h("div", { class: "compare-body" });
  main.replaceChildren(
    h(
      "div",
      { class: "page wide" },
      h(
        "div",
        { class: "page-heading" },
        h("nav", { "aria-label": "Breadcrumb", class: "breadcrumb" }, h("a", { href: "/", "data-route": "" }, "Payers"), h("span", { "aria-hidden": "true" }, " / "), h("a", { href: versionsPath(rulebookId), "data-route": "" }, versions[0]?.name ?? "Rulebook"), h("span", { "aria-hidden": "true" }, " / "), h("span", {}, "Compare")),
        h("h1", {}, title[0].toUpperCase() + title.slice(1)),
      ),
      body,
    ),
  );
  document.title = `${title} · cutis`;
  focusHeading(main);

  let result: DiffResult;
  try {
    result = (await gql<{ diffRulebooks: DiffResult }>("DiffRulebooks", { from, to })).diffRulebooks;
  } catch (error) {
    body.replaceChildren(renderFailure("Compare", error as Error));
    return;
  }
  if (result.__typename !== "RulebookDiff") {
    body.replaceChildren(renderRefusal("Compare", result));
    return;
  }
  body.replaceChildren(
    h(
      "section",
      { "aria-labelledby": "changes-title" },
      h("h2", { id: "changes-title" }, `What changed (${result.changes.length})`),
      result.changes.length
        ? h("ol", { class: "changes", "aria-label": "Changes" }, result.changes.map((change) => renderChange(change, fromLabel, toLabel)))
        : h("p", { class: "empty-state" }, "The two texts say the same thing."),
    ),
    h(
      "section",
      { "aria-labelledby": "regions-title" },
      h("h2", { id: "regions-title" }, "Exactly where"),
      result.regions.length
        ? h("ul", { class: "regions", "aria-label": "Exact regions" }, result.regions.map((region) => h("li", {}, h("code", {}, region.ruleId), " ", region.sentence)))
        : h("p", { class: "empty-state" }, "No rule decides differently."),
    ),
    renderImpact(result.impact),
  );
}
