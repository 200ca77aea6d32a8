// Syntax highlighting for the rule language: a CodeMirror StreamLanguage whose word
// classes come from the vocabulary index (keywords, phases, fields, actions, units).
import { HighlightStyle, StreamLanguage, syntaxHighlighting, type StreamParser } from "@codemirror/language";
import type { Extension } from "@codemirror/state";
import { tags } from "@lezer/highlight";
import type { VocabularyIndex } from "./vocabularyIndex";

interface LineState {
  /** The previous word on this statement, to recognise `rule <id>`, `because <id>`, `in <phase>`. */
  previousWord: string;
  /** Value sets and rules defined so far in the document. */
  definedValueSets: string[];
}

const DEFINING_KEYWORDS = new Set(["rule", "table", "criteria", "disable", "valueset"]);
// The lexical shapes of the grammar (dsl/grammar.lark): DATE, CODE, QUANTITY, NAME.
const DATE = /^\d{4}-\d{2}-\d{2}/;
const CODE = /^(?:[A-Z][0-9][0-9A-Z]*\.[0-9A-Z]*\*?|[A-Z][0-9][0-9A-Z]*\*|\d{4}[A-Z](?![A-Za-z0-9_])|[A-Z]\d{2,4}(?![A-Za-z0-9_]|\.[A-Za-z0-9])|\d{5}(?!\d|\.\d))/;
const NUMBER = /^\d+(?:\.\d+)?/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/;
const OPERATOR = /^(?:\.\.|=>|!=|<=|>=|[=<>+])/;

export function ruleParser(index: VocabularyIndex): StreamParser<LineState> {
  return {
    name: "cutis-rules",
    startState: () => ({ previousWord: "", definedValueSets: [] }),
    copyState: (state) => ({ previousWord: state.previousWord, definedValueSets: state.definedValueSets.slice() }),
    token(stream, state) {
      if (stream.sol()) state.previousWord = "";
      if (stream.eatSpace()) return null;
      if (stream.peek() === "#") {
        stream.skipToEnd();
        return "comment";
      }
      if (stream.peek() === '"') {
        stream.next();
        let escaped = false;
        while (!stream.eol()) {
          const ch = stream.next();
          if (ch === '"' && !escaped) break;
          escaped = !escaped && ch === "\\";
        }
        state.previousWord = "";
        return "string";
      }
      if (stream.match(DATE)) return "number.special";
      if (stream.match(CODE)) {
        state.previousWord = "";
        return "literal";
      }
      if (stream.match(NUMBER)) return "number";
      if (stream.match(OPERATOR)) return "operator";
      if (stream.match(/^[[\](){}]/)) return "bracket";
      if (stream.match(/^\|/)) return "separator";
      if (stream.match(/^[,:;]/)) return "punctuation";
      const name = stream.match(NAME) as RegExpMatchArray | null;
      if (!name) {
        stream.next();
        return null;
      }
      const word = name[0];
      const before = state.previousWord;
      state.previousWord = word;
      if (DEFINING_KEYWORDS.has(before)) {
        if (before === "valueset") state.definedValueSets.push(word);
        return "variableName.definition";
      }
      if (before === "because") return "labelName";
      if (before === "in" && index.phases.has(word)) return "modifier";
      if (word === "true" || word === "false") return "bool";
      if (index.keywords.has(word)) return "keyword";
      if (index.fieldPaths.has(word)) return "propertyName";
      if (index.valueSetNames.has(word) || state.definedValueSets.includes(word)) return "typeName";
      if (index.actionVerbs.has(word)) return "variableName.function";
      if (index.units.has(word)) return "unit";
      if (index.symbols.has(word)) return "atom";
      if (index.actionWords.has(word)) return "variableName.function";
      return "variableName";
    },
    languageData: {
      commentTokens: { line: "#" },
      closeBrackets: { brackets: ["(", "[", "{", '"'] },
    },
  };
}

export function ruleLanguage(index: VocabularyIndex): StreamLanguage<LineState> {
  return StreamLanguage.define(ruleParser(index));
}

/** Colours chosen for contrast on white (all at least 4.5:1). */
export const ruleHighlightStyle = HighlightStyle.define([
  { tag: tags.keyword, color: "#7a1f8f", fontWeight: "600" },
  { tag: tags.modifier, color: "#7a1f8f", fontStyle: "italic" },
  { tag: tags.comment, color: "#5c6670", fontStyle: "italic" },
  { tag: tags.string, color: "#0b6b2f" },
  { tag: [tags.number, tags.unit], color: "#a3480a" },
  { tag: tags.special(tags.number), color: "#a3480a" },
  { tag: tags.literal, color: "#0a5ea8", fontWeight: "600" },
  { tag: tags.propertyName, color: "#1f4fa3" },
  { tag: tags.typeName, color: "#8a5a00" },
  { tag: tags.function(tags.variableName), color: "#b0264d" },
  { tag: tags.definition(tags.variableName), color: "#1a1a1a", fontWeight: "700" },
  { tag: tags.labelName, color: "#1a1a1a", textDecoration: "underline dotted" },
  { tag: tags.atom, color: "#00707a" },
  { tag: tags.bool, color: "#00707a", fontWeight: "600" },
  { tag: [tags.operator, tags.separator, tags.punctuation], color: "#444c55" },
]);

export function ruleHighlighting(): Extension {
  return syntaxHighlighting(ruleHighlightStyle);
}
