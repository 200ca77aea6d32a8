// Who takes the reviewer's part: in a clinic whose only qualified approver is its owner, the owner
// may let the onboarding staff the clinic has granted approve rulebook versions or send them back
// (publishing stays with the owner). The server decides; this panel shows the setting and asks for
// a fresh authenticator code to change it.
import { gql } from "../api/client";
import type { Refusal } from "../api/types";
import { h } from "../dom";
import { askForCode } from "./codePrompt";
import { renderFailure, renderRefusal } from "./refusal";

export interface ReviewDelegation {
  onboardingMayReview: boolean;
  qualifiedApprovers: number;
  inEffect: boolean;
  changedAt: string | null;
}

type SetResult = ({ __typename: "ReviewDelegationInfo" } & ReviewDelegation) | Refusal;

export async function reviewDelegation(): Promise<ReviewDelegation> {
  const data = await gql<{ clinic: { reviewDelegation: ReviewDelegation } }>("ReviewDelegation");
  return data.clinic.reviewDelegation;
}

function describe(setting: ReviewDelegation): string {
  const people = setting.qualifiedApprovers === 1 ? "1 person who may approve" : `${setting.qualifiedApprovers} people who may approve`;
  if (setting.inEffect) return `Your clinic has ${people}. Onboarding staff may approve rulebook versions or ask for changes; publishing stays with you.`;
  if (setting.onboardingMayReview) return `Your clinic has ${people}: onboarding staff take the reviewer's part only where there is a single one, so your permission is not in effect.`;
  return `Your clinic has ${people}. Rulebook versions are approved by owners and compliance reviewers.`;
}

/** The owner's panel on the payers page. */
export async function renderReviewDelegation(section: HTMLElement): Promise<void> {
  let setting = await reviewDelegation();
  const outcome = h("div", { class: "outcome", id: "review-delegation-outcome" });
  const status = h("p", { id: "review-delegation-status" });
  const toggle = h("button", { type: "button", class: "button" }, "");

  function draw(): void {
    status.textContent = describe(setting);
    toggle.textContent = setting.onboardingMayReview ? "Stop onboarding staff reviewing" : "Let onboarding staff review";
    toggle.hidden = !setting.onboardingMayReview && setting.qualifiedApprovers !== 1;
  }

  toggle.addEventListener("click", async () => {
    const granted = !setting.onboardingMayReview;
    const label = toggle.textContent ?? "";
    const code = await askForCode(label, granted ? "Onboarding staff will approve or send back rulebook versions for you." : "Only owners and compliance reviewers will approve rulebook versions.");
    if (code === null) return;
    toggle.disabled = true;
    try {
      const data = await gql<{ setReviewDelegation: SetResult }>("SetReviewDelegation", { onboardingMayReview: granted, totpCode: code });
      const result = data.setReviewDelegation;
      if (result.__typename === "ReviewDelegationInfo") {
        setting = result;
        draw();
        outcome.replaceChildren(h("p", { class: "callout success", role: "status" }, granted ? "Onboarding staff may now review." : "Onboarding staff no longer review."));
      } else {
        outcome.replaceChildren(renderRefusal(label, result));
      }
    } catch (error) {
      outcome.replaceChildren(renderFailure(label, error as Error));
    } finally {
      toggle.disabled = false;
    }
  });

  draw();
  section.replaceChildren(
    h("h2", { id: "review-delegation-title" }, "Who reviews rulebook versions"),
    status,
    h("div", { class: "toolbar" }, toggle),
    outcome,
  );
}
