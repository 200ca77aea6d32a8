// The impact replay of a rulebook's draft: choose how many of the clinic's last stored encounters,
// start it, follow its progress (asked every second) or cancel it, then read what the draft would
// change: counts, charges, a chart per code family, a table per payer and example encounters.
import { gql } from "../api/client";
import type { ImpactReplay, ImpactReplayResult } from "../api/types";
import { announce, h, replace } from "../dom";
import { draftRunHeading, follower, loadRulebook, runForm, startRun, stopRun } from "../panels/draftRun";
import { count, impactSummary, plural } from "../panels/impactSummary";
import { focusHeading } from "./shell";
import { replayPath, versionsPath } from "./versions";

/** The server's bounds (server/impact_replay.py): it refuses anything outside them, and says so. */
const MAX_ENCOUNTERS = 200_000;
const DEFAULT_ENCOUNTERS = 1000;
const POLL_MS = 1000;

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
  const found = await loadRulebook(main, rulebookId);
  if (!found) return;
  const rulebook = found;
  const scope = rulebook.payer ? `of ${rulebook.payer} ` : "";
  const controls = runForm({
    id: "replay-encounters",
    label: "Encounters to replay",
    formLabel: "Replay the draft",
    value: DEFAULT_ENCOUNTERS,
    max: MAX_ENCOUNTERS,
    hint: `The clinic's last stored encounters ${scope}(1 to ${count(MAX_ENCOUNTERS)}).`,
    start: "Start the replay",
    stop: "Cancel the replay",
  });
  const { stopButton: cancelButton } = controls;
  const outcome = h("div", { class: "outcome", id: "replay-outcome" });
  const progress = h("section", { class: "replay-status", "aria-label": "Progress", hidden: true });
  const summary = h("div", { "aria-live": "polite" });
  let replayId = new URLSearchParams(location.search).get("replay");

  const page = h(
    "div",
    { class: "page wide" },
    draftRunHeading(
      rulebook,
      versionsPath(rulebook.id),
      "Replay",
      `Replay the draft of ${rulebook.name}`,
      `Codes the clinic's stored encounters ${scope}with the draft as saved (revision ${rulebook.draftRevision}) and with the rules in effect today, and counts what differs. Nothing is changed.`,
    ),
    controls.form,
    outcome,
    progress,
    summary,
  );

  function draw(replay: ImpactReplay): void {
    progress.hidden = false;
    replace(progress, renderProgress(replay));
    const drawn = renderSummary(replay);
    if (drawn || replay.status !== "running") replace(summary, drawn);
  }

  function finished(replay: ImpactReplay): void {
    controls.running(false);
    const message =
      replay.status === "cancelled"
        ? `The replay was cancelled after ${count(replay.done)} of ${plural(replay.total, "encounter")}.`
        : `The replay is done: ${count(replay.impact?.changed ?? 0)} of ${plural(replay.total, "encounter")} code differently.`;
    outcome.replaceChildren(h("p", { class: replay.status === "cancelled" ? "callout" : "callout success", role: "status" }, message));
    announce(message);
  }

  const follow = follower<ImpactReplay>({
    page,
    current: () => replayId,
    fetch: async (id) => (await gql<{ impactReplay: ReplayAnswer }>("ImpactReplay", { id })).impactReplay,
    typename: "ImpactReplay",
    action: "Follow the replay",
    outcome,
    form: controls,
    draw,
    finished,
    everyMs: POLL_MS,
  });

  async function start(): Promise<void> {
    const result = await startRun<ImpactReplay>({
      form: controls,
      outcome,
      action: "Start the replay",
      field: "encounters",
      typename: "ImpactReplay",
      call: async () =>
        (await gql<{ startImpactReplay: ImpactReplayResult }>("StartImpactReplay", { rulebookId: rulebook.id, encounters: controls.value() }))
          .startImpactReplay,
    });
    if (!result) return;
    replayId = result.id;
    history.replaceState(null, "", replayPath(rulebook.id, result.id));
    replace(summary);
    draw(result);
    if (result.status === "running") {
      controls.running(true);
      announce(`The replay of ${plural(result.total, "encounter")} started.`);
      await follow(result.id, true);
    } else {
      await follow(result.id); // nothing to replay: done at once
    }
  }

  async function cancel(): Promise<void> {
    const id = replayId;
    if (!id) return;
    await stopRun({
      form: controls,
      outcome,
      action: "Cancel the replay",
      typename: "ImpactReplay",
      call: async () => (await gql<{ cancelImpactReplay: ImpactReplayResult }>("CancelImpactReplay", { id })).cancelImpactReplay,
      then: () => follow(id),
    });
  }

  controls.form.addEventListener("submit", (event) => {
    event.preventDefault();
    void start();
  });
  cancelButton.addEventListener("click", () => void cancel());

  document.title = `Replay the draft of ${rulebook.name} · cutis`;
  main.replaceChildren(page);
  focusHeading(main);
  if (replayId) await follow(replayId); // a reload or a shared link picks the replay up again
}
