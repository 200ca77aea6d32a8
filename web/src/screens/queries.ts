// The provider query worklist: queries the coding asked of providers (a held line waits on each),
// open, answered or withdrawn, newest first; an open one is answered with the provider's addendum
// (the encounter is coded again as a new version, shown here) or withdrawn with a reason.
import { gql } from "../api/client";
import type { Me, PageInfo, ProviderQuery, Refusal } from "../api/types";
import { announce, append, formatDateTime, h, replace } from "../dom";
import { renderFailure, renderRefusal } from "../panels/refusal";
import { navigate } from "../router";
import { codingBadge, encounterPath } from "./encounters";
import { focusHeading } from "./shell";

const PAGE_SIZE = 25;
const STATUSES = { open: "Open", answered: "Answered", withdrawn: "Withdrawn" } as const;
type Status = keyof typeof STATUSES;

type AnswerResult =
  | {
      __typename: "AnsweredQuery";
      query: Pick<ProviderQuery, "id" | "status" | "addendum" | "resolvedAt" | "answeredEncounterId">;
      encounter: { id: string; version: number };
      coding: { status: string; claimLines: { code: string; units: number }[]; heldLines: { code: string }[] };
    }
  | Refusal;
type WithdrawResult = { __typename: "ProviderQuery"; id: string; status: string; resolvedAt: string | null } | Refusal;

function statusFromUrl(): Status | null {
  const status = new URLSearchParams(location.search).get("status") ?? "open";
  return status in STATUSES ? (status as Status) : null;
}

function answerForm(query: ProviderQuery, onAnswered: (result: Extract<AnswerResult, { __typename: "AnsweredQuery" }>) => void): HTMLElement {
  const id = `answer-${query.id}`;
  const addendum = h("textarea", { id, rows: 3, required: true });
  const submit = h("button", { type: "submit", class: "button primary" }, "Answer and code again");
  const outcome = h("div", { class: "outcome", "aria-live": "polite" });
  const form = h(
    "form",
    { class: "answer-form", "aria-label": `Answer the query on ${query.externalId}, service ${query.serviceId}` },
    h("div", { class: "field" }, h("label", { for: id }, "Provider's addendum (added to the note)"), addendum),
    submit,
    outcome,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    addendum.removeAttribute("aria-invalid");
    try {
      const data = await gql<{ answerProviderQuery: AnswerResult }>("AnswerProviderQuery", { id: query.id, addendum: addendum.value });
      const result = data.answerProviderQuery;
      if (result.__typename === "AnsweredQuery") onAnswered(result);
      else {
        replace(outcome, renderRefusal("Answer the query", result));
        addendum.setAttribute("aria-invalid", "true");
        addendum.focus();
      }
    } catch (error) {
      replace(outcome, renderFailure("Answer the query", error as Error));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function withdrawForm(query: ProviderQuery, onWithdrawn: () => void): HTMLElement {
  const id = `withdraw-${query.id}`;
  const reason = h("input", { id, required: true, autocomplete: "off" });
  const outcome = h("div", { class: "outcome", "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "button" }, "Withdraw");
  const form = h(
    "form",
    { class: "withdraw-form", "aria-label": `Withdraw the query on ${query.externalId}, service ${query.serviceId}` },
    h("div", { class: "field" }, h("label", { for: id }, "Why withdraw it"), reason),
    submit,
    outcome,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const data = await gql<{ withdrawProviderQuery: WithdrawResult }>("WithdrawProviderQuery", { id: query.id, reason: reason.value });
      const result = data.withdrawProviderQuery;
      if (result.__typename === "ProviderQuery") onWithdrawn();
      else replace(outcome, renderRefusal("Withdraw the query", result));
    } catch (error) {
      replace(outcome, renderFailure("Withdraw the query", error as Error));
    } finally {
      submit.disabled = false;
    }
  });
  return h("details", { class: "withdraw" }, h("summary", { class: "button subtle small" }, "Withdraw this query"), form);
}

function queryCard(query: ProviderQuery, canWrite: boolean): HTMLElement {
  const result = h("div", { class: "query-result", "aria-live": "polite" });
  const card = h("li", { class: `query-card query-${query.status}`, "aria-label": `Query on ${query.externalId}, service ${query.serviceId}` });
  const badge = h("span", { class: `badge badge-query-${query.status}` }, STATUSES[query.status]);
  const actions = h("div", { class: "query-actions" });
  if (query.status === "open" && canWrite) {
    actions.append(
      answerForm(query, (answered) => {
        badge.className = "badge badge-query-answered";
        badge.textContent = STATUSES.answered;
        actions.replaceChildren();
        const lines = answered.coding.claimLines.map((l) => `${l.code} × ${l.units}`).join(", ") || "no claim lines";
        replace(
          result,
          h(
            "div",
            { class: "callout success", role: "status" },
            h("p", {}, "Answered. The encounter was coded again as ", h("a", { href: encounterPath(answered.encounter.id), "data-route": "" }, `version ${answered.encounter.version}`), ": ", codingBadge(answered.coding.status, "coded"), ` ${lines}.`),
          ),
        );
        announce(`Query answered: ${query.externalId} coded again as version ${answered.encounter.version}, ${answered.coding.status.replace(/_/g, " ")}.`);
      }),
      withdrawForm(query, () => {
        badge.className = "badge badge-query-withdrawn";
        badge.textContent = STATUSES.withdrawn;
        actions.replaceChildren();
        replace(result, h("p", { class: "muted", role: "status" }, "Withdrawn."));
        announce(`Query on ${query.externalId} withdrawn.`);
      }),
    );
  }
  append(card, [
    h(
      "div",
      { class: "query-head" },
      badge,
      h("a", { href: encounterPath(query.encounterId), "data-route": "" }, query.externalId),
      h("span", { class: "muted" }, `service ${query.serviceId} · ${query.topic.replace(/_/g, " ")} · asked ${formatDateTime(query.createdAt)}`),
    ),
    h("p", { class: "query-text" }, query.text),
    query.missing.length ? h("p", { class: "muted" }, `Missing: ${query.missing.join(", ")}`) : null,
    query.addendum ? h("blockquote", { class: "query-addendum", "aria-label": "Addendum" }, query.addendum) : null,
    query.resolvedAt ? h("p", { class: "muted" }, `${STATUSES[query.status]} ${formatDateTime(query.resolvedAt)}`) : null,
    query.answeredEncounterId ? h("p", {}, h("a", { href: encounterPath(query.answeredEncounterId), "data-route": "" }, "The version coded with the answer")) : null,
    actions,
    result,
  ]);
  return card;
}

export async function renderQueries(main: HTMLElement, me: Me): Promise<void> {
  document.title = "Provider queries · cutis";
  const canWrite = me.permissions.includes("encounters:write");
  const status = statusFromUrl();
  const externalId = new URLSearchParams(location.search).get("q")?.trim() ?? "";
  const list = h("ul", { class: "query-list", "aria-label": "Provider queries" });
  const summary = h("p", { id: "queries-summary", class: "muted", role: "status" });
  const more = h("button", { type: "button", class: "button", hidden: true }, "Load more queries");
  const failure = h("div", {});
  const search = h("input", { id: "queries-q", type: "search", value: externalId, autocomplete: "off" });
  const statusSelect = h(
    "select",
    { id: "queries-status" },
    Object.entries(STATUSES).map(([value, label]) => h("option", { value, selected: value === status }, label)),
    h("option", { value: "all", selected: status === null }, "All"),
  );
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter the queries" },
    h("div", { class: "field" }, h("label", { for: "queries-status" }, "Status"), statusSelect),
    h("div", { class: "field" }, h("label", { for: "queries-q" }, "External id"), search),
    h("div", { class: "filter-actions" }, h("button", { type: "submit", class: "button primary" }, "Show")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const params = new URLSearchParams({ status: statusSelect.value });
    if (search.value.trim()) params.set("q", search.value.trim());
    navigate(`/queries?${params}`);
  });
  let after: string | null = null;
  let shown = 0;

  async function loadPage(): Promise<void> {
    more.disabled = true;
    try {
      const filter: Record<string, string> = {};
      if (status) filter.status = status;
      if (externalId) filter.externalId = externalId;
      const data = await gql<{ providerQueries: { nodes: ProviderQuery[]; pageInfo: PageInfo } }>("ProviderQueries", {
        filter,
        first: PAGE_SIZE,
        after,
      });
      const { nodes, pageInfo } = data.providerQueries;
      list.append(...nodes.map((q) => queryCard(q, canWrite)));
      shown += nodes.length;
      after = pageInfo.endCursor;
      more.hidden = !pageInfo.hasNextPage;
      summary.textContent = shown
        ? `${shown} quer${shown === 1 ? "y" : "ies"} shown${pageInfo.hasNextPage ? ", more to load" : ""}.`
        : "No query matches these filters.";
      replace(failure);
    } catch (error) {
      replace(failure, h("div", { class: "callout error", role: "alert" }, (error as Error).message));
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener("click", () => void loadPage());
  main.replaceChildren(
    h(
      "div",
      { class: "page wide" },
      h("div", { class: "page-heading" }, h("h1", {}, "Provider queries"), h("p", { class: "muted" }, "What the coding asked providers; each open query holds a line.")),
      form,
      failure,
      summary,
      list,
      h("div", { class: "more-row" }, more),
    ),
  );
  focusHeading(main);
  await loadPage();
}
