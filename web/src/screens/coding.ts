// A coding page: one stored encounter version and its latest coding: claim, self-pay and held
// lines with modifiers, diagnosis pointers and charges; every reason linked to the rulebook version
// and line that produced it; the rulebook versions used; the encounter's versions; the overrides,
// and (for those allowed) a form to override a claim line with a reason.
import { gql } from "../api/client";
import type {
  CodedLine,
  EncounterCodingResult,
  EncounterListItem,
  LineOverride,
  Me,
  Refusal,
  StoredCoding,
  StoredEncounter,
  StoredRuleRef,
} from "../api/types";
import { announce, formatDateTime, h, replace } from "../dom";
import { renderNote } from "../panels/noteEvidence";
import { renderFailure, renderRefusal } from "../panels/refusal";
import type { SourceLinks } from "../panels/tests";
import { flagCard, heldCard, lineCard, section } from "../panels/tryEncounter";
import { codingBadge, encounterPath } from "./encounters";
import { focusHeading } from "./shell";

type OverrideResult = (LineOverride & { __typename: "LineOverride" }) | Refusal;
interface ReplacementLine {
  code: string;
  units: number;
  modifiers: string[];
  diagnoses: string[];
}

export function lineTitle(line: { code: string; modifiers?: string[]; units: number }): string {
  const modifiers = line.modifiers?.length ? `-${line.modifiers.join("-")}` : "";
  return `${line.code}${modifiers} × ${line.units}`;
}

/** "25, xs" -> ["25", "XS"]: the form's comma-separated lists as the API takes them. */
export function splitList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((part) => part.trim().toUpperCase())
    .filter(Boolean);
}

/** Reasons link to the published version of the clinic's rulebook that coded, at the rule's line. */
function storedLinks(coding: StoredCoding, clinicRulebooks: { id: string; name: string }[]): SourceLinks {
  const plain = (text: string) => h("span", {}, text);
  return {
    lineLink: (line) => plain(`line ${line}`),
    ruleLink: (ruleId) => plain(ruleId),
    reasonSource(rule: StoredRuleRef) {
      const used = coding.rulebooks.find((r) => r.name === rule.rulebook);
      const rulebook = clinicRulebooks.find((r) => r.name === rule.rulebook);
      const where = rule.span ? `, line ${rule.span.line}` : "";
      const text = `${rule.rulebook}${where}`;
      const target =
        rulebook && used?.versionId
          ? h(
              "a",
              {
                href: `/rulebooks/${encodeURIComponent(rulebook.id)}/versions?version=${encodeURIComponent(used.versionId)}`,
                "data-route": "",
                class: "rule-link",
                title: `${rule.ruleId} in the published version that coded (${rule.version.slice(0, 12)})`,
              },
              rule.ruleId,
            )
          : h("code", { class: "rule-id", title: `version ${rule.version.slice(0, 12)}` }, rule.ruleId);
      return h("span", { class: "reason-source" }, target, h("span", { class: "muted" }, ` ${text}`));
    },
  };
}

function overrideForm(
  coding: StoredCoding,
  line: CodedLine,
  index: number,
  onDone: (result: LineOverride) => void,
): HTMLElement {
  const id = (name: string) => `override-${index}-${name}`;
  const input = (name: string, value: string, attributes: Record<string, string> = {}) =>
    h("input", { id: id(name), name, value, autocomplete: "off", ...attributes });
  const code = input("code", line.code, { required: "true" });
  const units = input("units", String(line.units), { type: "number", min: "1", max: "999", required: "true" });
  const modifiers = input("modifiers", line.modifiers.join(", "));
  const diagnoses = input("diagnoses", line.diagnoses.join(", "));
  const reason = h("textarea", { id: id("reason"), name: "reason", rows: 2, required: true });
  const outcome = h("div", { class: "outcome", "aria-live": "polite" });
  const fields: Record<string, HTMLInputElement | HTMLTextAreaElement> = {
    "line.code": code,
    "line.units": units,
    "line.modifiers": modifiers,
    "line.diagnoses": diagnoses,
    reason,
  };
  const field = (label: string, control: HTMLElement, name: string) =>
    h("div", { class: "field" }, h("label", { for: id(name) }, label), control);
  const submit = h("button", { type: "submit", class: "button primary" }, "Replace the line");
  const title = lineTitle(line);
  const form = h(
    "form",
    { class: "override-form", "aria-label": `Override ${title}` },
    h(
      "div",
      { class: "override-row" },
      field("Code", code, "code"),
      field("Units", units, "units"),
      field("Modifiers", modifiers, "modifiers"),
      field("Diagnosis pointers", diagnoses, "diagnoses"),
    ),
    field("Reason (kept with the override, audited)", reason, "reason"),
    submit,
    outcome,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const control of Object.values(fields)) control.removeAttribute("aria-invalid");
    const replacement: ReplacementLine = {
      code: code.value.trim().toUpperCase(),
      units: Number(units.value),
      modifiers: splitList(modifiers.value),
      diagnoses: splitList(diagnoses.value),
    };
    submit.disabled = true;
    try {
      const data = await gql<{ overrideLine: OverrideResult }>("OverrideLine", {
        codingId: coding.id,
        lineIndex: index,
        line: replacement,
        reason: reason.value,
      });
      const result = data.overrideLine;
      if (result.__typename === "LineOverride") {
        onDone(result);
        return;
      }
      replace(outcome, renderRefusal(`Override ${title}`, result));
      const first = result.__typename === "InvalidInput" ? result.fields[0] : undefined;
      const control = first ? fields[first.path] : undefined;
      if (control) {
        control.setAttribute("aria-invalid", "true");
        control.focus();
      }
    } catch (error) {
      replace(outcome, renderFailure(`Override ${title}`, error as Error));
    } finally {
      submit.disabled = false;
    }
  });
  return h(
    "details",
    { class: "override" },
    h("summary", { class: "button subtle small" }, `Override ${title}`),
    form,
  );
}

function overrideItem(override: LineOverride, coding: StoredCoding, me: Me): HTMLElement {
  const who = !override.actorUserId ? "an API key" : override.actorUserId === me.userId ? "you" : "a colleague";
  return h(
    "li",
    { class: "override-item", "data-line": String(override.lineIndex + 1) },
    h(
      "div",
      { class: "override-change" },
      h("span", {}, `Line ${override.lineIndex + 1}: `),
      h("del", { class: "override-original", "aria-label": "Engine's line" }, lineTitle(override.original)),
      h("span", { "aria-hidden": "true" }, " → "),
      h("ins", { class: "override-replacement", "aria-label": "Replacement" }, lineTitle(override.replacement)),
      override.replacement.diagnoses.length ? h("span", { class: "muted" }, ` Dx ${override.replacement.diagnoses.join(", ")}`) : null,
    ),
    h("blockquote", { class: "override-reason" }, override.reason),
    h("p", { class: "muted override-meta" }, `By ${who}, ${formatDateTime(override.createdAt)}`),
    coding.claimLines[override.lineIndex] ? null : h("p", { class: "muted" }, "The line is no longer in this coding."),
  );
}

function versionsTable(current: StoredEncounter, versions: EncounterListItem[]): HTMLElement {
  const ordered = [...versions].sort((a, b) => b.version - a.version);
  return h(
    "table",
    { class: "versions-table encounter-versions" },
    h("caption", {}, "Versions of this encounter"),
    h(
      "thead",
      {},
      h("tr", {}, ["Version", "Received", "Status", "Claim lines"].map((t) => h("th", { scope: "col" }, t))),
    ),
    h(
      "tbody",
      {},
      ordered.map((version) =>
        h(
          "tr",
          { class: version.id === current.id ? "selected" : "" },
          h(
            "th",
            { scope: "row" },
            version.id === current.id
              ? h("span", { "aria-current": "page" }, `Version ${version.version} (this one)`)
              : h("a", { href: encounterPath(version.id), "data-route": "" }, `Version ${version.version}`),
          ),
          h("td", {}, formatDateTime(version.createdAt)),
          h("td", {}, codingBadge(version.coding?.status ?? null, version.status)),
          h("td", {}, version.coding ? version.coding.claimLines.map((l) => l.code).join(", ") || "none" : "not coded"),
        ),
      ),
    ),
  );
}

function rulebooksUsed(coding: StoredCoding, clinicRulebooks: { id: string; name: string }[]): HTMLElement {
  return h(
    "section",
    { class: "result-section", "aria-labelledby": "rulebooks-used" },
    h("h2", { id: "rulebooks-used" }, "Rulebooks used"),
    h(
      "ul",
      { class: "rulebooks-used" },
      coding.rulebooks.map((used) => {
        const rulebook = clinicRulebooks.find((r) => r.name === used.name);
        const label = `${used.name}`;
        return h(
          "li",
          {},
          rulebook && used.versionId
            ? h("a", { href: `/rulebooks/${encodeURIComponent(rulebook.id)}/versions?version=${encodeURIComponent(used.versionId)}`, "data-route": "" }, label)
            : h("span", {}, label),
          " ",
          h("code", { title: used.version }, used.version.slice(0, 12)),
          used.versionId ? null : h("span", { class: "muted" }, " (shipped template: no published version of yours)"),
        );
      }),
    ),
    coding.releases
      ? h("p", { class: "muted" }, `Engine ${coding.releases.engine}, vocabulary ${coding.releases.vocabulary}`)
      : null,
  );
}

export async function renderCoding(main: HTMLElement, encounterId: string, me: Me): Promise<void> {
  document.title = "Coding · cutis";
  main.replaceChildren(h("p", { class: "loading", role: "status" }, "Loading the coding…"));
  const canOverride = me.permissions.includes("codings:override");
  const data = await gql<{ encounter: EncounterCodingResult; rulebooks: { id: string; name: string }[] }>(
    "EncounterCoding",
    { id: encounterId },
  );
  const found = data.encounter;
  if (found.__typename !== "Encounter") {
    main.replaceChildren(
      h(
        "div",
        { class: "page" },
        h("h1", {}, "Encounter not found"),
        h("p", {}, found.message),
        h("a", { href: "/encounters", "data-route": "" }, "Back to the encounters"),
      ),
    );
    focusHeading(main);
    return;
  }
  const encounter = found;
  const history = await gql<{ encounters: { nodes: EncounterListItem[] } }>("EncounterList", {
    filter: { externalId: encounter.externalId },
    first: 100,
  });
  document.title = `${encounter.externalId} · cutis`;
  const coding = encounter.coding;
  const facts = h(
    "dl",
    { class: "version-facts" },
    h("dt", {}, "Date of service"),
    h("dd", {}, encounter.dateOfService),
    h("dt", {}, "Payer"),
    h("dd", {}, encounter.payer),
    h("dt", {}, "Received"),
    h("dd", {}, formatDateTime(encounter.createdAt)),
    h("dt", {}, "Status"),
    h("dd", { id: "coding-status" }, codingBadge(coding?.status ?? null, encounter.status)),
    coding ? [h("dt", {}, "Coded"), h("dd", {}, formatDateTime(coding.codedAt))] : null,
  );
  const heading = h(
    "div",
    { class: "page-heading" },
    h("p", { class: "breadcrumb" }, h("a", { href: "/encounters", "data-route": "" }, "Encounters")),
    h("h1", {}, `Encounter ${encounter.externalId}, version ${encounter.version}`),
    facts,
  );
  if (!coding) {
    main.replaceChildren(
      h("div", { class: "page wide" }, heading, h("p", { class: "callout" }, "Not coded yet: the coding appears here when the background job finishes."), renderNote(encounter.note, null), versionsTable(encounter, history.encounters.nodes)),
    );
    focusHeading(main);
    return;
  }
  const links = storedLinks(coding, data.rulebooks);
  const overridden = new Map(coding.overrides.map((o) => [o.lineIndex, o]));
  const refresh = (message: string) => {
    void renderCoding(main, encounterId, me).then(() => announce(message));
  };
  const claimCards = coding.claimLines.map((line, index) => {
    const override = overridden.get(index);
    const note = override
      ? h("p", { class: "overridden-note" }, h("strong", {}, "Overridden: "), `billed as ${lineTitle(override.replacement)}. `, override.reason)
      : null;
    const form = canOverride
      ? overrideForm(coding, line, index, (result) =>
          refresh(`Line ${index + 1} overridden: ${lineTitle(result.original)} replaced by ${lineTitle(result.replacement)}.`),
        )
      : null;
    const card = lineCard(line, links, override ? "claim overridden" : "claim", note, form);
    card.setAttribute("aria-label", `Claim line ${index + 1}: ${lineTitle(line)}`);
    return card;
  });
  const heldQueries = coding.heldLines.length
    ? h(
        "p",
        {},
        h("a", { href: `/queries?q=${encodeURIComponent(encounter.externalId)}`, "data-route": "" }, "Work the provider queries of this encounter"),
      )
    : null;
  main.replaceChildren(
    h(
      "div",
      { class: "page wide coding-page" },
      heading,
      h(
        "div",
        { class: "coding-layout" },
        h(
          "div",
          { class: "coding-lines" },
          section("Claim lines", claimCards, "No claim lines."),
          section("Self-pay lines", coding.selfPayLines.map((l) => lineCard(l, links, "self-pay")), null),
          section("Held lines", coding.heldLines.map((l) => heldCard(l, links)), null),
          heldQueries,
          section("Flags", coding.flags.map((f) => flagCard(f, links)), null),
          renderNote(encounter.note, coding),
        ),
        h(
          "aside",
          { class: "coding-side" },
          h(
            "section",
            { class: "result-section", "aria-labelledby": "overrides-title" },
            h("h2", { id: "overrides-title" }, "Overrides"),
            coding.overrides.length
              ? h("ul", { class: "overrides", "aria-label": "Overrides" }, coding.overrides.map((o) => overrideItem(o, coding, me)))
              : h("p", { class: "muted" }, canOverride ? "None. Override a claim line from its card." : "None."),
          ),
          rulebooksUsed(coding, data.rulebooks),
          versionsTable(encounter, history.encounters.nodes),
        ),
      ),
    ),
  );
  focusHeading(main);
}
