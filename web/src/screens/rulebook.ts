// The editor screen: the rulebook's text, its problems, its tests and a trial coding,
// with Format, Run tests and Save draft (optimistic concurrency: a stale save is refused).
import type { EditorView } from "@codemirror/view";
import { gql } from "../api/client";
import type { Diagnostic, Rulebook, TestReport, Vocabulary } from "../api/types";
import { announce, formatDateTime, h } from "../dom";
import type { Located } from "../editor/diagnostics";
import { createEditor, jumpTo, replaceText } from "../editor/editor";
import { indexVocabulary, type VocabularyIndex } from "../lang/vocabularyIndex";
import { renderProblems, summarize } from "../panels/problems";
import { createTabs } from "../panels/tabs";
import { renderTestReport, type SourceLinks } from "../panels/tests";
import { createTryPanel } from "../panels/tryEncounter";
import { setLeaveGuard } from "../router";
import { focusHeading } from "./shell";

type RulebookResult = (Rulebook & { __typename: "Rulebook" }) | { __typename: "NotFoundError"; message: string };
type SaveResult =
  | { __typename: "Rulebook"; draftText: string; draftRevision: number; draftUpdatedAt: string }
  | { __typename: "Conflict"; message: string; currentRevision: number }
  | { __typename: "NotFoundError" | "InvalidInput" | "Forbidden"; message: string };

let vocabularyPromise: Promise<VocabularyIndex> | null = null;

/** The vocabulary once per page load: it changes only with a server release. */
function vocabulary(): Promise<VocabularyIndex> {
  vocabularyPromise ??= gql<{ ruleVocabulary: Vocabulary }>("RuleVocabulary").then((d) => indexVocabulary(d.ruleVocabulary));
  vocabularyPromise.catch(() => (vocabularyPromise = null));
  return vocabularyPromise;
}

// One listener each for the whole page; they ask the rulebook on screen, if any.
let hasUnsavedChanges: () => boolean = () => false;
let saveFromAnywhere: (() => void) | null = null;
window.addEventListener("beforeunload", (event) => {
  if (hasUnsavedChanges()) {
    event.preventDefault();
    event.returnValue = ""; // the browser shows its own "Leave site?" question
  }
});
// Ctrl+S saves wherever the focus is on the editor screen (the editor handles it itself).
window.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || !saveFromAnywhere) return;
  if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "s") {
    event.preventDefault();
    saveFromAnywhere();
  }
});

/** The line where a rule, table or criteria with this id is defined, if any. */
function definitionLine(view: EditorView, ruleId: string): number | null {
  const pattern = new RegExp(`^\\s*(?:rule|table|criteria)\\s+${ruleId.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\\w-])`);
  for (let n = 1; n <= view.state.doc.lines; n++) {
    if (pattern.test(view.state.doc.line(n).text)) return n;
  }
  return null;
}

export async function renderRulebook(main: HTMLElement, id: string): Promise<void> {
  document.title = "Rulebook · cutis";
  main.replaceChildren(h("p", { class: "loading", role: "status" }, "Opening the rulebook…"));
  const [data, index] = await Promise.all([gql<{ rulebook: RulebookResult }>("Rulebook", { id }), vocabulary()]);
  const found = data.rulebook;
  if (found.__typename !== "Rulebook") {
    main.replaceChildren(
      h(
        "div",
        { class: "page" },
        h("h1", {}, "Rulebook not found"),
        h("p", {}, found.message),
        h("a", { href: "/", "data-route": "" }, "Back to payers and rulebooks"),
      ),
    );
    focusHeading(main);
    return;
  }
  const rulebook: Rulebook = found;
  document.title = `${rulebook.name} · cutis`;
  let savedText = rulebook.draftText;
  let revision = rulebook.draftRevision;
  let dirty = false;
  let saving = false;

  // ---- the frame ---------------------------------------------------------------------
  const saveStatus = h("span", { class: "save-status", id: "save-status", role: "status" });
  const problemsSummary = h("span", { class: "problems-summary", id: "problems-summary", role: "status" }, "Checking…");
  const conflictBox = h("div", { class: "conflict", role: "alert", hidden: true });
  const formatButton = h("button", { type: "button", class: "button", "aria-keyshortcuts": "Shift+Alt+F", title: "Format (Shift+Alt+F)" }, "Format");
  const testButton = h("button", { type: "button", class: "button", "aria-keyshortcuts": "Control+Enter", title: "Run tests (Ctrl+Enter)" }, "Run tests");
  const saveButton = h("button", { type: "button", class: "button primary", "aria-keyshortcuts": "Control+S", title: "Save draft (Ctrl+S)" }, "Save draft");
  const editorHost = h("div", { class: "editor-host" });
  const problemsPanel = h("div", {});
  const testsPanel = h("div", {}, h("p", { class: "empty-state" }, "Run the rulebook's tests to see each one pass or fail, and which rules no test covers."));
  const helpId = "editor-help";

  const links: SourceLinks = {
    lineLink: (line, text) =>
      h("button", { type: "button", class: "link line-link", "data-line": line, onclick: () => jumpTo(view, line) }, text ?? `line ${line}`),
    ruleLink: (ruleId) => {
      const line = definitionLine(view, ruleId);
      return line
        ? h("button", { type: "button", class: "link rule-link", "data-rule": ruleId, "data-line": line, "aria-label": `${ruleId}, go to line ${line}`, onclick: () => jumpTo(view, line) }, ruleId)
        : h("code", { class: "rule-id", title: "defined in another rulebook of the stack" }, ruleId);
    },
  };
  const tryPanel = createTryPanel({ payer: rulebook.payer, text: () => view.state.doc.toString(), links });
  const tabs = createTabs("Rulebook tools", [
    { id: "problems", label: "Problems", panel: problemsPanel },
    { id: "tests", label: "Tests", panel: testsPanel },
    { id: "try", label: "Try on an encounter", panel: tryPanel.element },
  ]);

  const layout = h(
    "div",
    { class: "editor-page" },
    h(
      "div",
      { class: "editor-header" },
      h(
        "div",
        { class: "editor-title" },
        h("nav", { "aria-label": "Breadcrumb", class: "breadcrumb" }, h("a", { href: "/", "data-route": "" }, "Payers"), h("span", { "aria-hidden": "true" }, " / "), h("span", {}, rulebook.payer ?? "Clinic")),
        h("h1", {}, rulebook.name),
        h(
          "div",
          { class: "rulebook-meta" },
          h("span", { class: `badge badge-${rulebook.status}` }, rulebook.status === "draft" ? "Draft" : rulebook.status),
          h("span", { id: "revision" }, `Revision ${revision}`),
          saveStatus,
        ),
      ),
      h(
        "div",
        { class: "toolbar", role: "toolbar", "aria-label": "Rulebook actions", "aria-controls": "rule-editor" },
        h("a", { class: "button subtle", href: `/rulebooks/${encodeURIComponent(rulebook.id)}/versions`, "data-route": "", title: "Version history, review and publishing" }, "Versions"),
        formatButton,
        testButton,
        saveButton,
      ),
    ),
    conflictBox,
    h(
      "div",
      { class: "workspace" },
      h(
        "section",
        { class: "editor-pane", "aria-label": "Rulebook source" },
        h("div", { class: "editor-pane-head" }, problemsSummary, h("span", { class: "muted", id: helpId }, "Ctrl+Space completes; Tab leaves the editor; Ctrl+S saves; Shift+Alt+F formats; F8 goes to the next problem.")),
        editorHost,
      ),
      h("aside", { class: "side-pane", "aria-label": "Problems, tests and trial coding" }, tabs.element),
    ),
  );
  main.replaceChildren(layout);
  editorHost.id = "rule-editor";

  // ---- the editor --------------------------------------------------------------------
  function showSaveStatus(): void {
    saveStatus.textContent = saving ? "Saving…" : dirty ? "Unsaved changes" : `Saved ${formatDateTime(rulebook.draftUpdatedAt)}`;
    saveStatus.classList.toggle("unsaved", dirty);
  }
  function showProblems(diagnostics: Located[]): void {
    renderProblems(problemsPanel, diagnostics, (line, column) => jumpTo(view, line, column));
    const summary = summarize(diagnostics);
    problemsSummary.textContent = summary;
    problemsSummary.className = `problems-summary ${diagnostics.some((d) => d.severity === "error") ? "has-errors" : diagnostics.length ? "has-warnings" : "clean"}`;
    tabs.setLabel("problems", diagnostics.length ? `Problems (${diagnostics.length})` : "Problems");
  }

  const view = createEditor({
    parent: editorHost,
    text: rulebook.draftText,
    vocabulary: index,
    label: `Rules of ${rulebook.name}`,
    describedBy: helpId,
    onChange: () => {
      const nowDirty = view.state.doc.length !== savedText.length || view.state.doc.toString() !== savedText;
      if (nowDirty !== dirty) {
        dirty = nowDirty;
        showSaveStatus();
      }
    },
    onResults: showProblems,
    onError: (message) => {
      problemsSummary.textContent = `Cannot check: ${message}`;
    },
    onSave: () => void save(),
    onFormat: () => void format(),
    onRunTests: () => void runTests(),
  });
  hasUnsavedChanges = () => dirty && document.body.contains(editorHost);
  saveFromAnywhere = () => {
    if (document.body.contains(editorHost)) void save();
  };
  setLeaveGuard(() => !dirty || window.confirm("This rulebook has unsaved changes. Leave without saving them?"));
  showSaveStatus();

  // ---- the actions -------------------------------------------------------------------
  async function format(): Promise<void> {
    formatButton.disabled = true;
    try {
      const data = await gql<{ formatRulebook: { text: string | null; changed: boolean; diagnostics: Diagnostic[] } }>("FormatRulebook", {
        text: view.state.doc.toString(),
      });
      const result = data.formatRulebook;
      if (result.text === null) {
        announce("The rulebook cannot be formatted until its errors are fixed.");
        tabs.select("problems");
        saveStatus.textContent = "Fix the errors first: formatting needs a rulebook that reads correctly.";
      } else if (result.changed) {
        replaceText(view, result.text);
        announce("Formatted.");
      } else {
        announce("Already formatted.");
      }
    } catch (error) {
      announce((error as Error).message);
      saveStatus.textContent = (error as Error).message;
    } finally {
      formatButton.disabled = false;
    }
  }

  async function runTests(): Promise<void> {
    testButton.disabled = true;
    tabs.select("tests");
    testsPanel.setAttribute("aria-busy", "true");
    testsPanel.replaceChildren(h("p", { class: "loading", role: "status" }, "Running the tests…"));
    try {
      const data = await gql<{ testRulebook: TestReport }>("TestRulebook", { text: view.state.doc.toString() });
      renderTestReport(testsPanel, data.testRulebook, links);
      const report = data.testRulebook;
      tabs.setLabel("tests", `Tests (${report.results.filter((r) => r.passed).length}/${report.results.length})`);
      announce(report.passed ? "All tests passed." : "Some tests failed.");
    } catch (error) {
      testsPanel.replaceChildren(h("div", { class: "callout error", role: "alert" }, (error as Error).message));
    } finally {
      testButton.disabled = false;
      testsPanel.removeAttribute("aria-busy");
    }
  }

  /** Whether to save `text`: yes when its tests pass (or cannot run yet); else she is asked, told which fail. */
  async function failingTestsAccepted(text: string): Promise<boolean> {
    let report: TestReport;
    try {
      report = (await gql<{ testRulebook: TestReport }>("TestRulebook", { text })).testRulebook;
    } catch {
      return true; // the tests could not run: saving a draft is never blocked by that
    }
    const failing = report.results.filter((r) => !r.passed);
    if (!failing.length) return true;
    renderTestReport(testsPanel, report, links);
    tabs.setLabel("tests", `Tests (${report.results.length - failing.length}/${report.results.length})`);
    const names = failing.map((r) => `• ${r.name}${r.example ? ` (example ${r.example})` : ""}`).join("\n");
    const count = failing.length === 1 ? "1 test fails" : `${failing.length} tests fail`;
    return window.confirm(`${count}:\n${names}\n\nSave the draft anyway?`);
  }

  function toast(message: string): void {
    const note = h("div", { class: "toast", role: "status" }, message);
    document.body.append(note);
    window.setTimeout(() => note.remove(), 4000);
  }

  async function save(): Promise<void> {
    if (saving) return;
    saving = true;
    saveButton.disabled = true;
    showSaveStatus();
    const text = view.state.doc.toString();
    try {
      if (!(await failingTestsAccepted(text))) {
        tabs.select("tests");
        conflictBox.hidden = false;
        conflictBox.replaceChildren(h("strong", {}, "Not saved: "), "some tests fail (see Tests). Fix them, or save again and confirm.");
        return;
      }
      const data = await gql<{ saveRulebookDraft: SaveResult }>("SaveRulebookDraft", { id: rulebook.id, text, baseRevision: revision });
      const result = data.saveRulebookDraft;
      if (result.__typename === "Rulebook") {
        savedText = result.draftText;
        revision = result.draftRevision;
        rulebook.draftUpdatedAt = result.draftUpdatedAt;
        dirty = view.state.doc.toString() !== savedText;
        conflictBox.hidden = true;
        layout.querySelector("#revision")!.textContent = `Revision ${revision}`;
        toast(`Draft saved (revision ${revision}).`);
        announce("Draft saved.");
      } else if (result.__typename === "Conflict") {
        conflictBox.hidden = false;
        conflictBox.replaceChildren(
          h("strong", {}, "Not saved: "),
          result.message,
          ` The saved draft is now at revision ${result.currentRevision}. Your text is still here, unchanged: copy what you need, then `,
          h("a", { href: location.pathname, target: "_blank", rel: "noopener" }, "open the saved draft in a new tab"),
          " to compare.",
        );
      } else {
        conflictBox.hidden = false;
        conflictBox.replaceChildren(h("strong", {}, "Not saved: "), result.message);
      }
    } catch (error) {
      conflictBox.hidden = false;
      conflictBox.replaceChildren(h("strong", {}, "Not saved: "), (error as Error).message);
    } finally {
      saving = false;
      saveButton.disabled = false;
      showSaveStatus();
    }
  }

  formatButton.addEventListener("click", () => void format());
  testButton.addEventListener("click", () => void runTests());
  saveButton.addEventListener("click", () => void save());
  focusHeading(main);
}
