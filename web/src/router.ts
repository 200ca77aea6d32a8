// History-API routing with a guard that asks before leaving unsaved work.

type Guard = () => boolean;
let guard: Guard | null = null;
let renderRoute: () => void = () => {};
let currentPath = location.pathname + location.search;

export function startRouter(render: () => void): void {
  renderRoute = render;
  window.addEventListener("popstate", () => {
    const target = location.pathname + location.search;
    if (guard && !guard()) {
      history.pushState(null, "", currentPath); // stay on the page with unsaved work
      return;
    }
    currentPath = target;
    render();
  });
  document.addEventListener("click", (event) => {
    const link = (event.target as Element | null)?.closest?.("a[data-route]") as HTMLAnchorElement | null;
    if (!link || event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(link.getAttribute("href") ?? "/");
  });
  render();
}

/** Set the check that runs before leaving the current screen (null: leave freely). */
export function setLeaveGuard(check: Guard | null): void {
  guard = check;
}

/** Whether the current screen may be left now (asks about unsaved work). */
export function mayLeave(): boolean {
  return !guard || guard();
}

export function navigate(path: string, { replace = false, force = false } = {}): void {
  if (!force && guard && !guard()) return;
  guard = null;
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  currentPath = path;
  renderRoute();
}
