// The operation documents are the shared files in graphql/operations, imported verbatim:
// the page sends exactly what the contract tests validate against the schema.
import AdoptTemplate from "../../../graphql/operations/AdoptTemplate.graphql?raw";
import CancelImpactReplay from "../../../graphql/operations/CancelImpactReplay.graphql?raw";
import ClinicRulebooks from "../../../graphql/operations/ClinicRulebooks.graphql?raw";
import CreateRulebook from "../../../graphql/operations/CreateRulebook.graphql?raw";
import ExplainRulebook from "../../../graphql/operations/ExplainRulebook.graphql?raw";
import FormatRulebook from "../../../graphql/operations/FormatRulebook.graphql?raw";
import ImpactReplay from "../../../graphql/operations/ImpactReplay.graphql?raw";
import Login from "../../../graphql/operations/Login.graphql?raw";
import Logout from "../../../graphql/operations/Logout.graphql?raw";
import Me from "../../../graphql/operations/Me.graphql?raw";
import PublishRulebook from "../../../graphql/operations/PublishRulebook.graphql?raw";
import RecentEncounters from "../../../graphql/operations/RecentEncounters.graphql?raw";
import ReviewDelegation from "../../../graphql/operations/ReviewDelegation.graphql?raw";
import SetReviewDelegation from "../../../graphql/operations/SetReviewDelegation.graphql?raw";
import ReviewRulebook from "../../../graphql/operations/ReviewRulebook.graphql?raw";
import RollbackRulebook from "../../../graphql/operations/RollbackRulebook.graphql?raw";
import Rulebook from "../../../graphql/operations/Rulebook.graphql?raw";
import RulebookTemplates from "../../../graphql/operations/RulebookTemplates.graphql?raw";
import RulebookVersions from "../../../graphql/operations/RulebookVersions.graphql?raw";
import RuleVocabulary from "../../../graphql/operations/RuleVocabulary.graphql?raw";
import StartImpactReplay from "../../../graphql/operations/StartImpactReplay.graphql?raw";
import SaveRulebookDraft from "../../../graphql/operations/SaveRulebookDraft.graphql?raw";
import SubmitRulebookForReview from "../../../graphql/operations/SubmitRulebookForReview.graphql?raw";
import TestRulebook from "../../../graphql/operations/TestRulebook.graphql?raw";
import ValidateRulebook from "../../../graphql/operations/ValidateRulebook.graphql?raw";
import DraftShadow from "../../../graphql/operations/DraftShadow.graphql?raw";
import StartDraftShadow from "../../../graphql/operations/StartDraftShadow.graphql?raw";
import StopDraftShadow from "../../../graphql/operations/StopDraftShadow.graphql?raw";
import DiffRulebooks from "../../../graphql/operations/DiffRulebooks.graphql?raw";
import AnswerProviderQuery from "../../../graphql/operations/AnswerProviderQuery.graphql?raw";
import ClinicPayers from "../../../graphql/operations/ClinicPayers.graphql?raw";
import EncounterCoding from "../../../graphql/operations/EncounterCoding.graphql?raw";
import EncounterList from "../../../graphql/operations/EncounterList.graphql?raw";
import OverrideLine from "../../../graphql/operations/OverrideLine.graphql?raw";
import ProviderQueries from "../../../graphql/operations/ProviderQueries.graphql?raw";
import WithdrawProviderQuery from "../../../graphql/operations/WithdrawProviderQuery.graphql?raw";

export const operations = {
  AdoptTemplate,
  CancelImpactReplay,
  ClinicRulebooks,
  CreateRulebook,
  DiffRulebooks,
  DraftShadow,
  ExplainRulebook,
  FormatRulebook,
  ImpactReplay,
  Login,
  Logout,
  Me,
  PublishRulebook,
  RecentEncounters,
  ReviewDelegation,
  ReviewRulebook,
  RollbackRulebook,
  Rulebook,
  RulebookTemplates,
  RulebookVersions,
  RuleVocabulary,
  SaveRulebookDraft,
  SetReviewDelegation,
  StartDraftShadow,
  StartImpactReplay,
  StopDraftShadow,
  SubmitRulebookForReview,
  TestRulebook,
  ValidateRulebook,
  AnswerProviderQuery,
  ClinicPayers,
  EncounterCoding,
  EncounterList,
  OverrideLine,
  ProviderQueries,
  WithdrawProviderQuery,
} as const;

export type OperationName = keyof typeof operations;
