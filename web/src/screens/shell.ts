// The frame around every screen after login: the product name, where you are, who you are.
import type { Me } from "../api/types";
import { h } from "../dom";

/** A main navigation link, marked as the current page for screen readers when it is. */
function navLink(path: string, label: string): HTMLElement {
  const current = path === "/" ? location.pathname === "/" || location.pathname.startsWith("/rulebooks") : location.pathname.startsWith(path);
  return h("a", { href: path, "data-route": "", "aria-current": current ? "page" : null }, label);
}

export function renderShell(root: HTMLElement, me: Me, onLogout: () => void): HTMLElement {
  const clinic = me.memberships.find((m) => m.tenantId === me.currentTenantId) ?? me.memberships[0];
  const main = h("main", { id: "main", tabindex: "-1" });
  root.replaceChildren(
    h(
      "header",
      { class: "appbar" },
      h("a", { class: "brand", href: "/", "data-route": "" }, h("span", { class: "brand-mark", "aria-hidden": "true" }, "c"), "cutis"),
      h(
        "nav",
        { "aria-label": "Main" },
        navLink("/encounters", "Encounters"),
        navLink("/queries", "Provider queries"),
        navLink("/", "Payers and rulebooks"),
      ),
      h(
        "div",
        { class: "appbar-user" },
        h("span", { class: "user-name" }, me.name ?? me.email ?? ""),
        clinic && me.currentTenantId ? h("span", { class: "user-clinic" }, clinic.tenantName) : null,
        me.memberships.length > 1 || me.role === "onboarding"
          ? h("a", { class: "button subtle", href: "/clinics", "data-route": "" }, "Switch clinic")
          : null,
        h("button", { type: "button", class: "button subtle", onclick: onLogout }, "Log out"),
      ),
    ),
    main,
  );
  return main;
}

/** After a route change, move focus to the new screen's heading so screen readers follow. */
export function focusHeading(container: HTMLElement): void {
  const heading = container.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
}
