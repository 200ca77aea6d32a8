// The encounters screen: the clinic's encounter versions, newest first, narrowed by date, payer,
// provider (NPI), processing status, coding status and an external id; each with its coding's status badge; more pages by cursor.
import { gql } from "../api/client";
import type { EncounterListItem, PageInfo } from "../api/types";
import { announce, formatDateTime, h, replace } from "../dom";
import { navigate } from "../router";
import { focusHeading } from "./shell";

const PAGE_SIZE = 25;
const MAX_PAGE_SIZE = 100; // the API's own limit

/** How many rows a page holds: `?per=N` (1 to 100), else 25. */
function pageSize(): number {
  const per = Number(new URLSearchParams(location.search).get("per"));
  return Number.isInteger(per) && per >= 1 && per <= MAX_PAGE_SIZE ? per : PAGE_SIZE;
}
const CODING_STATUS: Record<string, string> = {
  ready: "Ready",
  held: "Held",
  needs_prior_auth: "Needs prior auth",
  needs_review: "Needs review",
};
const PROCESSING: Record<string, string> = { received: "Received", queued: "Queued", coded: "Coded" };
/** The filters and the URL parameter each one is kept in (a reload or a shared link keeps them). */
const FILTERS = [
  ["externalId", "q"],
  ["dateFrom", "from"],
  ["dateTo", "to"],
  ["payer", "payer"],
  ["providerNpi", "provider"],
  ["status", "status"],
  ["codingStatus", "coding"],
] as const;
type FilterName = (typeof FILTERS)[number][0];

/** A coding's status as a badge (or the encounter's processing status before it is coded). */
export function codingBadge(status: string | null, processing: string): HTMLElement {
  if (status === null) return h("span", { class: "badge badge-processing" }, PROCESSING[processing] ?? processing);
  return h("span", { class: `badge badge-coding-${status}` }, CODING_STATUS[status] ?? status.replace(/_/g, " "));
}

export function encounterPath(id: string): string {
  return `/encounters/${encodeURIComponent(id)}`;
}

function filtersFromUrl(): Partial<Record<FilterName, string>> {
  const params = new URLSearchParams(location.search);
  const chosen: Partial<Record<FilterName, string>> = {};
  for (const [name, param] of FILTERS) {
    const value = params.get(param)?.trim();
    if (value) chosen[name] = value;
  }
  return chosen;
}

function row(encounter: EncounterListItem): HTMLElement {
  const coding = encounter.coding;
  const codes = coding ? coding.claimLines.map((l) => l.code) : [];
  return h(
    "tr",
    {},
    h("th", { scope: "row" }, h("a", { href: encounterPath(encounter.id), "data-route": "" }, encounter.externalId)),
    h("td", {}, String(encounter.version)),
    h("td", {}, encounter.dateOfService),
    h("td", {}, encounter.payer),
    h("td", {}, encounter.providerNpi),
    h("td", {}, codingBadge(coding?.status ?? null, encounter.status)),
    h(
      "td",
      { class: "encounter-codes" },
      codes.length ? codes.join(", ") : h("span", { class: "muted" }, coding ? "No claim lines" : "Not coded yet"),
      coding?.heldLines.length ? h("span", { class: "muted" }, ` (${coding.heldLines.length} held)`) : null,
    ),
    h("td", {}, formatDateTime(encounter.createdAt)),
  );
}

export async function renderEncounters(main: HTMLElement): Promise<void> {
  document.title = "Encounters · cutis";
  main.replaceChildren(h("p", { class: "loading", role: "status" }, "Loading the encounters…"));
  const chosen = filtersFromUrl();
  const size = pageSize();
  const payers = (await gql<{ clinic: { payers: { code: string; name: string }[] } }>("ClinicPayers")).clinic.payers;

  const search = h("input", { id: "filter-q", type: "search", value: chosen.externalId ?? "", autocomplete: "off" });
  const dateFrom = h("input", { id: "filter-from", type: "date", value: chosen.dateFrom ?? "" });
  const dateTo = h("input", { id: "filter-to", type: "date", value: chosen.dateTo ?? "" });
  const payer = h(
    "select",
    { id: "filter-payer" },
    h("option", { value: "" }, "Every payer"),
    payers.map((p) => h("option", { value: p.code, selected: p.code === chosen.payer }, `${p.name} (${p.code})`)),
  );
  const status = h(
    "select",
    { id: "filter-status" },
    h("option", { value: "" }, "Any"),
    Object.entries(PROCESSING).map(([value, label]) => h("option", { value, selected: value === chosen.status }, label)),
  );
  const provider = h("input", {
    id: "filter-provider",
    type: "text",
    inputmode: "numeric",
    pattern: "[0-9]{10}",
    maxlength: "10",
    title: "The provider's 10-digit NPI",
    value: chosen.providerNpi ?? "",
    autocomplete: "off",
  });
  const codingStatus = h(
    "select",
    { id: "filter-coding" },
    h("option", { value: "" }, "Any"),
    Object.entries(CODING_STATUS).map(([value, label]) =>
      h("option", { value, selected: value === chosen.codingStatus }, label),
    ),
  );
  const field = (label: string, control: HTMLElement, id: string) =>
    h("div", { class: "field" }, h("label", { for: id }, label), control);
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter the encounters" },
    field("External id", search, "filter-q"),
    field("Date of service from", dateFrom, "filter-from"),
    field("to", dateTo, "filter-to"),
    field("Payer", payer, "filter-payer"),
    field("Provider NPI", provider, "filter-provider"),
    field("Coding status", codingStatus, "filter-coding"),
    field("Processing", status, "filter-status"),
    h(
      "div",
      { class: "filter-actions" },
      h("button", { type: "submit", class: "button primary" }, "Show"),
      h("a", { class: "button subtle", href: "/encounters", "data-route": "" }, "Clear filters"),
    ),
  );
  const body = h("tbody", {});
  const summary = h("p", { id: "encounters-summary", class: "muted", role: "status" });
  const more = h("button", { type: "button", class: "button", hidden: true }, "Load more encounters");
  const failure = h("div", {});
  const table = h(
    "table",
    { class: "encounters-table", "aria-describedby": "encounters-summary" },
    h("caption", { class: "visually-hidden" }, "Encounters, newest first"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["External id", "Version", "Date of service", "Payer", "Provider", "Status", "Claim lines", "Received"].map((title) =>
          h("th", { scope: "col" }, title),
        ),
      ),
    ),
    body,
  );
  let after: string | null = null;
  let shown = 0;

  async function loadPage(): Promise<void> {
    more.disabled = true;
    table.setAttribute("aria-busy", "true");
    try {
      const filter = Object.fromEntries(Object.entries(chosen).filter(([, value]) => value));
      const data = await gql<{ encounters: { nodes: EncounterListItem[]; pageInfo: PageInfo } }>("EncounterList", {
        filter: Object.keys(filter).length ? filter : null,
        first: size,
        after,
      });
      const { nodes, pageInfo } = data.encounters;
      body.append(...nodes.map(row));
      shown += nodes.length;
      after = pageInfo.endCursor;
      more.hidden = !pageInfo.hasNextPage;
      const text = shown
        ? `${shown} encounter version${shown === 1 ? "" : "s"} shown${pageInfo.hasNextPage ? ", more to load" : ""}.`
        : "No encounter matches these filters.";
      summary.textContent = text;
      replace(failure);
      if (after !== null && nodes.length && shown > nodes.length) announce(`${nodes.length} more encounters loaded.`);
    } catch (error) {
      replace(failure, h("div", { class: "callout error", role: "alert" }, (error as Error).message));
    } finally {
      more.disabled = false;
      table.removeAttribute("aria-busy");
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values: Record<FilterName, string> = {
      externalId: search.value.trim(),
      dateFrom: dateFrom.value,
      dateTo: dateTo.value,
      payer: payer.value,
      providerNpi: provider.value.trim(),
      status: status.value,
      codingStatus: codingStatus.value,
    };
    const params = new URLSearchParams();
    if (size !== PAGE_SIZE) params.set("per", String(size));
    for (const [name, param] of FILTERS) if (values[name]) params.set(param, values[name]);
    const query = params.toString();
    navigate(query ? `/encounters?${query}` : "/encounters");
  });
  more.addEventListener("click", () => void loadPage());

  main.replaceChildren(
    h(
      "div",
      { class: "page wide" },
      h("div", { class: "page-heading" }, h("h1", {}, "Encounters"), h("p", { class: "muted" }, "Every version your clinic stored, newest first.")),
      form,
      failure,
      summary,
      table,
      h("div", { class: "more-row" }, more),
    ),
  );
  focusHeading(main);
  await loadPage();
}
