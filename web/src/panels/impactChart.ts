// The behavioural impact of a change: how many sampled encounters code differently, a bar chart
// (inline SVG) of charges going up against charges going down, and the encounters themselves; the
// impact replay draws the same bars per code family.
import type { RulebookDiff } from "../api/types";
import { h } from "../dom";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag: string, attributes: Record<string, string | number>, text?: string): SVGElement {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

interface Bar {
  label: string;
  value: number;
  text: string;
  className: string;
}

/** Horizontal bars, one a row, scaled to the largest value; the numbers are written beside them.
 * A labelled bar after the first starts a new group, a little further down. */
function barRows(bars: Bar[], title: string, { width = 360, labelWidth = 110, valueWidth = 50, barHeight = 22, gap = 8, groupGap = 0 } = {}): SVGElement {
  const barSpace = width - labelWidth - valueWidth;
  const largest = Math.max(...bars.map((bar) => bar.value), 1);
  let y = 6;
  const rows = bars.map((bar, index) => {
    if (index > 0) y += barHeight + gap + (bar.label ? groupGap : 0);
    return { ...bar, y };
  });
  const height = y + barHeight + gap;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", class: "impact-chart" });
  chart.append(svg("title", {}, title));
  for (const { label, value, text, className, y: top } of rows) {
    const length = Math.max(2, (value / largest) * barSpace);
    const baseline = top + barHeight / 2 + 4;
    if (label) chart.append(svg("text", { x: 0, y: baseline, class: "bar-label" }, label));
    chart.append(svg("rect", { x: labelWidth, y: top, width: length, height: barHeight, rx: 4, class: className }));
    chart.append(svg("text", { x: labelWidth + length + 6, y: baseline, class: "bar-value" }, text));
  }
  return chart;
}

/** Two horizontal bars, up and down, scaled to the larger; the numbers are written beside them. */
export function chargeBars(up: number, down: number): SVGElement {
  return barRows(
    [
      { label: "Charges up", value: up, text: String(up), className: "bar-up" },
      { label: "Charges down", value: down, text: String(down), className: "bar-down" },
    ],
    `Charges up: ${up}; charges down: ${down}`,
  );
}

/** "1234.5" -> "$1,234.50"; "-84" -> "-$84.00" (the server's decimal strings, in dollars). */
export function money(amount: string): string {
  const value = Number(amount);
  if (!Number.isFinite(value)) return amount;
  const dollars = Math.abs(value).toLocaleString("en-US", { style: "currency", currency: "USD" });
  return value < 0 ? `-${dollars}` : dollars;
}

/** Per code family, a bar of the charges it gains and one of the charges it loses, all on one scale. */
export function familyBars(families: { name: string; chargesUp: string; chargesDown: string }[]): SVGElement {
  const amount = (text: string) => Math.abs(Number(text) || 0);
  const title = `Charges by code family: ${families.map((f) => `${f.name} up ${money(f.chargesUp)}, down ${money(f.chargesDown)}`).join("; ")}`;
  return barRows(
    families.flatMap((family) => [
      { label: family.name, value: amount(family.chargesUp), text: `up ${money(family.chargesUp)}`, className: "bar-up" },
      { label: "", value: amount(family.chargesDown), text: `down ${money(family.chargesDown)}`, className: "bar-down" },
    ]),
    title,
    { width: 560, labelWidth: 170, valueWidth: 110, barHeight: 16, gap: 3, groupGap: 10 },
  );
}

export function renderImpact(impact: RulebookDiff["impact"]): HTMLElement {
  const up = Number(impact.chargeUp) || 0;
  const down = Number(impact.chargeDown) || 0;
  return h(
    "section",
    { class: "impact", "aria-labelledby": "impact-title" },
    h("h2", { id: "impact-title" }, "What it does to charges"),
    h("p", { class: "impact-summary" }, `${impact.changed} of ${impact.sampled} sampled encounter${impact.sampled === 1 ? "" : "s"} code differently.`),
    chargeBars(up, down),
    impact.encounters.length
      ? h(
          "table",
          { class: "impact-table" },
          h("caption", { class: "visually-hidden" }, "Encounters that code differently"),
          h("thead", {}, h("tr", {}, ["Encounter", "Payer", "Charge change", "What changes"].map((label) => h("th", { scope: "col" }, label)))),
          h(
            "tbody",
            {},
            impact.encounters.map((encounter) =>
              h(
                "tr",
                {},
                h("th", { scope: "row" }, encounter.externalId),
                h("td", {}, encounter.payer),
                h("td", { class: Number(encounter.chargeDelta) < 0 ? "delta-down" : Number(encounter.chargeDelta) > 0 ? "delta-up" : "" }, encounter.chargeDelta),
                h("td", {}, encounter.summary),
              ),
            ),
          ),
        )
      : h("p", { class: "muted" }, "No sampled encounter codes differently."),
  );
}
