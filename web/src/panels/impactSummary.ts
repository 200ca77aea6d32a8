// What a draft would change in a set of encounters, drawn the same for the impact replay (stored
// encounters) and the draft shadow (live traffic): counts, charges, a chart per code family, a table
// per payer and the encounters that code differently, biggest change first.
import type { ImpactTally, NamedTally } from "../api/types";
import { h } from "../dom";
import { familyBars, money } from "./impactChart";

export interface ImpactExampleRow {
  encounterId: string;
  payer: string;
  dateOfService: string;
  chargeDelta: string;
  summary: string;
}

export interface ImpactSummary {
  /** "What the draft changes so far", ...: the section's heading. */
  title: string;
  /** The element ids' prefix ("replay": #replay-headline). */
  idPrefix: string;
  impact: ImpactTally;
  byPayer: NamedTally[];
  byFamily: NamedTally[];
  examples: ImpactExampleRow[];
  /** What the examples table is called, and what is said when it is empty. */
  examplesName: string;
  noExamples: string;
}

export function count(value: number): string {
  return value.toLocaleString("en-US");
}

export function plural(value: number, one: string, many = `${one}s`): string {
  return `${count(value)} ${value === 1 ? one : many}`;
}

function deltaClass(amount: string): string {
  const value = Number(amount);
  return value > 0 ? "delta-up" : value < 0 ? "delta-down" : "";
}

export function tallyTable(caption: string, first: string, rows: NamedTally[]): HTMLElement {
  return h(
    "table",
    { class: "impact-table" },
    h("caption", { class: "visually-hidden" }, caption),
    h("thead", {}, h("tr", {}, [first, "Encounters", "Code differently", "Charges up", "Charges down"].map((label) => h("th", { scope: "col" }, label)))),
    h(
      "tbody",
      {},
      rows.map(({ name, tally }) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, name),
          h("td", {}, count(tally.encounters)),
          h("td", {}, count(tally.changed)),
          h("td", { class: Number(tally.chargesUp) ? "delta-up" : "" }, money(tally.chargesUp)),
          h("td", { class: Number(tally.chargesDown) ? "delta-down" : "" }, money(tally.chargesDown)),
        ),
      ),
    ),
  );
}

/** The counts, the chart per family, the table per payer and the examples, under one heading. */
export function impactSummary(summary: ImpactSummary): HTMLElement {
  const { impact, idPrefix } = summary;
  const families = summary.byFamily;
  const size = (amount: string) => Math.abs(Number(amount) || 0);
  const examples = [...summary.examples].sort((a, b) => size(b.chargeDelta) - size(a.chargeDelta)); // biggest change first
  const facts: [string, string][] = [
    ["Lines added", count(impact.linesAdded ?? 0)],
    ["Lines removed", count(impact.linesRemoved ?? 0)],
    ["Lines changed", count(impact.linesChanged ?? 0)],
    ["Flags changed", count(impact.flagsChanged ?? 0)],
    ["Holds changed", count(impact.holdsChanged ?? 0)],
    ["Charges up", money(impact.chargesUp)],
    ["Charges down", money(impact.chargesDown)],
  ];
  return h(
    "section",
    { class: "impact replay-summary", "aria-labelledby": `${idPrefix}-summary-title` },
    h("h2", { id: `${idPrefix}-summary-title` }, summary.title),
    h("p", { class: "impact-summary", id: `${idPrefix}-headline` }, `${count(impact.changed)} of ${plural(impact.encounters, "encounter")} code${impact.encounters === 1 ? "s" : ""} differently.`),
    h("dl", { class: "version-facts replay-facts", "aria-label": "Counts" }, facts.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)])),
    h("h3", {}, "By code family"),
    families.length
      ? familyBars(families.map(({ name, tally }) => ({ name, chargesUp: tally.chargesUp, chargesDown: tally.chargesDown })))
      : h("p", { class: "muted" }, "No code family changes."),
    h("h3", {}, "By payer"),
    summary.byPayer.length ? tallyTable("Impact by payer", "Payer", summary.byPayer) : h("p", { class: "muted" }, "No payer's encounters were coded."),
    h("h3", {}, "Examples"),
    examples.length
      ? h(
          "table",
          { class: "impact-table replay-examples" },
          h("caption", { class: "visually-hidden" }, summary.examplesName),
          h("thead", {}, h("tr", {}, ["Date of service", "Payer", "Charge change", "What changes"].map((label) => h("th", { scope: "col" }, label)))),
          h(
            "tbody",
            {},
            examples.map((example) =>
              h(
                "tr",
                { "data-encounter": example.encounterId },
                h("th", { scope: "row" }, example.dateOfService),
                h("td", {}, example.payer),
                h("td", { class: deltaClass(example.chargeDelta) }, money(example.chargeDelta)),
                h("td", {}, example.summary),
              ),
            ),
          ),
        )
      : h("p", { class: "muted" }, summary.noExamples),
  );
}

