// Choose the clinic to work in: for onboarding staff (who always name one) and for people with
// several clinics. The choice travels with every request as the X-Cutis-Tenant header.
import { chooseClinic } from "../api/client";
import type { Me } from "../api/types";
import { h } from "../dom";
import { focusHeading } from "./shell";

const ROLES: Record<string, string> = {
  owner: "Owner",
  practice_manager: "Practice manager",
  compliance_reviewer: "Compliance reviewer",
  biller: "Biller",
  onboarding: "Onboarding staff",
  read_only: "Read only",
};

export function renderClinics(main: HTMLElement, me: Me, chosen: () => void): void {
  document.title = "Choose a clinic · cutis";
  const items = me.memberships.map((membership) =>
    h(
      "li",
      {},
      h(
        "button",
        {
          type: "button",
          class: "button",
          "aria-current": membership.tenantId === me.currentTenantId ? "true" : null,
          onclick: () => {
            chooseClinic(membership.tenantId);
            chosen();
          },
        },
        membership.tenantName,
      ),
      h("span", { class: "muted" }, ` ${ROLES[membership.role] ?? membership.role}`),
    ),
  );
  main.replaceChildren(
    h(
      "div",
      { class: "page" },
      h("div", { class: "page-heading" }, h("h1", {}, "Choose a clinic")),
      me.memberships.length
        ? h("ul", { class: "clinic-list", "aria-label": "Your clinics" }, items)
        : h("p", { class: "callout" }, "No clinic has granted you access yet."),
    ),
  );
  focusHeading(main);
}
