// What the impact replay and the draft shadow pages share: both run a rulebook's draft over
// encounters in the background (stored ones, or live traffic for a period). The page frame (the
// rulebook, a breadcrumb, a heading), a form with one bounded whole number, a start and a stop
// button, and a follower that asks for the run every few seconds while it runs and this screen
// shows it.
import { NotLoggedIn, gql } from "../api/client";
import type { Refusal, Rulebook } from "../api/types";
import { h } from "../dom";
import { focusHeading } from "../screens/shell";
import { renderFailure, renderRefusal } from "./refusal";

type RulebookResult = (Rulebook & { __typename: "Rulebook" }) | { __typename: "NotFoundError"; message: string };
type NotFound = { __typename: "NotFoundError"; message: string };

/** The rulebook, or null once "Rulebook not found" is drawn in `main`. */
export async function loadRulebook(main: HTMLElement, rulebookId: string): Promise<Rulebook | null> {
  main.replaceChildren(h("p", { class: "loading", role: "status" }, "Loading the rulebook…"));
  const found = (await gql<{ rulebook: RulebookResult }>("Rulebook", { id: rulebookId })).rulebook;
  if (found.__typename === "Rulebook") return found;
  main.replaceChildren(h("div", { class: "page" }, h("h1", {}, "Rulebook not found"), h("p", {}, found.message), h("a", { href: "/", "data-route": "" }, "Back to payers and rulebooks")));
  focusHeading(main);
  return null;
}

/** Payers / the book / Versions / `crumb`, then the page's title and what the run does. */
export function draftRunHeading(rulebook: Rulebook, versions: string, crumb: string, title: string, description: string): HTMLElement {
  return h(
    "div",
    { class: "page-heading" },
    h(
      "nav",
      { "aria-label": "Breadcrumb", class: "breadcrumb" },
      h("a", { href: "/", "data-route": "" }, "Payers"),
      h("span", { "aria-hidden": "true" }, " / "),
      h("a", { href: `/rulebooks/${encodeURIComponent(rulebook.id)}`, "data-route": "" }, rulebook.name),
      h("span", { "aria-hidden": "true" }, " / "),
      h("a", { href: versions, "data-route": "" }, "Versions"),
      h("span", { "aria-hidden": "true" }, " / "),
      h("span", {}, crumb),
    ),
    h("h1", {}, title),
    h("p", { class: "muted" }, description),
  );
}

export interface RunForm {
  form: HTMLFormElement;
  input: HTMLInputElement;
  startButton: HTMLButtonElement;
  stopButton: HTMLButtonElement;
  /** While a run runs: start and the number are disabled, stop is offered. */
  running(isRunning: boolean): void;
  /** The number as typed when it is a whole number, else 0 (the server's refusal says the bounds). */
  value(): number;
}

/** A form with one whole number from 1 to `max` (`id` names the input), a start and a stop button. */
export function runForm(options: { id: string; label: string; formLabel: string; value: number; max: number; hint: string; start: string; stop: string }): RunForm {
  const input = h("input", { id: options.id, name: options.id, type: "number", inputmode: "numeric", min: 1, max: options.max, step: 1, value: options.value, "aria-describedby": `${options.id}-hint` });
  const startButton = h("button", { type: "submit", class: "button primary" }, options.start);
  const stopButton = h("button", { type: "button", class: "button", hidden: true }, options.stop);
  const form = h(
    "form",
    { class: "replay-form", novalidate: true, "aria-label": options.formLabel },
    h(
      "div",
      { class: "field" },
      h("label", { for: options.id }, options.label),
      h("div", { class: "replay-row" }, input, startButton, stopButton),
      h("span", { id: `${options.id}-hint`, class: "muted" }, options.hint),
    ),
  );
  return {
    form,
    input,
    startButton,
    stopButton,
    running(isRunning: boolean): void {
      startButton.disabled = isRunning;
      input.disabled = isRunning;
      stopButton.hidden = !isRunning;
      stopButton.disabled = false;
    },
    value(): number {
      const typed = Number(input.value);
      return Number.isInteger(typed) && input.value !== "" ? typed : 0;
    },
  };
}

export interface Follow<T> {
  /** The page: a screen no longer shown stops asking. */
  page: HTMLElement;
  /** The run this screen follows now (another one started since: stop following this one). */
  current(): string | null;
  /** Ask the server for the run. */
  fetch(id: string): Promise<(T & { __typename: string }) | NotFound>;
  typename: string;
  /** "Follow the replay": what a failure or a refusal is said to be about. */
  action: string;
  outcome: HTMLElement;
  form: RunForm;
  draw(run: T): void;
  finished(run: T): void;
  everyMs: number;
}

/** Follow a run: draw it, and ask again after `everyMs` while it runs; say when it has finished.
 * With `later`, the first question waits `everyMs` too (the run was just drawn from its start). */
export function follower<T extends { status: string }>(options: Follow<T>): (id: string, later?: boolean) => Promise<void> {
  let timer: number | undefined;
  async function follow(id: string, later = false): Promise<void> {
    window.clearTimeout(timer);
    if (later) {
      timer = window.setTimeout(() => void follow(id), options.everyMs);
      return;
    }
    if (!options.page.isConnected || options.current() !== id) return;
    let answer: (T & { __typename: string }) | NotFound;
    try {
      answer = await options.fetch(id);
    } catch (error) {
      options.outcome.replaceChildren(renderFailure(options.action, error as Error));
      if (!(error instanceof NotLoggedIn)) timer = window.setTimeout(() => void follow(id), options.everyMs);
      else options.form.running(false);
      return;
    }
    if (!options.page.isConnected || options.current() !== id) return;
    if (answer.__typename !== options.typename) {
      options.form.running(false);
      options.outcome.replaceChildren(renderRefusal(options.action, answer as NotFound));
      return;
    }
    const run = answer as T;
    options.draw(run);
    if (run.status === "running") {
      options.form.running(true);
      timer = window.setTimeout(() => void follow(id), options.everyMs);
    } else {
      options.finished(run);
    }
  }
  return follow;
}

/** Start a run: the form is busy meanwhile; a refusal is shown whole (the number marked when it is
 * the field refused). The started run, or null. */
export async function startRun<T>(options: {
  form: RunForm;
  outcome: HTMLElement;
  action: string;
  field: string;
  typename: string;
  call: () => Promise<(T & { __typename: string }) | Refusal>;
}): Promise<T | null> {
  const { form, outcome, action } = options;
  form.input.removeAttribute("aria-invalid");
  form.running(true);
  form.stopButton.hidden = true;
  outcome.replaceChildren(h("p", { class: "muted", role: "status" }, `${action.replace(/^Start/, "Starting")}…`));
  let result: (T & { __typename: string }) | Refusal;
  try {
    result = await options.call();
  } catch (error) {
    form.running(false);
    outcome.replaceChildren(renderFailure(action, error as Error));
    return null;
  }
  if (result.__typename !== options.typename) {
    const refusal = result as Refusal;
    form.running(false);
    if (refusal.__typename === "InvalidInput" && refusal.fields.some((field) => field.path === options.field)) {
      form.input.setAttribute("aria-invalid", "true");
    }
    outcome.replaceChildren(renderRefusal(action, refusal));
    return null;
  }
  outcome.replaceChildren();
  return result as T;
}

/** Stop (or cancel) a run, then follow it to its end; a refusal or a failure is shown. */
export async function stopRun(options: {
  form: RunForm;
  outcome: HTMLElement;
  action: string;
  typename: string;
  call: () => Promise<{ __typename: string }>;
  then: () => Promise<void>;
}): Promise<void> {
  options.form.stopButton.disabled = true;
  try {
    const result = await options.call();
    if (result.__typename !== options.typename) options.outcome.replaceChildren(renderRefusal(options.action, result as Refusal));
    await options.then();
  } catch (error) {
    options.form.stopButton.disabled = false;
    options.outcome.replaceChildren(renderFailure(options.action, error as Error));
  }
}
