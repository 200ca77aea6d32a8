// The shipped templates: adopt one as your clinic's draft (it opens in the editor).
// "Update available" needs the release a rulebook was adopted at, which the API does not expose yet.
import { gql } from "../api/client";
import type { Refusal, Rulebook, RulebookTemplate } from "../api/types";
import { h } from "../dom";
import { navigate } from "../router";
import { shortHash } from "./versionHistory";
import { renderFailure, renderRefusal } from "./refusal";

type AdoptResult = { __typename: "Rulebook"; id: string } | Refusal;

const LAYERS: Record<string, string> = { base: "Base for every payer", payer: "Payer rules", clinic: "Clinic rules" };

export function loadTemplates(): Promise<RulebookTemplate[]> {
  return gql<{ rulebookTemplates: RulebookTemplate[] }>("RulebookTemplates").then((data) => data.rulebookTemplates);
}

/** Adopt a template and open the new draft; a refusal is shown in `outcome`. */
export async function adoptTemplate(template: RulebookTemplate, button: HTMLButtonElement, outcome: HTMLElement): Promise<void> {
  button.disabled = true;
  try {
    const result = (await gql<{ adoptTemplate: AdoptResult }>("AdoptTemplate", { name: template.name })).adoptTemplate;
    if (result.__typename === "Rulebook") navigate(`/rulebooks/${encodeURIComponent(result.id)}`);
    else outcome.replaceChildren(renderRefusal(`Adopt ${template.name}`, result));
  } catch (error) {
    outcome.replaceChildren(renderFailure(`Adopt ${template.name}`, error as Error));
  } finally {
    button.disabled = false;
  }
}

export function renderTemplates(section: HTMLElement, templates: RulebookTemplate[], rulebooks: Rulebook[], canWrite: boolean): void {
  const outcome = h("div", { class: "outcome" });
  const byName = new Map(rulebooks.map((r) => [r.name, r]));
  const adopt = (template: RulebookTemplate, button: HTMLButtonElement) => adoptTemplate(template, button, outcome);

  section.replaceChildren(
    h("h2", { id: "templates-title" }, "Shipped templates"),
    h("p", { class: "muted" }, "Start from a template: adopting copies it into a draft of your clinic, which you edit, submit for review and publish."),
    outcome,
    h(
      "ul",
      { class: "template-list", "aria-labelledby": "templates-title" },
      templates.map((template) => {
        const adopted = byName.get(template.name);
        const button = h("button", { type: "button", class: "button small", "aria-label": `Adopt ${template.name}` }, "Adopt");
        button.addEventListener("click", () => void adopt(template, button));
        return h(
          "li",
          { class: "template-item" },
          h("div", { class: "template-name" }, template.name),
          h(
            "div",
            { class: "rulebook-meta" },
            h("span", {}, template.payer ? `${LAYERS[template.layer] ?? template.layer}: ${template.payer}` : (LAYERS[template.layer] ?? template.layer)),
            h("span", {}, "Release ", h("code", { title: template.version }, shortHash(template.version))),
          ),
          adopted
            ? h("a", { href: `/rulebooks/${encodeURIComponent(adopted.id)}`, "data-route": "", class: "template-adopted" }, "Your rulebook")
            : canWrite
              ? button
              : null,
        );
      }),
    ),
  );
}
