// Diagnostics as she types: after a pause the text goes to `validateRulebook`, and the
// answer becomes squiggles (message and hint on hover) and the problems list.
import { linter, type Diagnostic as EditorDiagnostic } from "@codemirror/lint";
import type { Extension } from "@codemirror/state";
import type { EditorView } from "@codemirror/view";
import { gql } from "../api/client";
import type { Diagnostic } from "../api/types";
import { codePointOffsets } from "./positions";

/** How long typing must pause before the text is validated. */
export const VALIDATION_DELAY_MS = 300;

export interface Located extends Diagnostic {
  from: number;
  to: number;
}

export interface ValidationHooks {
  /** The validated diagnostics, located in the editor's document. */
  onResults(diagnostics: Located[]): void;
  onError(message: string): void;
}

const SEVERITIES = new Set(["error", "warning", "info", "hint"]);

export function locate(text: string, diagnostics: Diagnostic[]): Located[] {
  const toUtf16 = codePointOffsets(text);
  return diagnostics.map((d) => {
    const from = toUtf16(d.start);
    return { ...d, from, to: Math.max(from, toUtf16(d.end)) };
  });
}

function renderMessage(diagnostic: Diagnostic): () => Node {
  return () => {
    const box = document.createElement("div");
    box.className = "diagnostic-message";
    const message = document.createElement("div");
    message.textContent = diagnostic.message;
    box.append(message);
    if (diagnostic.hint) {
      const hint = document.createElement("div");
      hint.className = "diagnostic-hint";
      hint.textContent = `Hint: ${diagnostic.hint}`;
      box.append(hint);
    }
    return box;
  };
}

export function toEditorDiagnostic(diagnostic: Located): EditorDiagnostic {
  return {
    from: diagnostic.from,
    to: diagnostic.to,
    severity: (SEVERITIES.has(diagnostic.severity) ? diagnostic.severity : "error") as EditorDiagnostic["severity"],
    message: diagnostic.hint ? `${diagnostic.message}. Hint: ${diagnostic.hint}` : diagnostic.message,
    renderMessage: renderMessage(diagnostic),
    source: diagnostic.code,
  };
}

export function validation(hooks: ValidationHooks): Extension {
  return linter(
    async (view: EditorView) => {
      const doc = view.state.doc;
      const text = doc.toString();
      // The benchmark measures from here (the request leaving) to the squiggle on screen.
      window.dispatchEvent(new CustomEvent("cutis:validate-sent", { detail: { at: performance.now() } }));
      try {
        const data = await gql<{ validateRulebook: Diagnostic[] }>("ValidateRulebook", { text });
        const located = locate(text, data.validateRulebook);
        if (view.state.doc === doc) hooks.onResults(located);
        return located.map(toEditorDiagnostic);
      } catch (error) {
        hooks.onError(error instanceof Error ? error.message : String(error));
        return [];
      }
    },
    { delay: VALIDATION_DELAY_MS },
  );
}
