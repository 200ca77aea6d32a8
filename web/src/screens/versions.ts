// A rulebook's versions: the history, each version's text with its review comments, and the steps
// that take a draft live, offered by role: submit (practice manager), approve or request changes,
// publish and roll back (compliance reviewer; each asks for a fresh authenticator code). Onboarding
// staff approve or request changes where the clinic's owner let them (`panels/reviewDelegation`).
import { gql } from "../api/client";
import type { Me, Refusal, Rulebook, RulebookVersion, VersionResult } from "../api/types";
import { announce, h, replace } from "../dom";
import { askForCode } from "../panels/codePrompt";
import { renderFailure, renderRefusal } from "../panels/refusal";
import { reviewDelegation } from "../panels/reviewDelegation";
import { effectiveRange, renderVersionHistory, shortHash, statusBadge, type PersonName } from "../panels/versionHistory";
import { renderVersionComments, renderVersionText } from "../panels/versionText";
import { focusHeading } from "./shell";

type RulebookResult = (Rulebook & { __typename: "Rulebook" }) | { __typename: "NotFoundError"; message: string };

export function versionsPath(rulebookId: string, versionId?: string): string {
  const path = `/rulebooks/${encodeURIComponent(rulebookId)}/versions`;
  return versionId ? `${path}?version=${encodeURIComponent(versionId)}` : path;
}

export function comparePath(rulebookId: string, from: string, to: string): string {
  return `/rulebooks/${encodeURIComponent(rulebookId)}/compare?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
}

/** The impact replay of the rulebook's draft; with a replay id, that replay (a reload picks it up). */
export function replayPath(rulebookId: string, replayId?: string): string {
  const path = `/rulebooks/${encodeURIComponent(rulebookId)}/replay`;
  return replayId ? `${path}?replay=${encodeURIComponent(replayId)}` : path;
}

/** The draft shadow of the rulebook's draft; with a shadow id, that shadow (a reload picks it up). */
export function shadowPath(rulebookId: string, shadowId?: string): string {
  const path = `/rulebooks/${encodeURIComponent(rulebookId)}/shadow`;
  return shadowId ? `${path}?shadow=${encodeURIComponent(shadowId)}` : path;
}

export async function renderVersions(main: HTMLElement, rulebookId: string, me: Me): Promise<void> {
  document.title = "Versions · cutis";
  main.replaceChildren(h("p", { class: "loading", role: "status" }, "Loading the versions…"));
  const canWrite = me.permissions.includes("rulebooks:write");
  const canApprove = me.permissions.includes("rulebooks:approve");
  // Onboarding staff take the reviewer's part where the clinic's owner let them (publishing stays with the owner).
  const canReview = canApprove || (me.role === "onboarding" && (await reviewDelegation()).inEffect);
  const person: PersonName = (userId) => (!userId ? "someone" : userId === me.userId ? "you" : "a colleague");
  let selectedId = new URLSearchParams(location.search).get("version");
  let rulebook: Rulebook;
  let versions: RulebookVersion[] = [];

  const outcome = h("div", { class: "outcome", id: "versions-outcome" });
  const historySection = h("section", { class: "version-history", "aria-label": "Version history" });
  const detail = h("section", { class: "version-detail", "aria-live": "polite" });
  const submitButton = h("button", { type: "button", class: "button primary" }, "Submit for review");
  const draftCompare = h("a", { class: "button subtle", "data-route": "", hidden: true }, "Compare the draft with the published version");
  const replayLink = h("a", { class: "button subtle", href: replayPath(rulebookId), "data-route": "", title: "Code the clinic's stored encounters with the draft and count what changes" }, "Replay the draft");
  const shadowLink = h("a", { class: "button subtle", href: shadowPath(rulebookId), "data-route": "", title: "Code live traffic with the draft beside the published rules for a period, and collect what differs" }, "Shadow the draft");
  const heading = h("h1", {}, "Versions");
  const revisionNote = h("span", { id: "draft-revision" });
  const editorLink = h("a", { href: `/rulebooks/${encodeURIComponent(rulebookId)}`, "data-route": "" }, "");

  async function load(): Promise<boolean> {
    const [found, listed] = await Promise.all([
      gql<{ rulebook: RulebookResult }>("Rulebook", { id: rulebookId }),
      gql<{ rulebookVersions: RulebookVersion[] | null }>("RulebookVersions", { rulebookId }),
    ]);
    if (found.rulebook.__typename !== "Rulebook" || listed.rulebookVersions === null) {
      main.replaceChildren(
        h("div", { class: "page" }, h("h1", {}, "Rulebook not found"), h("p", {}, found.rulebook.__typename === "NotFoundError" ? found.rulebook.message : "no rulebook with that id"), h("a", { href: "/", "data-route": "" }, "Back to payers and rulebooks")),
      );
      focusHeading(main);
      return false;
    }
    rulebook = found.rulebook;
    versions = listed.rulebookVersions;
    if (!versions.some((v) => v.id === selectedId)) selectedId = versions[0]?.id ?? null;
    return true;
  }

  /** Run one lifecycle step; a refusal is shown whole, a success reloads the history. */
  async function step(label: string, button: HTMLButtonElement | null, run: () => Promise<VersionResult>, done: (v: RulebookVersion) => string): Promise<void> {
    if (button) button.disabled = true;
    outcome.replaceChildren(h("p", { class: "muted", role: "status" }, `${label}…`));
    try {
      const result = await run();
      if (result.__typename === "RulebookVersion") {
        selectedId = result.id;
        await load();
        draw();
        const message = done(result);
        outcome.replaceChildren(h("p", { class: "callout success", role: "status" }, message));
        announce(message);
      } else {
        outcome.replaceChildren(renderRefusal(label, result as Refusal));
      }
    } catch (error) {
      outcome.replaceChildren(renderFailure(label, error as Error));
    } finally {
      if (button) button.disabled = false;
    }
  }

  submitButton.addEventListener("click", () =>
    void step("Submit for review", submitButton, async () => {
      const data = await gql<{ submitRulebookForReview: VersionResult }>("SubmitRulebookForReview", { id: rulebook.id, baseRevision: rulebook.draftRevision });
      return data.submitRulebookForReview;
    }, (v) => `Version ${v.number} is in review: a compliance reviewer approves it or asks for changes.`),
  );

  function actions(version: RulebookVersion, drafts: () => { line: number; body: string }[]): HTMLElement | null {
    const newestPublished = versions.find((v) => v.status === "published");
    const id = version.id;
    if (version.status === "in_review" && canReview) {
      const comment = h("textarea", { id: "review-comment", rows: 3 });
      const requestButton = h("button", { type: "button", class: "button" }, "Request changes");
      const approveButton = h("button", { type: "button", class: "button primary" }, "Approve");
      requestButton.addEventListener("click", () =>
        void step("Request changes", requestButton, async () => {
          const data = await gql<{ reviewRulebook: VersionResult }>("ReviewRulebook", {
            versionId: id,
            decision: "REQUEST_CHANGES",
            comment: comment.value.trim() || null,
            lineComments: drafts(),
          });
          return data.reviewRulebook;
        }, (v) => `Changes requested on version ${v.number}: its author sees your comments.`),
      );
      approveButton.addEventListener("click", async () => {
        const code = await askForCode("Approve", `Approving version ${version.number} lets it be published.`);
        if (code === null) return;
        await step("Approve", approveButton, async () => {
          const data = await gql<{ reviewRulebook: VersionResult }>("ReviewRulebook", {
            versionId: id,
            decision: "APPROVE",
            comment: comment.value.trim() || null,
            lineComments: drafts(),
            totpCode: code,
          });
          return data.reviewRulebook;
        }, (v) => `Version ${v.number} is approved: publish it to code encounters with it.`);
      });
      return h(
        "div",
        { class: "review-form" },
        h("h3", {}, "Your review"),
        h("p", { class: "muted" }, "Add comments on lines with the + beside a line of the text below."),
        h("div", { class: "field" }, h("label", { for: "review-comment" }, "Comment on the whole version"), comment),
        h("div", { class: "toolbar" }, requestButton, approveButton),
      );
    }
    if (version.status === "approved" && canApprove) {
      const publishButton = h("button", { type: "button", class: "button primary" }, "Publish");
      publishButton.addEventListener("click", async () => {
        const code = await askForCode("Publish", `From now on version ${version.number} codes the encounters of its dates (${effectiveRange(version)}).`);
        if (code === null) return;
        await step("Publish", publishButton, async () => {
          const data = await gql<{ publishRulebook: VersionResult }>("PublishRulebook", { versionId: id, totpCode: code });
          return data.publishRulebook;
        }, (v) => `Version ${v.number} is published.`);
      });
      return h("div", { class: "toolbar" }, publishButton);
    }
    if (version.status === "published" && canApprove && newestPublished && newestPublished.id !== id) {
      const rollbackButton = h("button", { type: "button", class: "button" }, "Roll back to this version");
      rollbackButton.addEventListener("click", async () => {
        const code = await askForCode("Roll back", `The content of version ${version.number} is published again as a new version.`);
        if (code === null) return;
        await step("Roll back", rollbackButton, async () => {
          const data = await gql<{ rollbackRulebook: VersionResult }>("RollbackRulebook", { rulebookId: rulebook.id, toVersionId: id, totpCode: code });
          return data.rollbackRulebook;
        }, (v) => `Version ${v.number} republishes version ${version.number}.`);
      });
      return h("div", { class: "toolbar" }, rollbackButton);
    }
    return null;
  }

  function drawDetail(): void {
    const version = versions.find((v) => v.id === selectedId);
    if (!version) {
      replace(detail, h("p", { class: "empty-state" }, canWrite ? "No version yet: submit the draft for review to make version 1." : "No version yet: the practice manager submits the draft for review."));
      return;
    }
    const index = versions.indexOf(version);
    const previous = versions[index + 1];
    const commenting = version.status === "in_review" && canApprove;
    const text = renderVersionText(version, person, commenting);
    const rolledBackFrom = version.rolledBackFrom ? versions.find((v) => v.id === version.rolledBackFrom) : null;
    replace(
      detail,
      h("div", { class: "version-head" }, h("h2", { id: "version-title" }, `Version ${version.number}`), statusBadge(version.status)),
      h(
        "dl",
        { class: "version-facts" },
        h("dt", {}, "Content"),
        h("dd", {}, h("code", { title: version.contentHash }, shortHash(version.contentHash))),
        h("dt", {}, "Effective"),
        h("dd", {}, effectiveRange(version)),
        version.extends.length ? [h("dt", {}, "Extends"), h("dd", {}, version.extends.map((pin) => `${pin.name} (${shortHash(pin.version)})`).join(", "))] : null,
        rolledBackFrom ? [h("dt", {}, "Rolled back to"), h("dd", {}, `the content of version ${rolledBackFrom.number}`)] : null,
      ),
      previous
        ? h("p", {}, h("a", { href: comparePath(rulebook.id, previous.id, version.id), "data-route": "" }, `Compare with version ${previous.number}`))
        : null,
      actions(version, text.drafts),
      renderVersionComments(version, person),
      h("h3", {}, "Text"),
      text.element,
    );
  }

  function draw(): void {
    document.title = `Versions of ${rulebook.name} · cutis`;
    heading.textContent = `Versions of ${rulebook.name}`;
    editorLink.textContent = rulebook.name;
    revisionNote.textContent = `Draft at revision ${rulebook.draftRevision}`;
    const published = versions.find((v) => v.status === "published");
    draftCompare.hidden = !published;
    if (published) draftCompare.setAttribute("href", comparePath(rulebook.id, published.id, rulebook.id));
    replace(
      historySection,
      versions.length
        ? renderVersionHistory(versions, selectedId, person, (version) => {
            selectedId = version.id;
            historySection.querySelectorAll("tr").forEach((row) => row.classList.toggle("selected", row.getAttribute("data-version") === String(version.number)));
            historySection.querySelectorAll("button[aria-current]").forEach((b) => b.removeAttribute("aria-current"));
            historySection.querySelector(`tr[data-version="${version.number}"] button`)?.setAttribute("aria-current", "true");
            history.replaceState(null, "", versionsPath(rulebook.id, version.id));
            outcome.replaceChildren();
            drawDetail();
          })
        : h("p", { class: "empty-state" }, "This rulebook has no versions yet."),
    );
    drawDetail();
  }

  if (!(await load())) return;
  main.replaceChildren(
    h(
      "div",
      { class: "page wide" },
      h(
        "div",
        { class: "page-heading versions-heading" },
        h(
          "div",
          {},
          h("nav", { "aria-label": "Breadcrumb", class: "breadcrumb" }, h("a", { href: "/", "data-route": "" }, "Payers"), h("span", { "aria-hidden": "true" }, " / "), editorLink, h("span", { "aria-hidden": "true" }, " / "), h("span", {}, "Versions")),
          heading,
          h("div", { class: "rulebook-meta" }, revisionNote),
        ),
        h("div", { class: "toolbar", role: "toolbar", "aria-label": "Version actions" }, replayLink, shadowLink, draftCompare, canWrite ? submitButton : null),
      ),
      outcome,
      h("div", { class: "versions-layout" }, historySection, detail),
    ),
  );
  draw();
  focusHeading(main);
}
