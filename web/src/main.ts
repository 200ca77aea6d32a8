// The rule editor's entry point: who is logged in, then one screen per route.
import { NotLoggedIn, chooseClinic, gql } from "./api/client";
import type { Me } from "./api/types";
import { h } from "./dom";
import { mayLeave, navigate, setLeaveGuard, startRouter } from "./router";
import { renderClinics } from "./screens/clinics";
import { renderCoding } from "./screens/coding";
import { renderCompare } from "./screens/compare";
import { renderEncounters } from "./screens/encounters";
import { renderLogin } from "./screens/login";
import { renderPayers } from "./screens/payers";
import { renderQueries } from "./screens/queries";
import { renderReplay } from "./screens/replay";
import { renderShadow } from "./screens/shadow";
import { renderRulebook } from "./screens/rulebook";
import { renderShell } from "./screens/shell";
import { renderVersions } from "./screens/versions";
import "./styles.css";

const root = document.getElementById("app") as HTMLElement;
let me: Me | null = null;

async function currentUser(): Promise<Me | null> {
  try {
    const data = await gql<{ me: Me }>("Me");
    return data.me.userId ? data.me : null;
  } catch (error) {
    if (error instanceof NotLoggedIn) return null;
    throw error;
  }
}

/** A request found the session gone: back to the login screen, then back here. */
export function sessionEnded(): void {
  me = null;
  setLeaveGuard(null);
  navigate(`/login?next=${encodeURIComponent(location.pathname)}`, { replace: true, force: true });
}

async function render(): Promise<void> {
  const path = location.pathname;
  if (me === null) {
    try {
      me = await currentUser();
    } catch (error) {
      root.replaceChildren(h("p", { class: "page-error", role: "alert" }, (error as Error).message));
      return;
    }
  }
  if (path === "/login" || me === null) {
    if (me !== null) return navigate("/", { replace: true });
    const next = path === "/login" ? new URLSearchParams(location.search).get("next") : path;
    if (path !== "/login") history.replaceState(null, "", `/login?next=${encodeURIComponent(path)}`);
    renderLogin(root, async () => {
      me = await currentUser();
      navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/", { replace: true });
    });
    return;
  }
  const main = renderShell(root, me, async () => {
    if (!mayLeave()) return;
    try {
      await gql("Logout");
    } finally {
      me = null;
      chooseClinic(null);
      navigate("/login", { replace: true, force: true });
    }
  });
  if (path === "/clinics" || me.currentTenantId === null) {
    // Onboarding staff always name a clinic, and so does a person with several: the choice travels
    // with every request (X-Cutis-Tenant), then the screen asked for opens.
    const next = path === "/clinics" ? "/" : location.pathname + location.search;
    renderClinics(main, me, async () => {
      me = await currentUser();
      navigate(next, { replace: true, force: true });
    });
    return;
  }
  const encounterMatch = path.match(/^\/encounters\/([^/]+)$/);
  if (path === "/encounters") return renderEncounters(main);
  if (encounterMatch) return renderCoding(main, decodeURIComponent(encounterMatch[1]), me);
  if (path === "/queries") return renderQueries(main, me);
  const rulebookMatch = path.match(/^\/rulebooks\/([^/]+)(?:\/(versions|compare|replay|shadow))?$/);
  const rulebookId = rulebookMatch ? decodeURIComponent(rulebookMatch[1]) : null;
  if (rulebookId && rulebookMatch?.[2] === "versions") await renderVersions(main, rulebookId, me);
  else if (rulebookId && rulebookMatch?.[2] === "compare") await renderCompare(main, rulebookId);
  else if (rulebookId && rulebookMatch?.[2] === "replay") await renderReplay(main, rulebookId);
  else if (rulebookId && rulebookMatch?.[2] === "shadow") await renderShadow(main, rulebookId);
  else if (rulebookId) await renderRulebook(main, rulebookId);
  else await renderPayers(main, me);
}

startRouter(() => {
  render().catch((error) => {
    if (error instanceof NotLoggedIn) sessionEnded();
    else root.replaceChildren(h("p", { class: "page-error", role: "alert" }, String(error?.message ?? error)));
  });
});
