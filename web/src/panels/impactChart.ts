// The behavioural impact of a change: how many sampled encounters code differently, a bar chart
// (inline SVG) of charges going up against charges going down, and the encounters themselves.
import type { RulebookDiff } from "../api/types";
import { h } from "../dom";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag: string, attributes: Record<string, string | number>, text?: string): SVGElement {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** Two horizontal bars, up and down, scaled to the larger; the numbers are written beside them. */
export function chargeBars(up: number, down: number): SVGElement {
  const width = 360;
  const labelWidth = 110;
  const barSpace = width - labelWidth - 50;
  const largest = Math.max(up, down, 1);
  const chart = svg("svg", { viewBox: `0 0 ${width} 64`, width, height: 64, role: "img", class: "impact-chart" });
  chart.append(svg("title", {}, `Charges up: ${up}; charges down: ${down}`));
  [
    { label: "Charges up", value: up, y: 6, className: "bar-up" },
    { label: "Charges down", value: down, y: 36, className: "bar-down" },
  ].forEach(({ label, value, y, className }) => {
    chart.append(svg("text", { x: 0, y: y + 15, class: "bar-label" }, label));
    chart.append(svg("rect", { x: labelWidth, y, width: Math.max(2, (value / largest) * barSpace), height: 22, rx: 4, class: className }));
    chart.append(svg("text", { x: labelWidth + Math.max(2, (value / largest) * barSpace) + 6, y: y + 15, class: "bar-value" }, String(value)));
  });
  return chart;
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
