// What highlighting and completion know about the rule language, derived at run time
// from `ruleVocabulary` (the checker's own vocabulary): no second hand-written list.
import type { Vocabulary, VocabularyType } from "../api/types";

export interface VocabularyIndex {
  vocabulary: Vocabulary;
  keywords: Set<string>;
  phases: Set<string>;
  units: Set<string>;
  /** Every field path and every prefix of one (`service`, `service.mohs`). */
  fieldPaths: Set<string>;
  /** The first word of each action sentence: `cap`, `flag`, `require`... */
  actionVerbs: Set<string>;
  /** The other fixed words of the action sentences: `lesions`, `of`, `into`... */
  actionWords: Set<string>;
  valueSetNames: Set<string>;
  /** Enumerated symbols (`destruction`, `medicare_ffs`, `itching`...) by field path. */
  symbolsByField: Map<string, string[]>;
  symbols: Set<string>;
}

function symbolsOf(type: VocabularyType | undefined): string[] {
  if (!type) return [];
  if (type.symbols) return type.symbols;
  if (type.element) return symbolsOf(type.element);
  return [];
}

export function indexVocabulary(vocabulary: Vocabulary): VocabularyIndex {
  const fieldPaths = new Set<string>();
  const symbolsByField = new Map<string, string[]>();
  const symbols = new Set<string>();
  for (const field of vocabulary.fields) {
    const parts = field.path.split(".");
    for (let i = 1; i <= parts.length; i++) fieldPaths.add(parts.slice(0, i).join("."));
    const fieldSymbols = symbolsOf(field.type);
    if (fieldSymbols.length) symbolsByField.set(field.path, fieldSymbols);
    fieldSymbols.forEach((s) => symbols.add(s));
  }
  const actionVerbs = new Set<string>();
  const actionWords = new Set<string>();
  for (const action of vocabulary.actions) {
    const words = action.template.replace(/\{\w+\}/g, " ").split(/\s+/).filter(Boolean);
    if (words.length) actionVerbs.add(words[0]);
    words.slice(1).forEach((w) => actionWords.add(w));
    Object.values(action.params).forEach((p) => symbolsOf(p).forEach((s) => symbols.add(s)));
  }
  Object.values(vocabulary.valueSets).forEach((set) => symbolsOf(set.type).forEach((s) => symbols.add(s)));
  return {
    vocabulary,
    keywords: new Set(vocabulary.keywords),
    phases: new Set(vocabulary.phases),
    units: new Set(vocabulary.units),
    fieldPaths,
    actionVerbs,
    actionWords,
    valueSetNames: new Set(Object.keys(vocabulary.valueSets)),
    symbolsByField,
    symbols,
  };
}
