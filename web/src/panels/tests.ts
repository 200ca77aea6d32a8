// Test results: pass or fail per test (and per example row), expected against actual,
// the rules that fired, and coverage with the rules no test exercises.
import type { RuleRef, RuleTestResult, TestReport } from "../api/types";
import { h, replace } from "../dom";

export interface SourceLinks {
  /** A button that moves the cursor to a line of the rulebook. */
  lineLink(line: number, text?: string): HTMLElement;
  /** A button for a rule id that jumps to the rule's definition (plain text when not found). */
  ruleLink(ruleId: string): HTMLElement;
  /** Where a stored coding's reason came from, when reasons name several rulebooks (the coding page). */
  reasonSource?(rule: RuleRef): HTMLElement;
}

/** "expected `line 17003 units 8`, got line 17000 units 1; ..." -> expected and actual apart. */
function expectedActual(message: string): { expected: string; actual: string } | null {
  const match = message.match(/^expected `([^`]*)`,\s*(?:got|found)\s+([\s\S]*)$/);
  return match ? { expected: match[1], actual: match[2] } : null;
}

function testTitle(result: RuleTestResult): string {
  return result.example ? `${result.name} (example ${result.example})` : result.name;
}

function renderResult(result: RuleTestResult, links: SourceLinks): HTMLElement {
  const status = result.passed ? "passed" : "failed";
  return h(
    "li",
    { class: `test-result test-${status}` },
    h(
      "div",
      { class: "test-heading" },
      h("span", { class: `pill pill-${status}` }, result.passed ? "Pass" : "Fail"),
      h("span", { class: "test-name" }, testTitle(result)),
      result.line ? links.lineLink(result.line) : null,
    ),
    h(
      "ul",
      { class: "expectations", "aria-label": `Expectations of ${testTitle(result)}` },
      result.expectations.map((expectation) => {
        const split = expectation.passed ? null : expectedActual(expectation.message);
        return h(
          "li",
          { class: expectation.passed ? "expectation-passed" : "expectation-failed" },
          h("span", { class: "expectation-mark", "aria-hidden": "true" }, expectation.passed ? "✓" : "✗"),
          h("span", { class: "visually-hidden" }, expectation.passed ? "met: " : "not met: "),
          h("code", {}, expectation.expectation),
          expectation.line ? links.lineLink(expectation.line) : null,
          split
            ? h(
                "dl",
                { class: "expected-actual" },
                h("dt", {}, "Expected"),
                h("dd", {}, h("code", {}, split.expected)),
                h("dt", {}, "Actual"),
                h("dd", {}, h("code", {}, split.actual)),
              )
            : !expectation.passed && expectation.message
              ? h("p", { class: "expectation-message" }, expectation.message)
              : null,
        );
      }),
    ),
    h(
      "div",
      { class: "fired" },
      h("span", { class: "label" }, "Rules fired: "),
      result.fired.length ? result.fired.map((id) => links.ruleLink(id)) : h("span", { class: "muted" }, "none"),
    ),
    result.observed.length
      ? h(
          "details",
          { class: "observed" },
          h("summary", {}, "What the rulebook produced"),
          h("ul", {}, result.observed.map((o) => h("li", {}, h("code", {}, o)))),
        )
      : null,
  );
}

function renderCoverage(report: TestReport, links: SourceLinks): HTMLElement | null {
  const coverage = report.coverage;
  if (!coverage) return null;
  const percent = Math.round(coverage.percent * 10) / 10;
  const uncoveredConditions = Object.entries(coverage.conditions)
    .filter(([, outcome]) => !outcome.true || !outcome.false)
    .map(([where, outcome]) => ({ where, never: !outcome.true ? "never true" : "never false" }));
  return h(
    "section",
    { class: "coverage", "aria-labelledby": "coverage-title" },
    h("h3", { id: "coverage-title" }, "Coverage"),
    h(
      "div",
      { class: "coverage-bar", role: "meter", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": percent, "aria-label": "Condition coverage" },
      h("div", { class: "coverage-fill", style: `width: ${Math.min(100, percent)}%` }),
    ),
    h("p", {}, `${percent}% of rule conditions were tested both ways.`),
    coverage.uncoveredRules.length
      ? h(
          "div",
          { class: "uncovered" },
          h("p", { class: "warning-text" }, `No test exercises ${coverage.uncoveredRules.length === 1 ? "this rule" : "these rules"}:`),
          h("ul", { class: "uncovered-rules" }, coverage.uncoveredRules.map((id) => h("li", {}, links.ruleLink(id)))),
        )
      : h("p", { class: "success-text" }, "Every rule is exercised by at least one test."),
    uncoveredConditions.length
      ? h(
          "details",
          {},
          h("summary", {}, `${uncoveredConditions.length} condition${uncoveredConditions.length === 1 ? "" : "s"} not tested both ways`),
          h(
            "ul",
            { class: "conditions" },
            uncoveredConditions.map(({ where, never }) => {
              const line = Number(where.match(/line (\d+)/)?.[1] ?? 0);
              return h("li", {}, line ? links.lineLink(line, where) : where, ` ${never}`);
            }),
          ),
        )
      : null,
  );
}

export function renderTestReport(panel: HTMLElement, report: TestReport, links: SourceLinks): void {
  const passed = report.results.filter((r) => r.passed).length;
  const total = report.results.length;
  const summary = report.diagnostics.some((d) => d.severity === "error")
    ? "The tests could not run: fix the problems first."
    : total === 0
      ? "This rulebook has no tests yet. Add a `test \"...\" { given {...} expect ... }` block."
      : `${passed} of ${total} test${total === 1 ? "" : "s"} passed`;
  replace(
    panel,
    h(
      "div",
      { class: `test-summary ${report.passed && total ? "summary-passed" : "summary-failed"}`, role: "status" },
      summary,
    ),
    report.diagnostics.length
      ? h(
          "ul",
          { class: "problem-list compact" },
          report.diagnostics.map((d) => h("li", {}, links.lineLink(d.line), ` ${d.message}`)),
        )
      : null,
    total ? h("ol", { class: "test-results", "aria-label": "Test results" }, report.results.map((r) => renderResult(r, links))) : null,
    renderCoverage(report, links),
  );
}
