// A refused lifecycle step, shown as the server words it: what kind of refusal, its message, and
// each field problem on its own line (every error of a draft, every failing test of a publish).
import type { Refusal } from "../api/types";
import { h } from "../dom";

const HEADINGS: Record<Refusal["__typename"], string> = {
  Forbidden: "Not allowed",
  Conflict: "Someone changed this first",
  InvalidInput: "Cannot do that yet",
  NotFoundError: "Not found",
  RolledBack: "Nothing was changed",
};

/** "tests" -> "Failing test", "text" -> "Error", "lineComments[0].line" -> "lineComments[0].line". */
function fieldLabel(path: string): string {
  if (path === "tests") return "Failing test";
  if (path === "text") return "Error";
  return path;
}

export function renderRefusal(action: string, refusal: Refusal): HTMLElement {
  const message = "message" in refusal && refusal.message ? refusal.message : "the change was rolled back; try again";
  const fields = refusal.__typename === "InvalidInput" ? refusal.fields : [];
  return h(
    "div",
    { class: `refusal refusal-${refusal.__typename}`, role: "alert", "data-kind": refusal.__typename },
    h("strong", {}, `${action}: ${HEADINGS[refusal.__typename] ?? refusal.__typename}. `),
    h("span", { class: "refusal-message" }, message),
    refusal.__typename === "Forbidden" && refusal.permission ? h("span", { class: "muted" }, ` (needs ${refusal.permission})`) : null,
    refusal.__typename === "Conflict" ? h("span", {}, " Reload the page to see the current state.") : null,
    fields.length
      ? h(
          "ul",
          { class: "refusal-fields", "aria-label": `Why: ${fields.length} problem${fields.length === 1 ? "" : "s"}` },
          fields.map((field) =>
            h("li", {}, h("span", { class: "refusal-field" }, fieldLabel(field.path)), " ", field.message),
          ),
        )
      : null,
  );
}

/** A request that failed before the server could answer with a typed refusal. */
export function renderFailure(action: string, error: Error): HTMLElement {
  return h("div", { class: "refusal", role: "alert" }, h("strong", {}, `${action}: `), error.message);
}
