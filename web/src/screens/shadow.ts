// The draft shadow of a rulebook's draft: choose a period, start it, and the draft codes every live
// encounter of its payer beside the published rules until the period ends or it is stopped. The page
// asks for what it has seen every few seconds while it runs: how many live codings, and what the
// draft would change in them (counts, charges, a chart per code family, a table per payer, the
// encounters that code differently). Nothing live changes.
import { NotLoggedIn, gql } from "../api/client";
import type { DraftShadow, DraftShadowResult, Refusal, Rulebook } from "../api/types";
import { announce, formatDateTime, h, replace } from "../dom";
import { impactSummary, plural } from "../panels/impactSummary";
import { renderFailure, renderRefusal } from "../panels/refusal";
import { focusHeading } from "./shell";
import { shadowPath, versionsPath } from "./versions";

/** The server's bounds (server/draft_shadows.py MAX_DAYS): it refuses anything outside them, and says so. */
const MAX_DAYS = 90;
const DEFAULT_DAYS = 14;
const POLL_MS = 2000;

type RulebookResult = (Rulebook & { __typename: "Rulebook" }) | { __typename: "NotFoundError"; message: string };
type ShadowAnswer = (DraftShadow & { __typename: "DraftShadow" }) | { __typename: "NotFoundError"; message: string };

const STATUS_LABELS: Record<string, string> = { running: "Running", stopped: "Stopped", ended: "Ended" };

function renderState(shadow: DraftShadow): HTMLElement {
  const period =
    shadow.status === "stopped" && shadow.stoppedAt
      ? `From ${formatDateTime(shadow.startsAt)}, stopped ${formatDateTime(shadow.stoppedAt)}`
      : shadow.status === "ended"
        ? `From ${formatDateTime(shadow.startsAt)} to ${formatDateTime(shadow.endsAt)}`
        : `From ${formatDateTime(shadow.startsAt)} until ${formatDateTime(shadow.endsAt)}`;
  return h(
    "div",
    { class: `replay-progress shadow-${shadow.status}` },
    h(
      "div",
      { class: "replay-progress-head" },
      h("span", { class: `badge badge-shadow-${shadow.status}` }, STATUS_LABELS[shadow.status] ?? shadow.status),
      h("span", { id: "shadow-period" }, period),
    ),
    h("p", { id: "shadow-seen" }, `${plural(shadow.seen, "live coding")} seen.`),
  );
}

function renderSummary(shadow: DraftShadow): HTMLElement | null {
  if (!shadow.impact) return null;
  if (shadow.seen === 0) return h("p", { class: "muted", id: "shadow-headline" }, "No live coding of this payer yet: the differences appear here as encounters are coded.");
  const soFar = shadow.status === "running" ? " so far" : "";
  return impactSummary({
    title: `What the draft changes in live traffic${soFar}`,
    idPrefix: "shadow",
    impact: shadow.impact,
    byPayer: shadow.byPayer ?? [],
    byFamily: shadow.byFamily ?? [],
    examples: shadow.differences ?? [],
    examplesName: "Live encounters the draft codes differently",
    noExamples: "The draft codes every live encounter it saw as the published rules do.",
  });
}

export async function renderShadow(main: HTMLElement, rulebookId: string): Promise<void> {
  document.title = "Shadow · cutis";
  main.replaceChildren(h("p", { class: "loading", role: "status" }, "Loading the rulebook…"));
  const found = (await gql<{ rulebook: RulebookResult }>("Rulebook", { id: rulebookId })).rulebook;
  if (found.__typename !== "Rulebook") {
    main.replaceChildren(h("div", { class: "page" }, h("h1", {}, "Rulebook not found"), h("p", {}, found.message), h("a", { href: "/", "data-route": "" }, "Back to payers and rulebooks")));
    focusHeading(main);
    return;
  }
  const rulebook = found;
  const days = h("input", {
    id: "shadow-days",
    name: "days",
    type: "number",
    inputmode: "numeric",
    min: 1,
    max: MAX_DAYS,
    step: 1,
    value: DEFAULT_DAYS,
    "aria-describedby": "shadow-days-hint",
  });
  const startButton = h("button", { type: "submit", class: "button primary" }, "Start the shadow");
  const stopButton = h("button", { type: "button", class: "button", hidden: true }, "Stop the shadow");
  const outcome = h("div", { class: "outcome", id: "shadow-outcome" });
  const state = h("section", { class: "replay-status", "aria-label": "Shadow", hidden: true });
  const summary = h("div", { "aria-live": "polite" });
  let shadowId = new URLSearchParams(location.search).get("shadow");
  let timer: number | undefined;

  const scope = rulebook.payer ? `of ${rulebook.payer} ` : "";
  const form = h(
    "form",
    { class: "replay-form", novalidate: true, "aria-label": "Shadow the draft" },
    h(
      "div",
      { class: "field" },
      h("label", { for: "shadow-days" }, "Days to shadow"),
      h("div", { class: "replay-row" }, days, startButton, stopButton),
      h("span", { id: "shadow-days-hint", class: "muted" }, `From now, every live encounter ${scope}is also coded with the draft (1 to ${MAX_DAYS} days).`),
    ),
  );
  const page = h(
    "div",
    { class: "page wide" },
    h(
      "div",
      { class: "page-heading" },
      h(
        "nav",
        { "aria-label": "Breadcrumb", class: "breadcrumb" },
        h("a", { href: "/", "data-route": "" }, "Payers"),
        h("span", { "aria-hidden": "true" }, " / "),
        h("a", { href: `/rulebooks/${encodeURIComponent(rulebook.id)}`, "data-route": "" }, rulebook.name),
        h("span", { "aria-hidden": "true" }, " / "),
        h("a", { href: versionsPath(rulebook.id), "data-route": "" }, "Versions"),
        h("span", { "aria-hidden": "true" }, " / "),
        h("span", {}, "Shadow"),
      ),
      h("h1", {}, `Shadow the draft of ${rulebook.name}`),
      h("p", { class: "muted" }, `Codes the clinic's live encounters ${scope}with the draft as saved (revision ${rulebook.draftRevision}) beside the published rules, and keeps what differs for review. The claims go out as the published rules code them.`),
    ),
    form,
    outcome,
    state,
    summary,
  );

  function running(isRunning: boolean): void {
    startButton.disabled = isRunning;
    days.disabled = isRunning;
    stopButton.hidden = !isRunning;
    stopButton.disabled = false;
  }

  function draw(shadow: DraftShadow): void {
    state.hidden = false;
    replace(state, renderState(shadow));
    replace(summary, renderSummary(shadow));
  }

  function finished(shadow: DraftShadow): void {
    running(false);
    const message =
      shadow.status === "stopped"
        ? `The shadow was stopped after ${plural(shadow.seen, "live coding")}.`
        : `The shadow ended after ${plural(shadow.seen, "live coding")}.`;
    outcome.replaceChildren(h("p", { class: "callout", role: "status" }, message));
    announce(message);
  }

  /** Ask what the shadow has seen every few seconds while it runs and this screen is shown. */
  async function follow(id: string): Promise<void> {
    window.clearTimeout(timer);
    if (!page.isConnected || shadowId !== id) return;
    let answer: ShadowAnswer;
    try {
      answer = (await gql<{ draftShadow: ShadowAnswer }>("DraftShadow", { id })).draftShadow;
    } catch (error) {
      outcome.replaceChildren(renderFailure("Follow the shadow", error as Error));
      if (!(error instanceof NotLoggedIn)) timer = window.setTimeout(() => void follow(id), POLL_MS);
      else running(false);
      return;
    }
    if (!page.isConnected || shadowId !== id) return;
    if (answer.__typename !== "DraftShadow") {
      running(false);
      outcome.replaceChildren(renderRefusal("Follow the shadow", answer));
      return;
    }
    draw(answer);
    if (answer.status === "running") {
      running(true);
      timer = window.setTimeout(() => void follow(id), POLL_MS);
    } else {
      finished(answer);
    }
  }

  async function start(): Promise<void> {
    const requested = Number(days.value);
    days.removeAttribute("aria-invalid");
    running(true);
    stopButton.hidden = true;
    outcome.replaceChildren(h("p", { class: "muted", role: "status" }, "Starting the shadow…"));
    let result: DraftShadowResult;
    try {
      // A value that is not a whole number goes as 0: the server's refusal says the bounds.
      const variables = { rulebookId: rulebook.id, days: Number.isInteger(requested) && days.value !== "" ? requested : 0 };
      result = (await gql<{ startDraftShadow: DraftShadowResult }>("StartDraftShadow", variables)).startDraftShadow;
    } catch (error) {
      running(false);
      outcome.replaceChildren(renderFailure("Start the shadow", error as Error));
      return;
    }
    if (result.__typename !== "DraftShadow") {
      running(false);
      if (result.__typename === "InvalidInput" && result.fields.some((field) => field.path === "days")) {
        days.setAttribute("aria-invalid", "true");
      }
      outcome.replaceChildren(renderRefusal("Start the shadow", result as Refusal));
      return;
    }
    shadowId = result.id;
    history.replaceState(null, "", shadowPath(rulebook.id, result.id));
    outcome.replaceChildren();
    announce(`The shadow started: it codes live encounters with the draft until ${formatDateTime(result.endsAt)}.`);
    await follow(result.id);
  }

  async function stop(): Promise<void> {
    if (!shadowId) return;
    stopButton.disabled = true;
    try {
      const result = (await gql<{ stopDraftShadow: DraftShadowResult }>("StopDraftShadow", { id: shadowId })).stopDraftShadow;
      if (result.__typename !== "DraftShadow") outcome.replaceChildren(renderRefusal("Stop the shadow", result as Refusal));
      await follow(shadowId);
    } catch (error) {
      stopButton.disabled = false;
      outcome.replaceChildren(renderFailure("Stop the shadow", error as Error));
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void start();
  });
  stopButton.addEventListener("click", () => void stop());

  document.title = `Shadow the draft of ${rulebook.name} · cutis`;
  main.replaceChildren(page);
  focusHeading(main);
  if (shadowId) await follow(shadowId); // a reload or a shared link picks the shadow up again
}
