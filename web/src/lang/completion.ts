// Completion for the rule language: field paths, actions (as fill-in sentences), keywords,
// phases, value-set names, enumerated symbols and codes, chosen by what precedes the cursor.
import {
  snippetCompletion,
  type Completion,
  type CompletionContext,
  type CompletionResult,
  type CompletionSource,
} from "@codemirror/autocomplete";
import type { VocabularyIndex } from "./vocabularyIndex";

const CODE_IN_TEXT = /\b(?:[A-Z][0-9][0-9A-Z]*\.[0-9A-Z]*\*?|[A-Z]\d{2,4}|\d{4}[A-Z]|\d{5})(?![A-Za-z0-9_])/g;

interface DocumentNames {
  valueSets: Map<string, string>; // name -> its definition line, shown as detail
  ruleIds: string[];
  codes: Set<string>;
}

function namesInDocument(text: string): DocumentNames {
  const valueSets = new Map<string, string>();
  for (const match of text.matchAll(/^valueset\s+([A-Za-z_][\w-]*)\s*=\s*(.*)$/gm)) {
    valueSets.set(match[1], match[2].slice(0, 60));
  }
  const ruleIds = [...text.matchAll(/^(?:rule|table|criteria)\s+([A-Za-z_][\w-]*)/gm)].map((m) => m[1]);
  const codes = new Set<string>();
  for (const match of text.matchAll(CODE_IN_TEXT)) codes.add(match[0]);
  return { valueSets, ruleIds, codes };
}

function fieldOptions(index: VocabularyIndex): Completion[] {
  return index.vocabulary.fields.map((field) => ({
    label: field.path,
    type: "property",
    detail: field.type.description,
    info: field.doc,
    boost: 2,
  }));
}

function actionOptions(index: VocabularyIndex): Completion[] {
  return index.vocabulary.actions.map((action) =>
    snippetCompletion(action.template.replace(/\{(\w+)\}/g, "#{$1}"), {
      label: action.template.replace(/\{(\w+)\}/g, "<$1>"),
      type: "function",
      detail: `action · ${action.phases.join(", ")}`,
      info: action.doc,
      boost: 1,
    }),
  );
}

function symbolOptions(symbols: Iterable<string>, detail: string): Completion[] {
  return [...symbols].map((symbol) => ({ label: symbol, type: "enum", detail }));
}

function valueSetOptions(index: VocabularyIndex, names: DocumentNames): Completion[] {
  const options: Completion[] = [];
  for (const [name, definition] of names.valueSets) {
    options.push({ label: name, type: "type", detail: "value set", info: `= ${definition}` });
  }
  for (const [name, set] of Object.entries(index.vocabulary.valueSets)) {
    if (!names.valueSets.has(name)) {
      options.push({ label: name, type: "type", detail: "value set (built in)", info: set.values.join(", ") });
    }
  }
  return options;
}

function codeOptions(index: VocabularyIndex, names: DocumentNames): Completion[] {
  const codes = new Set(names.codes);
  for (const set of Object.values(index.vocabulary.valueSets)) {
    set.values.filter((v) => /^[A-Z0-9][\w.*]*$/.test(v) && /\d/.test(v)).forEach((v) => codes.add(v));
  }
  return [...codes].sort().map((code) => ({ label: code, type: "constant", detail: "code" }));
}

export function ruleCompletion(index: VocabularyIndex): CompletionSource {
  const fields = fieldOptions(index);
  const actions = actionOptions(index);
  const keywords: Completion[] = [...index.keywords].map((k) => ({ label: k, type: "keyword" }));
  const phases: Completion[] = [...index.phases].map((p) => ({ label: p, type: "keyword", detail: "phase" }));
  const units: Completion[] = [...index.units].map((u) => ({ label: u, type: "unit", detail: "unit" }));

  return (context: CompletionContext): CompletionResult | null => {
    const word = context.matchBefore(/[A-Za-z0-9_][\w.*-]*/);
    const from = word ? word.from : context.pos;
    if (!word && !context.explicit) return null;
    const line = context.state.doc.lineAt(context.pos);
    const before = line.text.slice(0, from - line.from);
    if (/^\s*#/.test(before) || (before.split('"').length - 1) % 2 === 1) return null; // comment or string
    const names = namesInDocument(context.state.doc.toString());
    const validFor = /^[\w.*-]*$/;

    if (/\bbecause\s+$/.test(before)) {
      return { from, validFor, options: names.ruleIds.map((id) => ({ label: id, type: "variable", detail: "rule" })) };
    }
    if (/^\s*in\s+$/.test(before)) return { from, validFor, options: phases };
    if (/\d\s+$/.test(before)) return { from, validFor, options: units };
    const compared = before.match(/([a-z_][\w.]*)\s*(?:=|!=)\s*$/);
    if (compared && index.symbolsByField.has(compared[1])) {
      const symbols = index.symbolsByField.get(compared[1]) ?? [];
      return { from, validFor, options: symbolOptions(symbols, compared[1]) };
    }
    const openBrackets = (before.match(/\[/g) ?? []).length - (before.match(/\]/g) ?? []).length;
    const afterMembership = /\bin\s+$/.test(before); // `service.kind in `, `diagnoses any in `
    if (openBrackets > 0 || afterMembership) {
      return {
        from,
        validFor,
        options: [...codeOptions(index, names), ...valueSetOptions(index, names), ...symbolOptions(index.symbols, "symbol")],
      };
    }
    if (word && word.text.includes(".")) return { from, validFor, options: fields };
    const startsStatement = /^\s*$/.test(before) || /\b(?:then|else|and)\s+$/.test(before);
    return {
      from,
      validFor,
      options: [
        ...(startsStatement ? actions : []),
        ...fields,
        ...keywords,
        ...valueSetOptions(index, names),
        ...symbolOptions(index.symbols, "symbol"),
      ],
    };
  };
}
