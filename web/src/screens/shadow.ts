// The draft shadow of a rulebook's draft: choose a period, start it, and the draft codes every live
// encounter of its payer beside the published rules until the period ends or it is stopped. The page
// asks for what it has seen every few seconds while it runs: how many live codings, and what the
// draft would change in them (counts, charges, a chart per code family, a table per payer, the
// encounters that code differently). Nothing live changes.
import { gql } from "../api/client";
import type { DraftShadow, DraftShadowResult } from "../api/types";
import { announce, formatDateTime, h, replace } from "../dom";
import { draftRunHeading, follower, loadRulebook, runForm, startRun, stopRun } from "../panels/draftRun";
import { impactSummary, plural } from "../panels/impactSummary";
import { focusHeading } from "./shell";
import { shadowPath, versionsPath } from "./versions";

/** The server's bounds (server/draft_shadows.py MAX_DAYS): it refuses anything outside them, and says so. */
const MAX_DAYS = 90;
const DEFAULT_DAYS = 14;
const POLL_MS = 2000;

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
  const found = await loadRulebook(main, rulebookId);
  if (!found) return;
  const rulebook = found;
  const scope = rulebook.payer ? `of ${rulebook.payer} ` : "";
  const controls = runForm({
    id: "shadow-days",
    label: "Days to shadow",
    formLabel: "Shadow the draft",
    value: DEFAULT_DAYS,
    max: MAX_DAYS,
    hint: `From now, every live encounter ${scope}is also coded with the draft (1 to ${MAX_DAYS} days).`,
    start: "Start the shadow",
    stop: "Stop the shadow",
  });
  const { stopButton } = controls;
  const outcome = h("div", { class: "outcome", id: "shadow-outcome" });
  const state = h("section", { class: "replay-status", "aria-label": "Shadow", hidden: true });
  const summary = h("div", { "aria-live": "polite" });
  let shadowId = new URLSearchParams(location.search).get("shadow");

  const page = h(
    "div",
    { class: "page wide" },
    draftRunHeading(
      rulebook,
      versionsPath(rulebook.id),
      "Shadow",
      `Shadow the draft of ${rulebook.name}`,
      `Codes the clinic's live encounters ${scope}with the draft as saved (revision ${rulebook.draftRevision}) beside the published rules, and keeps what differs for review. The claims go out as the published rules code them.`,
    ),
    controls.form,
    outcome,
    state,
    summary,
  );

  function draw(shadow: DraftShadow): void {
    state.hidden = false;
    replace(state, renderState(shadow));
    replace(summary, renderSummary(shadow));
  }

  function finished(shadow: DraftShadow): void {
    controls.running(false);
    const message =
      shadow.status === "stopped"
        ? `The shadow was stopped after ${plural(shadow.seen, "live coding")}.`
        : `The shadow ended after ${plural(shadow.seen, "live coding")}.`;
    outcome.replaceChildren(h("p", { class: "callout", role: "status" }, message));
    announce(message);
  }

  const follow = follower<DraftShadow>({
    page,
    current: () => shadowId,
    fetch: async (id) => (await gql<{ draftShadow: ShadowAnswer }>("DraftShadow", { id })).draftShadow,
    typename: "DraftShadow",
    action: "Follow the shadow",
    outcome,
    form: controls,
    draw,
    finished,
    everyMs: POLL_MS,
  });

  async function start(): Promise<void> {
    const result = await startRun<DraftShadow>({
      form: controls,
      outcome,
      action: "Start the shadow",
      field: "days",
      typename: "DraftShadow",
      call: async () =>
        (await gql<{ startDraftShadow: DraftShadowResult }>("StartDraftShadow", { rulebookId: rulebook.id, days: controls.value() })).startDraftShadow,
    });
    if (!result) return;
    shadowId = result.id;
    history.replaceState(null, "", shadowPath(rulebook.id, result.id));
    announce(`The shadow started: it codes live encounters with the draft until ${formatDateTime(result.endsAt)}.`);
    await follow(result.id);
  }

  async function stop(): Promise<void> {
    const id = shadowId;
    if (!id) return;
    await stopRun({
      form: controls,
      outcome,
      action: "Stop the shadow",
      typename: "DraftShadow",
      call: async () => (await gql<{ stopDraftShadow: DraftShadowResult }>("StopDraftShadow", { id })).stopDraftShadow,
      then: () => follow(id),
    });
  }

  controls.form.addEventListener("submit", (event) => {
    event.preventDefault();
    void start();
  });
  stopButton.addEventListener("click", () => void stop());

  document.title = `Shadow the draft of ${rulebook.name} · cutis`;
  main.replaceChildren(page);
  focusHeading(main);
  if (shadowId) await follow(shadowId); // a reload or a shared link picks the shadow up again
}
