// Sample encounters for "Try on an encounter", in the canonical JSON of docs/encounter.schema.json.
import actinicKeratoses from "./actinic-keratoses-20.json";
import biopsyEm from "./biopsy-em.json";
import mohsThreeStages from "./mohs-three-stages.json";
import seborrheicKeratosis from "./seborrheic-keratosis-medicare.json";

export interface SampleEncounter {
  id: string;
  title: string;
  payer: string;
  encounter: Record<string, unknown>;
}

export const SAMPLE_ENCOUNTERS: SampleEncounter[] = [
  { id: "ak-20", title: "20 actinic keratoses destroyed (Aetna)", payer: "AETNA", encounter: actinicKeratoses },
  { id: "mohs-3", title: "Mohs surgery, 3 stages (Aetna)", payer: "AETNA", encounter: mohsThreeStages },
  { id: "biopsy-em", title: "Biopsies with an E/M visit (Aetna)", payer: "AETNA", encounter: biopsyEm },
  { id: "sk-medicare", title: "Seborrheic keratosis shave (Medicare)", payer: "MEDICARE", encounter: seborrheicKeratosis },
];

/** The canonical encounter (snake_case) as the GraphQL `EncounterInput` (camelCase). */
export function toEncounterInput(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toEncounterInput);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([key, inner]) => [
        key.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase()),
        toEncounterInput(inner),
      ]),
    );
  }
  return value;
}
