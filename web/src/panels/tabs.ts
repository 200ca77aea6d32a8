// An accessible tab set (WAI-ARIA tabs pattern): arrow keys, Home and End move between tabs.
import { h } from "../dom";

export interface TabSpec {
  id: string;
  label: string;
  panel: HTMLElement;
}

export interface Tabs {
  element: HTMLElement;
  select(id: string, focus?: boolean): void;
  setLabel(id: string, label: string): void;
}

export function createTabs(name: string, specs: TabSpec[]): Tabs {
  const buttons = new Map<string, HTMLButtonElement>();
  const list = h("div", { role: "tablist", "aria-label": name, class: "tablist" });
  const panels = h("div", { class: "tabpanels" });
  for (const spec of specs) {
    const button = h(
      "button",
      { type: "button", role: "tab", id: `tab-${spec.id}`, "aria-controls": `panel-${spec.id}`, class: "tab" },
      spec.label,
    );
    button.addEventListener("click", () => select(spec.id, false));
    buttons.set(spec.id, button);
    list.append(button);
    spec.panel.id = `panel-${spec.id}`;
    spec.panel.setAttribute("role", "tabpanel");
    spec.panel.setAttribute("aria-labelledby", `tab-${spec.id}`);
    spec.panel.setAttribute("tabindex", "0");
    spec.panel.classList.add("tabpanel");
    panels.append(spec.panel);
  }
  list.addEventListener("keydown", (event) => {
    const ids = specs.map((s) => s.id);
    const current = ids.findIndex((id) => buttons.get(id) === document.activeElement);
    if (current < 0) return;
    const next: Record<string, number> = {
      ArrowRight: (current + 1) % ids.length,
      ArrowLeft: (current - 1 + ids.length) % ids.length,
      Home: 0,
      End: ids.length - 1,
    };
    if (event.key in next) {
      event.preventDefault();
      select(ids[next[event.key]], true);
    }
  });

  function select(id: string, focus = false): void {
    for (const spec of specs) {
      const selected = spec.id === id;
      const button = buttons.get(spec.id)!;
      button.setAttribute("aria-selected", String(selected));
      button.tabIndex = selected ? 0 : -1;
      spec.panel.hidden = !selected;
      if (selected && focus) button.focus();
    }
  }
  select(specs[0].id);
  return {
    element: h("div", { class: "tabs" }, list, panels),
    select,
    setLabel: (id, label) => {
      buttons.get(id)!.textContent = label;
    },
  };
}
