// The operation documents are the shared files in graphql/operations, imported verbatim:
// the page sends exactly what the contract tests validate against the schema.
import ClinicRulebooks from "../../../graphql/operations/ClinicRulebooks.graphql?raw";
import CreateRulebook from "../../../graphql/operations/CreateRulebook.graphql?raw";
import ExplainRulebook from "../../../graphql/operations/ExplainRulebook.graphql?raw";
import FormatRulebook from "../../../graphql/operations/FormatRulebook.graphql?raw";
import Login from "../../../graphql/operations/Login.graphql?raw";
import Logout from "../../../graphql/operations/Logout.graphql?raw";
import Me from "../../../graphql/operations/Me.graphql?raw";
import RecentEncounters from "../../../graphql/operations/RecentEncounters.graphql?raw";
import Rulebook from "../../../graphql/operations/Rulebook.graphql?raw";
import RuleVocabulary from "../../../graphql/operations/RuleVocabulary.graphql?raw";
import SaveRulebookDraft from "../../../graphql/operations/SaveRulebookDraft.graphql?raw";
import TestRulebook from "../../../graphql/operations/TestRulebook.graphql?raw";
import ValidateRulebook from "../../../graphql/operations/ValidateRulebook.graphql?raw";

export const operations = {
  ClinicRulebooks,
  CreateRulebook,
  ExplainRulebook,
  FormatRulebook,
  Login,
  Logout,
  Me,
  RecentEncounters,
  Rulebook,
  RuleVocabulary,
  SaveRulebookDraft,
  TestRulebook,
  ValidateRulebook,
} as const;

export type OperationName = keyof typeof operations;
