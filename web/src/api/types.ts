// The shapes the page reads from the operation documents (a subset of graphql/schema.graphql).

export interface Me {
  userId: string | null;
  email: string | null;
  name: string | null;
  role: string | null;
  permissions: string[];
  memberships: { tenantId: string; tenantName: string; role: string }[];
  currentTenantId: string | null;
}

export interface Payer {
  code: string;
  name: string;
  planType: string;
}

export interface RulebookSummary {
  id: string;
  name: string;
  payer: string | null;
  layer: string;
  status: string;
  draftRevision: number;
  draftUpdatedAt: string;
}

export interface Rulebook extends RulebookSummary {
  draftText: string;
}

export interface Diagnostic {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  start: number;
  end: number;
  severity: string;
  code: string;
  message: string;
  hint: string | null;
}

export interface ExpectationResult {
  expectation: string;
  passed: boolean;
  message: string;
  line: number | null;
}

export interface RuleTestResult {
  name: string;
  passed: boolean;
  line: number | null;
  example: number | null;
  fired: string[];
  observed: string[];
  expectations: ExpectationResult[];
}

export interface TestReport {
  passed: boolean;
  results: RuleTestResult[];
  coverage: {
    percent: number;
    uncoveredRules: string[];
    rules: Record<string, boolean>;
    rows: Record<string, boolean>;
    conditions: Record<string, { true: boolean; false: boolean }>;
  } | null;
  diagnostics: Diagnostic[];
}

export interface RuleRef {
  ruleId: string;
  label: string;
  span: { line: number; column: number } | null;
}

export interface Reason {
  step: string | null;
  message: string;
  values: Record<string, unknown>;
  rule: RuleRef | null;
}

export interface CodedLine {
  code: string;
  units: number;
  modifiers: string[];
  diagnoses: string[];
  charge: string | null;
  serviceIds: string[];
  reasons: Reason[];
}

export interface HeldLine {
  code: string;
  units: number;
  query: string;
  serviceIds: string[];
  reasons: Reason[];
}

export interface Flag {
  code: string;
  detail: string | null;
  serviceIds: string[];
  reasons: Reason[];
}

export interface TraceEntry {
  rule: string;
  label: string;
  status: string;
  line: number;
  column: number;
  values: Record<string, unknown>;
  actions: string[];
  missing: string[];
  row: number | null;
}

export type ExplainResult =
  | {
      __typename: "ExplainResult";
      coding: {
        status: string;
        claimLines: CodedLine[];
        selfPayLines: CodedLine[];
        heldLines: HeldLine[];
        flags: Flag[];
      } | null;
      trace: TraceEntry[];
      diagnostics: Diagnostic[];
    }
  | { __typename: "InvalidInput"; message: string; fields: { path: string; message: string }[] }
  | { __typename: "NotFoundError"; message: string };

export interface EncounterSummary {
  id: string;
  externalId: string;
  dateOfService: string;
  payer: string;
}

/** `ruleVocabulary`: what the checker knows; highlighting and completion derive from it. */
export interface VocabularyType {
  kind: string;
  description: string;
  symbols?: string[];
  unit?: string;
  system?: string;
  element?: VocabularyType;
  fields?: Record<string, VocabularyType>;
}

export interface Vocabulary {
  phases: string[];
  fields: { path: string; type: VocabularyType; doc: string; required?: boolean }[];
  actions: { name: string; template: string; phases: string[]; doc: string; params: Record<string, VocabularyType> }[];
  valueSets: Record<string, { type: VocabularyType; values: string[] }>;
  units: string[];
  keywords: string[];
}

/** The typed refusals of the lifecycle mutations: each is shown as the server words it. */
export type Refusal =
  | { __typename: "InvalidInput"; message: string; fields: { path: string; message: string }[] }
  | { __typename: "NotFoundError"; message: string }
  | { __typename: "Forbidden"; message: string; permission: string }
  | { __typename: "Conflict"; message: string; currentRevision: number }
  | { __typename: "RolledBack"; message: string };

export interface RulebookComment {
  /** The line of the version's canonical text, from 1; null: about the whole version. */
  line: number | null;
  body: string;
  decision: string | null;
  authorId: string | null;
  createdAt: string;
}

export interface RulebookVersion {
  id: string;
  rulebookId: string;
  number: number;
  /** in_review, changes_requested, approved, published (withdrawn on newer servers). */
  status: string;
  name: string;
  layer: string;
  payer: string | null;
  contentHash: string;
  effectiveFrom: string | null;
  effectiveUntil: string | null;
  rolledBackFrom: string | null;
  submittedBy: string | null;
  submittedAt: string;
  reviewedBy?: string | null;
  reviewedAt: string | null;
  publishedBy?: string | null;
  publishedAt: string | null;
  extends: { name: string; version: string; versionId: string | null }[];
  comments: RulebookComment[];
  canonicalText?: string;
}

export type VersionResult = (RulebookVersion & { __typename: "RulebookVersion" }) | Refusal;

export interface RulebookTemplate {
  name: string;
  layer: string;
  payer: string | null;
  /** The content hash of the shipped release. */
  version: string;
}

/** `diffRulebooks`: what changed between two versions (or a draft), where, and what it does to charges. */
export interface RulebookDiff {
  changes: { kind: string; id: string; status: string; label: string; textDiff: string }[];
  regions: { ruleId: string; sentence: string }[];
  impact: {
    sampled: number;
    changed: number;
    chargeUp: number;
    chargeDown: number;
    encounters: { externalId: string; payer: string; chargeDelta: string; summary: string }[];
  };
}

/** Counts and money (decimal strings) for a group of replayed encounters; a grouped tally carries a subset. */
export interface ImpactTally {
  encounters: number;
  changed: number;
  linesAdded?: number;
  linesRemoved?: number;
  linesChanged?: number;
  flagsChanged?: number;
  holdsChanged?: number;
  chargesUp: string;
  chargesDown: string;
}

export interface NamedTally {
  name: string;
  tally: ImpactTally;
}

/** `impactReplay`: a draft replayed against the clinic's last stored encounters, as far as it got. */
export interface ImpactReplay {
  id: string;
  /** running, done or cancelled. */
  status: string;
  requested?: number;
  total: number;
  done: number;
  chunks: number;
  chunksFinished: number;
  createdAt?: string;
  finishedAt?: string | null;
  impact?: ImpactTally;
  byPayer?: NamedTally[];
  byFamily?: NamedTally[];
  examples?: { encounterId: string; payer: string; dateOfService: string; chargeDelta: string; summary: string }[];
}

export type ImpactReplayResult = (ImpactReplay & { __typename: "ImpactReplay" }) | Refusal;

/** `draftShadow`: a draft coding live traffic beside the published rules for a period. */
export interface DraftShadow {
  id: string;
  rulebookId?: string;
  draftRevision?: number;
  /** running, stopped or ended. */
  status: string;
  startsAt: string;
  endsAt: string;
  stoppedAt?: string | null;
  seen: number;
  impact?: ImpactTally;
  byPayer?: NamedTally[];
  byFamily?: NamedTally[];
  differences?: { encounterId: string; payer: string; dateOfService: string; chargeDelta: string; summary: string }[];
}

export type DraftShadowResult = (DraftShadow & { __typename: "DraftShadow" }) | Refusal;

/** A reason's rule as the coding page reads it: which rulebook and version produced it. */
export interface StoredRuleRef extends RuleRef {
  rulebook: string;
  version: string;
}

export interface StoredReason extends Reason {
  rule: StoredRuleRef | null;
}

export interface LineOverride {
  id: string;
  lineIndex: number;
  original: { code: string; units: number; modifiers: string[]; diagnoses: string[] } & Record<string, unknown>;
  replacement: { code: string; units: number; modifiers: string[]; diagnoses: string[] } & Record<string, unknown>;
  reason: string;
  createdAt: string;
  actorUserId: string | null;
}

export interface StoredCoding {
  id: string;
  status: string;
  codedAt: string;
  rulebooks: { name: string; version: string; versionId: string | null }[];
  releases: { engine: string; vocabulary: string } | null;
  claimLines: CodedLine[];
  selfPayLines: CodedLine[];
  heldLines: HeldLine[];
  flags: Flag[];
  overrides: LineOverride[];
}

export interface EncounterListItem {
  id: string;
  externalId: string;
  version: number;
  status: string;
  dateOfService: string;
  payer: string;
  providerNpi: string;
  createdAt: string;
  coding: { id: string; status: string; codedAt: string; claimLines: { code: string }[]; heldLines: { code: string }[] } | null;
}

export interface PageInfo {
  hasNextPage: boolean;
  endCursor: string | null;
}

export interface StoredEncounter {
  __typename: "Encounter";
  id: string;
  externalId: string;
  version: number;
  previousVersionId: string | null;
  status: string;
  dateOfService: string;
  payer: string;
  createdAt: string;
  note: string;
  coding: StoredCoding | null;
}

export type EncounterCodingResult = StoredEncounter | { __typename: "NotFoundError"; message: string };

export interface ProviderQuery {
  id: string;
  encounterId: string;
  externalId: string;
  serviceId: string;
  topic: string;
  text: string;
  missing: string[];
  status: "open" | "answered" | "withdrawn";
  addendum: string | null;
  answeredEncounterId: string | null;
  createdAt: string;
  resolvedAt: string | null;
}

