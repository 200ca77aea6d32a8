// The impact replay of a rulebook's draft: choose how many of the clinic's last stored encounters,
// start it, follow its progress (asked every second) or cancel it, then read what the draft would
// change: counts, charges, a chart per code family, a table per payer and example encounters.
import { NotLoggedIn, gql } from "../api/client";
import type { ImpactReplay, ImpactReplayResult, Refusal, Rulebook } from "../api/types";
import { announce, h, replace } from "../dom";
import { count, impactSummary, plural } from "../panels/impactSummary";
import { renderFailure, renderRefusal } from "../panels/refusal";
import { focusHeading } from "./shell";
import { replayPath, versionsPath } from "./versions";

/** The server's bounds (server/impact_replay.py): it refuses anything outside them, and says so. */
const MAX_ENCOUNTERS = 200_000;
const DEFAULT_ENCOUNTERS = 1000;
const POLL_MS = 1000;

type RulebookResult = (Rulebook & { __typename: "Rulebook" }) | { __typename: "NotFoundError"; message: string };
type ReplayAnswer = (ImpactReplay & { __typename: "ImpactReplay" }) | { __typename: "NotFoundError"; message: string };

const STATUS_LABELS: Record<string, string> = { running: "Running", done: "Done", cancelled: "Cancelled" };

function renderProgress(replay: ImpactReplay): HTMLElement {
  const finished = replay.status !== "running";
  const line =
    replay.total === 0
      ? "No stored encounters to replay."
      : `${count(replay.done)} of ${plural(replay.total, "encounter")} replayed · ${count(replay.chunksFinished)} of ${plural(replay.chunks, "chunk")} finished`;
  return h(
    "div",
    { class: `replay-progress replay-${replay.status}` },
    h("div", { class: "replay-progress-head" }, h("span", { class: `badge badge-replay-${replay.status}` }, STATUS_LABELS[replay.status] ?? replay.status), h("span", { id: "replay-progress-text" }, line)),
    h("progress", {
      id: "replay-progress",
      "aria-label": "Encounters replayed",
      "aria-describedby": "replay-progress-text",
      max: Math.max(replay.total, 1),
      value: replay.total === 0 && finished ? 1 : replay.done,
    }),
  );
}

/** What the draft changes in the encounters replayed so far (all of them once it is done). */
function renderSummary(replay: ImpactReplay): HTMLElement | null {
  const impact = replay.impact;
  if (!impact || replay.done === 0) return null;
  const soFar = replay.status === "running" ? " so far" : replay.status === "cancelled" ? " before it was cancelled" : "";
  return impactSummary({
    title: `What the draft changes${soFar}`,
    idPrefix: "replay",
    impact,
    byPayer: replay.byPayer ?? [],
    byFamily: replay.byFamily ?? [],
    examples: replay.examples ?? [],
    examplesName: "Encounters that code differently",
    noExamples: "No replayed encounter codes differently.",
  });
}

export async function renderReplay(main: HTMLElement, rulebookId: string): Promise<void> {
  document.title = "Replay · cutis";
  main.replaceChildren(h("p", { class: "loading", role: "status" }, "Loading the rulebook…"));
  const found = (await gql<{ rulebook: RulebookResult }>("Rulebook", { id: rulebookId })).rulebook;
  if (found.__typename !== "Rulebook") {
    main.replaceChildren(h("div", { class: "page" }, h("h1", {}, "Rulebook not found"), h("p", {}, found.message), h("a", { href: "/", "data-route": "" }, "Back to payers and rulebooks")));
    focusHeading(main);
    return;
  }
  const rulebook = found;
  const encounters = h("input", {
    id: "replay-encounters",
    name: "encounters",
    type: "number",
    inputmode: "numeric",
    min: 1,
    max: MAX_ENCOUNTERS,
    step: 1,
    value: DEFAULT_ENCOUNTERS,
    "aria-describedby": "replay-encounters-hint",
  });
  const startButton = h("button", { type: "submit", class: "button primary" }, "Start the replay");
  const cancelButton = h("button", { type: "button", class: "button", hidden: true }, "Cancel the replay");
  const outcome = h("div", { class: "outcome", id: "replay-outcome" });
  const progress = h("section", { class: "replay-status", "aria-label": "Progress", hidden: true });
  const summary = h("div", { "aria-live": "polite" });
  let replayId = new URLSearchParams(location.search).get("replay");
  let timer: number | undefined;

  const scope = rulebook.payer ? `of ${rulebook.payer} ` : "";
  const form = h(
    "form",
    { class: "replay-form", novalidate: true, "aria-label": "Replay the draft" },
    h(
      "div",
      { class: "field" },
      h("label", { for: "replay-encounters" }, "Encounters to replay"),
      h("div", { class: "replay-row" }, encounters, startButton, cancelButton),
      h("span", { id: "replay-encounters-hint", class: "muted" }, `The clinic's last stored encounters ${scope}(1 to ${count(MAX_ENCOUNTERS)}).`),
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
        h("span", {}, "Replay"),
      ),
      h("h1", {}, `Replay the draft of ${rulebook.name}`),
      h("p", { class: "muted" }, `Codes the clinic's stored encounters ${scope}with the draft as saved (revision ${rulebook.draftRevision}) and with the rules in effect today, and counts what differs. Nothing is changed.`),
    ),
    form,
    outcome,
    progress,
    summary,
  );

  function running(isRunning: boolean): void {
    startButton.disabled = isRunning;
    encounters.disabled = isRunning;
    cancelButton.hidden = !isRunning;
    cancelButton.disabled = false;
  }

  function draw(replay: ImpactReplay): void {
    progress.hidden = false;
    replace(progress, renderProgress(replay));
    const drawn = renderSummary(replay);
    if (drawn || replay.status !== "running") replace(summary, drawn);
  }

  function finished(replay: ImpactReplay): void {
    running(false);
    const message =
      replay.status === "cancelled"
        ? `The replay was cancelled after ${count(replay.done)} of ${plural(replay.total, "encounter")}.`
        : `The replay is done: ${count(replay.impact?.changed ?? 0)} of ${plural(replay.total, "encounter")} code differently.`;
    outcome.replaceChildren(h("p", { class: replay.status === "cancelled" ? "callout" : "callout success", role: "status" }, message));
    announce(message);
  }

  /** Ask for the replay's progress every second while it runs and this screen is shown. */
  async function follow(id: string): Promise<void> {
    window.clearTimeout(timer);
    if (!page.isConnected || replayId !== id) return;
    let answer: ReplayAnswer;
    try {
      answer = (await gql<{ impactReplay: ReplayAnswer }>("ImpactReplay", { id })).impactReplay;
    } catch (error) {
      outcome.replaceChildren(renderFailure("Follow the replay", error as Error));
      if (!(error instanceof NotLoggedIn)) timer = window.setTimeout(() => void follow(id), POLL_MS);
      else running(false);
      return;
    }
    if (!page.isConnected || replayId !== id) return;
    if (answer.__typename !== "ImpactReplay") {
      running(false);
      outcome.replaceChildren(renderRefusal("Follow the replay", answer));
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
    const requested = Number(encounters.value);
    encounters.removeAttribute("aria-invalid");
    running(true);
    cancelButton.hidden = true;
    outcome.replaceChildren(h("p", { class: "muted", role: "status" }, "Starting the replay…"));
    let result: ImpactReplayResult;
    try {
      // A value that is not a whole number goes as it is typed: the server's refusal says the bounds.
      const variables = { rulebookId: rulebook.id, encounters: Number.isInteger(requested) && encounters.value !== "" ? requested : 0 };
      result = (await gql<{ startImpactReplay: ImpactReplayResult }>("StartImpactReplay", variables)).startImpactReplay;
    } catch (error) {
      running(false);
      outcome.replaceChildren(renderFailure("Start the replay", error as Error));
      return;
    }
    if (result.__typename !== "ImpactReplay") {
      running(false);
      if (result.__typename === "InvalidInput" && result.fields.some((field) => field.path === "encounters")) {
        encounters.setAttribute("aria-invalid", "true");
      }
      outcome.replaceChildren(renderRefusal("Start the replay", result as Refusal));
      return;
    }
    replayId = result.id;
    history.replaceState(null, "", replayPath(rulebook.id, result.id));
    replace(summary);
    draw(result);
    outcome.replaceChildren();
    if (result.status === "running") {
      running(true);
      announce(`The replay of ${plural(result.total, "encounter")} started.`);
      timer = window.setTimeout(() => void follow(result.id), POLL_MS);
    } else {
      await follow(result.id); // nothing to replay: done at once
    }
  }

  async function cancel(): Promise<void> {
    if (!replayId) return;
    cancelButton.disabled = true;
    try {
      const result = (await gql<{ cancelImpactReplay: ImpactReplayResult }>("CancelImpactReplay", { id: replayId })).cancelImpactReplay;
      if (result.__typename !== "ImpactReplay") outcome.replaceChildren(renderRefusal("Cancel the replay", result as Refusal));
      await follow(replayId);
    } catch (error) {
      cancelButton.disabled = false;
      outcome.replaceChildren(renderFailure("Cancel the replay", error as Error));
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void start();
  });
  cancelButton.addEventListener("click", () => void cancel());

  document.title = `Replay the draft of ${rulebook.name} · cutis`;
  main.replaceChildren(page);
  focusHeading(main);
  if (replayId) await follow(replayId); // a reload or a shared link picks the replay up again
}
