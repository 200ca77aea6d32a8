// The CodeMirror 6 editor for a rulebook: highlighting, completion, bracket matching,
// validation as she types, and the editor's own keyboard shortcuts.
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { bracketMatching, indentOnInput } from "@codemirror/language";
import { lintGutter, lintKeymap } from "@codemirror/lint";
import { highlightSelectionMatches, searchKeymap } from "@codemirror/search";
import { EditorSelection, EditorState } from "@codemirror/state";
import {
  drawSelection,
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
} from "@codemirror/view";
import { ruleCompletion } from "../lang/completion";
import { ruleHighlighting, ruleLanguage } from "../lang/ruleLanguage";
import type { VocabularyIndex } from "../lang/vocabularyIndex";
import { validation, type ValidationHooks } from "./diagnostics";

export interface EditorOptions extends ValidationHooks {
  parent: HTMLElement;
  text: string;
  vocabulary: VocabularyIndex;
  label: string;
  describedBy?: string;
  onChange(): void;
  onSave(): void;
  onFormat(): void;
  onRunTests(): void;
}

const theme = EditorView.theme({
  "&": { height: "100%", fontSize: "14px", backgroundColor: "#fff" },
  ".cm-scroller": { fontFamily: "'DejaVu Sans Mono', 'Liberation Mono', Menlo, Consolas, monospace", lineHeight: "1.55" },
  ".cm-content": { padding: "8px 0" },
  ".cm-gutters": { backgroundColor: "#f6f7f9", color: "#5c6670", borderRight: "1px solid #e1e4e8" },
  ".cm-activeLine": { backgroundColor: "#f3f7fd" },
  ".cm-activeLineGutter": { backgroundColor: "#e6eefb" },
  "&.cm-focused": { outline: "none" },
  ".cm-tooltip": { border: "1px solid #c9ced6", borderRadius: "6px", boxShadow: "0 4px 14px rgba(0,0,0,.12)" },
  ".cm-tooltip-lint": { maxWidth: "32rem" },
  ".cm-matchingBracket": { backgroundColor: "#d6ecd8", outline: "1px solid #7bb584" },
  ".cm-nonmatchingBracket": { backgroundColor: "#fbd9d9" },
});

export function createEditor(options: EditorOptions): EditorView {
  const shortcuts = keymap.of([
    { key: "Mod-s", preventDefault: true, run: () => (options.onSave(), true) },
    { key: "Shift-Alt-f", preventDefault: true, run: () => (options.onFormat(), true) },
    { key: "Mod-Enter", preventDefault: true, run: () => (options.onRunTests(), true) },
  ]);
  const contentAttributes: Record<string, string> = { "aria-label": options.label };
  if (options.describedBy) contentAttributes["aria-describedby"] = options.describedBy;
  return new EditorView({
    parent: options.parent,
    state: EditorState.create({
      doc: options.text,
      extensions: [
        lineNumbers(),
        EditorView.lineWrapping, // a long line wraps: the view never scrolls sideways
        highlightActiveLineGutter(),
        highlightSpecialChars(),
        history(),
        drawSelection(),
        indentOnInput(),
        bracketMatching(),
        closeBrackets(),
        autocompletion({ override: [ruleCompletion(options.vocabulary)], icons: true }),
        highlightActiveLine(),
        highlightSelectionMatches(),
        ruleLanguage(options.vocabulary),
        ruleHighlighting(),
        validation(options),
        lintGutter(),
        // Tab is left to the browser so that keyboard users can leave the editor;
        // indent with Ctrl-] and outdent with Ctrl-[.
        shortcuts,
        keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...searchKeymap, ...historyKeymap, ...completionKeymap, ...lintKeymap]),
        EditorView.contentAttributes.of(contentAttributes),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) options.onChange();
        }),
        theme,
      ],
    }),
  });
}

/** Put the cursor at the start of a line (counted from 1), scroll to it and focus the editor. */
export function jumpTo(view: EditorView, line: number, column = 1): void {
  const target = view.state.doc.line(Math.max(1, Math.min(line, view.state.doc.lines)));
  const position = Math.min(target.from + Math.max(0, column - 1), target.to);
  view.dispatch({
    selection: EditorSelection.cursor(position),
    effects: EditorView.scrollIntoView(position, { y: "center" }),
  });
  view.focus();
}

/** Replace the whole text as one undoable change, keeping the cursor on the same line. */
export function replaceText(view: EditorView, text: string): void {
  const cursorLine = view.state.doc.lineAt(view.state.selection.main.head).number;
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
  const line = view.state.doc.line(Math.min(cursorLine, view.state.doc.lines));
  view.dispatch({ selection: EditorSelection.cursor(line.from), scrollIntoView: true });
}
