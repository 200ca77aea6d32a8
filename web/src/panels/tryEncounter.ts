// "Try on an encounter": a sample, a recent encounter of the clinic, or pasted JSON, coded
// with the text in the editor; every line shows its reasons, rule ids link to their source.
import { gql } from "../api/client";
import type { CodedLine, EncounterSummary, ExplainResult, Flag, HeldLine, Reason } from "../api/types";
import { announce, h, replace } from "../dom";
import { SAMPLE_ENCOUNTERS, toEncounterInput } from "../samples";
import type { SourceLinks } from "./tests";

type Source = "sample" | "recent" | "paste";

export interface TryPanel {
  element: HTMLElement;
  run(): Promise<void>;
}

function formatValue(value: unknown): string {
  if (Array.isArray(value)) return value.map(formatValue).join(", ");
  if (value && typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function renderReason(reason: Reason, links: SourceLinks): HTMLElement {
  const values = Object.entries(reason.values ?? {});
  return h(
    "li",
    { class: "reason" },
    reason.rule && links.reasonSource
      ? links.reasonSource(reason.rule)
      : reason.rule
      ? h("span", { class: "reason-source" }, links.ruleLink(reason.rule.ruleId), reason.rule.span ? links.lineLink(reason.rule.span.line) : null)
      : h("span", { class: "reason-source step" }, reason.step ?? "engine"),
    h("span", { class: "reason-message" }, reason.message),
    values.length
      ? h(
          "dl",
          { class: "reason-values" },
          values.flatMap(([name, value]) => [h("dt", {}, name), h("dd", {}, formatValue(value))]),
        )
      : null,
  );
}

function reasonsList(reasons: Reason[], links: SourceLinks, label: string): HTMLElement {
  return h("ul", { class: "reasons", "aria-label": label }, reasons.map((r) => renderReason(r, links)));
}

/** A claim or self-pay line: code with modifiers, units, diagnosis pointers, charge, reasons (and `extra`, e.g. an override form). */
export function lineCard(line: CodedLine, links: SourceLinks, kind: string, ...extra: (HTMLElement | null)[]): HTMLElement {
  const title = `${line.code}${line.modifiers.length ? `-${line.modifiers.join("-")}` : ""}`;
  return h(
    "li",
    { class: `coded-line ${kind}`, "data-code": line.code },
    h(
      "div",
      { class: "coded-line-head" },
      h("span", { class: "code" }, title),
      h("span", {}, `× ${line.units}`),
      line.diagnoses.length ? h("span", { class: "muted" }, `Dx ${line.diagnoses.join(", ")}`) : null,
      line.charge ? h("span", { class: "charge" }, `$${line.charge}`) : null,
    ),
    reasonsList(line.reasons, links, `Reasons for ${title}`),
    ...extra,
  );
}

export function heldCard(line: HeldLine, links: SourceLinks): HTMLElement {
  return h(
    "li",
    { class: "coded-line held", "data-code": line.code },
    h("div", { class: "coded-line-head" }, h("span", { class: "code" }, line.code), h("span", {}, `× ${line.units}`), h("span", { class: "pill pill-held" }, "Held")),
    h("p", { class: "held-query" }, line.query),
    reasonsList(line.reasons, links, `Reasons ${line.code} is held`),
  );
}

export function flagCard(flag: Flag, links: SourceLinks): HTMLElement {
  return h(
    "li",
    { class: "flag" },
    h("div", { class: "coded-line-head" }, h("span", { class: "flag-code" }, flag.code), flag.detail ? h("span", { class: "muted" }, flag.detail) : null),
    reasonsList(flag.reasons, links, `Reasons for flag ${flag.code}`),
  );
}

export function section(title: string, items: HTMLElement[], empty: string | null): HTMLElement | null {
  if (!items.length && empty === null) return null;
  return h(
    "section",
    { class: "result-section" },
    h("h3", {}, title),
    items.length ? h("ul", { class: "coded-lines", "aria-label": title }, items) : h("p", { class: "muted" }, empty ?? ""),
  );
}

export function renderExplanation(container: HTMLElement, result: ExplainResult, links: SourceLinks): void {
  if (result.__typename !== "ExplainResult") {
    container.replaceChildren(
      h(
        "div",
        { class: "callout error", role: "alert" },
        h("p", {}, result.message),
        result.__typename === "InvalidInput" && result.fields.length
          ? h("ul", {}, result.fields.map((f) => h("li", {}, h("code", {}, f.path), `: ${f.message}`)))
          : null,
      ),
    );
    return;
  }
  if (!result.coding) {
    container.replaceChildren(
      h(
        "div",
        { class: "callout error", role: "alert" },
        h("p", {}, "The rulebook has errors, so the encounter could not be coded:"),
        h("ul", {}, result.diagnostics.map((d) => h("li", {}, links.lineLink(d.line), ` ${d.message}`))),
      ),
    );
    return;
  }
  const coding = result.coding;
  replace(
    container,
    h("div", { class: "coding-status" }, "Coding status: ", h("span", { class: `pill pill-status-${coding.status}` }, coding.status.replace(/_/g, " "))),
    section("Claim lines", coding.claimLines.map((l) => lineCard(l, links, "claim")), "No claim lines."),
    section("Self-pay lines", coding.selfPayLines.map((l) => lineCard(l, links, "self-pay")), null),
    section("Held lines", coding.heldLines.map((l) => heldCard(l, links)), null),
    section("Flags", coding.flags.map((f) => flagCard(f, links)), null),
    result.trace.length
      ? h(
          "section",
          { class: "result-section" },
          h("h3", {}, "Rules of this rulebook that ran"),
          h(
            "ul",
            { class: "trace" },
            result.trace.map((t) =>
              h(
                "li",
                {},
                links.ruleLink(t.rule),
                h("span", { class: `pill pill-trace-${t.status}` }, t.status),
                t.actions.length ? h("span", { class: "muted" }, t.actions.join("; ")) : null,
              ),
            ),
          ),
        )
      : null,
  );
}

export function createTryPanel(options: {
  payer: string | null;
  text: () => string;
  links: SourceLinks;
}): TryPanel {
  let source: Source = "sample";
  const radios = (["sample", "recent", "paste"] as Source[]).map((value) => {
    const labels: Record<Source, string> = { sample: "Sample", recent: "Recent encounter", paste: "Paste JSON" };
    const input = h("input", { type: "radio", name: "encounter-source", value, id: `source-${value}`, checked: value === source });
    input.addEventListener("change", () => {
      source = value;
      update();
    });
    return h("label", { class: "radio", for: `source-${value}` }, input, labels[value]);
  });
  const preferred = SAMPLE_ENCOUNTERS.find((s) => s.payer === options.payer) ?? SAMPLE_ENCOUNTERS[0];
  const sampleSelect = h(
    "select",
    { id: "sample-encounter" },
    SAMPLE_ENCOUNTERS.map((s) => h("option", { value: s.id, selected: s.id === preferred.id }, s.title)),
  );
  const recentSelect = h("select", { id: "recent-encounter", disabled: true }, h("option", { value: "" }, "Loading…"));
  const pasted = h("textarea", {
    id: "pasted-encounter",
    rows: 10,
    spellcheck: "false",
    placeholder: '{"external_id": "...", "date_of_service": "2026-11-02", ...}',
  });
  const sampleField = h("div", { class: "field" }, h("label", { for: "sample-encounter" }, "Sample encounter"), sampleSelect);
  const recentField = h("div", { class: "field", hidden: true }, h("label", { for: "recent-encounter" }, "Choose a recent encounter"), recentSelect);
  const pasteField = h(
    "div",
    { class: "field", hidden: true },
    h("label", { for: "pasted-encounter" }, "Encounter JSON (as in docs/encounter.schema.json)"),
    pasted,
  );
  const button = h("button", { type: "submit", class: "button primary" }, "Try it");
  const results = h("div", { class: "explain-results", "aria-live": "polite" });
  const form = h(
    "form",
    { class: "try-form", "aria-label": "Choose an encounter" },
    h("fieldset", { class: "radios" }, h("legend", {}, "Encounter from"), radios),
    sampleField,
    recentField,
    pasteField,
    button,
  );
  let recentLoaded = false;

  async function loadRecent(): Promise<void> {
    recentLoaded = true;
    try {
      const data = await gql<{ encounters: { nodes: EncounterSummary[] } }>("RecentEncounters", { first: 20 });
      const nodes = data.encounters.nodes;
      recentSelect.replaceChildren(
        ...(nodes.length
          ? nodes.map((e) => h("option", { value: e.id }, `${e.externalId} · ${e.dateOfService} · ${e.payer}`))
          : [h("option", { value: "" }, "No encounters yet")]),
      );
      recentSelect.disabled = !nodes.length;
    } catch (error) {
      recentSelect.replaceChildren(h("option", { value: "" }, (error as Error).message));
    }
  }

  function update(): void {
    sampleField.hidden = source !== "sample";
    recentField.hidden = source !== "recent";
    pasteField.hidden = source !== "paste";
    if (source === "recent" && !recentLoaded) void loadRecent();
  }

  function variables(): Record<string, unknown> | string {
    if (source === "sample") {
      const sample = SAMPLE_ENCOUNTERS.find((s) => s.id === sampleSelect.value) ?? preferred;
      return { encounter: toEncounterInput(sample.encounter) };
    }
    if (source === "recent") {
      return recentSelect.value ? { encounterId: recentSelect.value } : "Choose an encounter first.";
    }
    try {
      const parsed = JSON.parse(pasted.value);
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return "The JSON must be one encounter object.";
      return { encounter: toEncounterInput(parsed) };
    } catch (error) {
      return `That is not valid JSON: ${(error as Error).message}`;
    }
  }

  async function run(): Promise<void> {
    const chosen = variables();
    if (typeof chosen === "string") {
      results.replaceChildren(h("div", { class: "callout error", role: "alert" }, chosen));
      return;
    }
    button.disabled = true;
    results.setAttribute("aria-busy", "true");
    try {
      const data = await gql<{ explainRulebook: ExplainResult }>("ExplainRulebook", { text: options.text(), ...chosen });
      renderExplanation(results, data.explainRulebook, options.links);
      const r = data.explainRulebook;
      announce(r.__typename === "ExplainResult" && r.coding ? `Coded: ${r.coding.claimLines.length} claim lines` : "The encounter could not be coded");
    } catch (error) {
      results.replaceChildren(h("div", { class: "callout error", role: "alert" }, (error as Error).message));
    } finally {
      button.disabled = false;
      results.removeAttribute("aria-busy");
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void run();
  });
  return { element: h("div", { class: "try-panel" }, form, results), run };
}
