// The problems list: every diagnostic, sorted by line; choosing one jumps to it in the editor.
import type { Located } from "../editor/diagnostics";
import { h } from "../dom";

const SEVERITY_LABEL: Record<string, string> = { error: "Error", warning: "Warning", info: "Note", hint: "Hint" };

export function summarize(diagnostics: Located[]): string {
  const errors = diagnostics.filter((d) => d.severity === "error").length;
  const warnings = diagnostics.length - errors;
  if (!diagnostics.length) return "No problems";
  const parts = [];
  if (errors) parts.push(`${errors} error${errors === 1 ? "" : "s"}`);
  if (warnings) parts.push(`${warnings} warning${warnings === 1 ? "" : "s"}`);
  return parts.join(", ");
}

export function renderProblems(
  panel: HTMLElement,
  diagnostics: Located[],
  jump: (line: number, column: number) => void,
): void {
  if (!diagnostics.length) {
    panel.replaceChildren(h("p", { class: "empty-state" }, "No problems found. The checker is happy with this rulebook."));
    return;
  }
  const sorted = [...diagnostics].sort((a, b) => a.line - b.line || a.column - b.column);
  panel.replaceChildren(
    h(
      "ul",
      { class: "problem-list", "aria-label": summarize(diagnostics) },
      sorted.map((d) =>
        h(
          "li",
          {},
          h(
            "button",
            {
              type: "button",
              class: `problem problem-${d.severity}`,
              "data-line": d.line,
              onclick: () => jump(d.line, d.column),
            },
            h("span", { class: `severity severity-${d.severity}` }, SEVERITY_LABEL[d.severity] ?? d.severity),
            h("span", { class: "problem-where" }, `Line ${d.line}, column ${d.column}`),
            h("span", { class: "problem-message" }, d.message),
            d.hint ? h("span", { class: "problem-hint" }, `Hint: ${d.hint}`) : null,
          ),
        ),
      ),
    ),
  );
}
