// The payers screen: each payer of the clinic with its rulebooks and their status.
import { gql } from "../api/client";
import type { Me, Payer, Rulebook, RulebookTemplate } from "../api/types";
import { announce, formatDateTime, h } from "../dom";
import { renderReviewDelegation } from "../panels/reviewDelegation";
import { adoptTemplate, loadTemplates, renderTemplates } from "../panels/templates";
import { navigate } from "../router";
import { focusHeading } from "./shell";

interface ClinicRulebooks {
  clinic: { name: string; payers: Payer[] };
  rulebooks: Rulebook[];
}

const PLAN_TYPES: Record<string, string> = {
  commercial: "Commercial",
  medicare_ffs: "Medicare (fee for service)",
  medicare_advantage: "Medicare Advantage",
  medicaid: "Medicaid",
  self_pay: "Self-pay",
};

/** The effective dates written in a rulebook's header (`effective 2026-01-01 until ...`): not a
 * rule's own dates, which come after the header's first item. */
export function effectiveDates(text: string): string {
  const header = text.split(/^(?:rule|table|valueset|criteria|test|disable)\b/m)[0];
  const match = header.match(/^\s*effective\s+(\d{4}-\d{2}-\d{2})(?:\s+until\s+(\d{4}-\d{2}-\d{2}))?/m);
  if (!match) return "No effective date";
  return match[2] ? `${match[1]} to ${match[2]}` : `From ${match[1]}`;
}

function statusBadge(status: string): HTMLElement {
  return h("span", { class: `badge badge-${status}` }, status === "draft" ? "Draft" : status);
}

function rulebookItem(rulebook: Rulebook): HTMLElement {
  return h(
    "li",
    { class: "rulebook-item" },
    h("a", { href: `/rulebooks/${encodeURIComponent(rulebook.id)}`, "data-route": "", class: "rulebook-link" }, rulebook.name),
    h(
      "div",
      { class: "rulebook-meta" },
      statusBadge(rulebook.status),
      h("span", {}, "Not published"),
      h("span", {}, effectiveDates(rulebook.draftText)),
      h("span", {}, `Revision ${rulebook.draftRevision}, saved ${formatDateTime(rulebook.draftUpdatedAt)}`),
    ),
  );
}

async function createRulebook(payer: Payer): Promise<void> {
  const name = `${payer.name} rules`;
  const text = `rulebook "${name}" for payer ${payer.code}\n  extends "National base"\n`;
  const data = await gql<{ createRulebook: { __typename: string; id?: string; message?: string } }>("CreateRulebook", {
    name,
    payer: payer.code,
    text,
  });
  const result = data.createRulebook;
  if (result.__typename === "Rulebook" && result.id) navigate(`/rulebooks/${encodeURIComponent(result.id)}`);
  else announce(result.message ?? "The rulebook could not be created.");
}

export async function renderPayers(main: HTMLElement, me: Me): Promise<void> {
  document.title = "Payers · cutis";
  main.replaceChildren(h("p", { class: "loading", role: "status" }, "Loading your payers…"));
  const [data, templates] = await Promise.all([gql<ClinicRulebooks>("ClinicRulebooks"), loadTemplates()]);
  const canWrite = me.permissions.includes("rulebooks:write");
  const adopted = new Set(data.rulebooks.map((r) => r.name));
  const byPayer = new Map<string, Rulebook[]>();
  for (const rulebook of data.rulebooks) {
    const key = rulebook.payer ?? "";
    byPayer.set(key, [...(byPayer.get(key) ?? []), rulebook]);
  }
  const rows = data.clinic.payers.map((payer) => {
    const rulebooks = byPayer.get(payer.code) ?? [];
    return h(
      "tr",
      {},
      h("th", { scope: "row" }, h("div", { class: "payer-name" }, payer.name), h("div", { class: "payer-code" }, payer.code)),
      h("td", {}, PLAN_TYPES[payer.planType] ?? payer.planType),
      h(
        "td",
        {},
        rulebooks.length
          ? h("ul", { class: "rulebook-list", "aria-label": `Rulebooks for ${payer.name}` }, rulebooks.map(rulebookItem))
          : h(
              "div",
              { class: "no-rulebook" },
              h("span", { class: "muted" }, "No payer rules: the national base applies."),
              templateOffers(payer),
              h(
                "button",
                {
                  type: "button",
                  class: "button subtle small",
                  "aria-label": `Create a rulebook for ${payer.name}`,
                  onclick: () => void createRulebook(payer),
                },
                "Create rulebook",
              ),
            ),
      ),
    );
  });
  /** "Create rulebook" offers the payer's shipped templates first: a start that already has the payer's policies. */
  function templateOffers(payer: Payer): HTMLElement[] {
    if (!canWrite) return [];
    const outcome = h("div", { class: "outcome" });
    const offered = templates.filter((t: RulebookTemplate) => t.payer === payer.code && !adopted.has(t.name));
    const buttons = offered.map((template) => {
      const button = h("button", { type: "button", class: "button small", "aria-label": `Start ${payer.name} from ${template.name}` }, `Start from ${template.name}`);
      button.addEventListener("click", () => void adoptTemplate(template, button, outcome));
      return button;
    });
    return buttons.length ? [...buttons, outcome] : [];
  }
  const clinicRulebooks = byPayer.get("") ?? [];
  const templatesSection = h("section", { class: "templates", "aria-labelledby": "templates-title" });
  const delegation = h("section", { class: "review-delegation", "aria-labelledby": "review-delegation-title" });
  main.replaceChildren(
    h(
      "div",
      { class: "page" },
      h("div", { class: "page-heading" }, h("h1", {}, "Payers and rulebooks"), h("p", { class: "muted" }, data.clinic.name)),
      h(
        "table",
        { class: "payers-table" },
        h("caption", { class: "visually-hidden" }, "Your clinic's payers, their plan type and their rulebooks"),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Payer"), h("th", { scope: "col" }, "Plan type"), h("th", { scope: "col" }, "Rulebooks"))),
        h("tbody", {}, rows),
      ),
      clinicRulebooks.length
        ? h("section", { "aria-labelledby": "clinic-rules" }, h("h2", { id: "clinic-rules" }, "Clinic rules (all payers)"), h("ul", { class: "rulebook-list" }, clinicRulebooks.map(rulebookItem)))
        : null,
      templatesSection,
      delegation,
    ),
  );
  focusHeading(main);
  if (me.role === "owner") void renderReviewDelegation(delegation);
  renderTemplates(templatesSection, templates, data.rulebooks, canWrite);
}
