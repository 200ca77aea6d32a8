"""A clinic whose single qualified approver is its owner lets onboarding staff take the reviewer's
part, over GraphQL: the owner grants it with a fresh code (audited); onboarding staff enrol a second
factor at login and approve with a fresh code; refused without the grant, with two qualified people
(when granting, and when a second one joins later), and in another clinic the same person serves."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from server.db import global_session, tenant_session
from tenants import accounts
from tenants.auth import create_user
from tenants.base import utcnow
from tenants.models import Membership
from tenants.secrets import SecretBox
from tests.factories import PASSWORD, TOTP_KEY, make_clinic
from tests.server.graphql_ops import operation
from tests.server.session_client import as_person, login
from tests.server.test_rulebook_lifecycle import AETNA, Clock

LOGIN = """mutation Login($email: String!, $password: String!, $totp: String) {
  login(email: $email, password: $password, totpCode: $totp) { ok message csrfToken totpEnrollmentUri }
}"""
NOT_DELEGATED = "your clinic's owner has not let onboarding staff take the reviewer's part"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


async def _enrol(client: Any, email: str, clock: Clock) -> tuple[dict[str, str], str]:
    """Onboarding staff log in, are offered a second factor, and log in again with its first code."""
    offered = await client.post("/graphql", json={"query": LOGIN, "variables": {"email": email, "password": PASSWORD}})
    first = offered.json()["data"]["login"]
    assert first["ok"] and first["totpEnrollmentUri"], first
    assert "review rulebooks where a clinic lets onboarding staff" in first["message"]
    secret = parse_qs(urlparse(first["totpEnrollmentUri"]).query)["secret"][0]
    variables = {"email": email, "password": PASSWORD, "totp": clock.fresh_code(secret)}
    enrolled = (await client.post("/graphql", json={"query": LOGIN, "variables": variables})).json()["data"]["login"]
    assert enrolled["ok"] and enrolled["totpEnrollmentUri"] is None, enrolled
    return {"X-CSRF-Token": enrolled["csrfToken"]}, secret


async def _grant_clinic(factory: Any, tenant_id: uuid.UUID, email: str, role: str) -> None:
    async with global_session(factory) as session:
        account = await accounts.account_by_email(session, email)
    assert account is not None
    async with tenant_session(factory, tenant_id) as session:
        session.add(Membership(tenant_id=tenant_id, user_id=account.id, role=role, accepted_at=utcnow()))


async def _add_reviewer(factory: Any, tenant_id: uuid.UUID) -> None:
    async with tenant_session(factory, tenant_id) as session:
        person = await create_user(
            session,
            f"second-{uuid.uuid4().hex[:6]}@reviewers.test",
            "Second Reviewer",
            PASSWORD,
            box=SecretBox(TOTP_KEY),
        )
        session.add(Membership(tenant_id=tenant_id, user_id=person, role="compliance_reviewer", accepted_at=utcnow()))


async def _submitted_version(call: Any, template: str = AETNA) -> str:
    adopted = (await call("AdoptTemplate", {"name": template}))["adoptTemplate"]
    assert "id" in adopted, adopted
    submitted = (
        await call("SubmitRulebookForReview", {"id": adopted["id"], "baseRevision": adopted["draftRevision"]})
    )["submitRulebookForReview"]
    assert submitted.get("status") == "in_review", submitted
    return str(submitted["id"])


async def test_onboarding_staff_review_where_the_single_owner_lets_them_and_nowhere_else(
    app_client: Any, clock: Clock
) -> None:
    factory = app_client.app_services.session_factory
    clinic_a = await make_clinic(factory, "a", roles=("owner", "onboarding", "practice_manager"))
    clinic_b = await make_clinic(factory, "b", roles=("owner",))
    helper_email = clinic_a.people["onboarding"][0]
    await _grant_clinic(factory, clinic_b.tenant_id, helper_email, "onboarding")
    owner_email, owner_secret = clinic_a.people["owner"]
    owner = await login(app_client, owner_email, owner_secret)
    async with app_client.another_browser() as helper_browser, app_client.another_browser() as b_browser:
        helper, helper_secret = await _enrol(helper_browser, helper_email, clock)
        owner_b = await login(b_browser, *clinic_b.people["owner"])

        async def as_owner(name: str, variables: dict[str, Any]) -> dict[str, Any]:
            return (await as_person(app_client, operation(name), variables, owner))["data"]

        async def as_helper(clinic: Any, name: str, variables: dict[str, Any]) -> dict[str, Any]:
            headers = {**helper, "X-Cutis-Tenant": str(clinic.tenant_id)}
            return (await as_person(helper_browser, operation(name), variables, headers))["data"]

        async def as_owner_b(name: str, variables: dict[str, Any]) -> dict[str, Any]:
            return (await as_person(b_browser, operation(name), variables, owner_b))["data"]

        version_a = await _submitted_version(as_owner)
        version_b = await _submitted_version(as_owner_b)

        # Without the grant, onboarding staff approve nothing.
        approve = {"versionId": version_a, "decision": "APPROVE", "totpCode": clock.fresh_code(helper_secret)}
        refused = (await as_helper(clinic_a, "ReviewRulebook", approve))["reviewRulebook"]
        assert refused == {"__typename": "Forbidden", "message": NOT_DELEGATED, "permission": "rulebooks:approve"}

        # Only the owner grants it, and with a fresh code.
        state = (await as_owner("ReviewDelegation", {}))["clinic"]["reviewDelegation"]
        assert (state["onboardingMayReview"], state["qualifiedApprovers"], state["inEffect"]) == (False, 1, False)
        by_helper = await as_helper(clinic_a, "SetReviewDelegation", {"onboardingMayReview": True})
        assert by_helper["setReviewDelegation"]["__typename"] == "Forbidden"
        no_code = (await as_owner("SetReviewDelegation", {"onboardingMayReview": True}))["setReviewDelegation"]
        assert no_code["__typename"] == "Forbidden" and "totpCode" in no_code["message"], no_code
        granted = (
            await as_owner(
                "SetReviewDelegation", {"onboardingMayReview": True, "totpCode": clock.fresh_code(owner_secret)}
            )
        )["setReviewDelegation"]
        assert granted["__typename"] == "ReviewDelegationInfo" and granted["inEffect"] is True, granted

        # The grant in clinic A gives nothing in clinic B, where the same person also works.
        in_b = {"versionId": version_b, "decision": "APPROVE", "totpCode": clock.fresh_code(helper_secret)}
        assert (await as_helper(clinic_b, "ReviewRulebook", in_b))["reviewRulebook"]["message"] == NOT_DELEGATED
        b_state = (await as_owner_b("ReviewDelegation", {}))["clinic"]["reviewDelegation"]
        assert b_state["onboardingMayReview"] is False

        # In clinic A: approving still asks for a fresh code; then it is approved, and audited as delegated.
        without_code = await as_helper(clinic_a, "ReviewRulebook", {"versionId": version_a, "decision": "APPROVE"})
        assert without_code["reviewRulebook"]["__typename"] == "Forbidden"
        approve["totpCode"] = clock.fresh_code(helper_secret)
        approved = (await as_helper(clinic_a, "ReviewRulebook", approve))["reviewRulebook"]
        assert approved["__typename"] == "RulebookVersion" and approved["status"] == "approved", approved
        events = (
            await as_person(
                app_client,
                'query { auditEvents(filter: {category: "rules"}) { nodes { action detail } } }',
                None,
                owner,
            )
        )["data"]["auditEvents"]["nodes"]
        assert {"action": "rulebook.review", "detail": "version 1: approved (onboarding staff, delegated)"} in events
        admin = (
            await as_person(
                app_client,
                'query { auditEvents(filter: {category: "admin"}) { nodes { action detail } } }',
                None,
                owner,
            )
        )["data"]["auditEvents"]["nodes"]
        assert {"action": "clinic.review_delegation", "detail": "onboarding staff may review"} in admin

        # Publishing stays with the owner.
        publish = {"versionId": version_a, "totpCode": clock.fresh_code(helper_secret)}
        assert (await as_helper(clinic_a, "PublishRulebook", publish))["publishRulebook"]["__typename"] == "Forbidden"
        publish["totpCode"] = clock.fresh_code(owner_secret)
        assert (await as_owner("PublishRulebook", publish))["publishRulebook"]["status"] == "published"

        # A second qualified person joins: the grant lapses in effect, and the next review is refused.
        second = await _submitted_version(as_owner, "UnitedHealthcare commercial (template)")
        await _add_reviewer(factory, clinic_a.tenant_id)
        later = {"versionId": second, "decision": "APPROVE", "totpCode": clock.fresh_code(helper_secret)}
        lapsed = (await as_helper(clinic_a, "ReviewRulebook", later))["reviewRulebook"]
        assert lapsed["__typename"] == "Forbidden" and "now has 2 people who may approve" in lapsed["message"]
        state = (await as_owner("ReviewDelegation", {}))["clinic"]["reviewDelegation"]
        assert (state["onboardingMayReview"], state["qualifiedApprovers"], state["inEffect"]) == (True, 2, False)


async def test_a_clinic_with_two_qualified_people_cannot_grant_it(app_client: Any, clock: Clock) -> None:
    clinic = await make_clinic(
        app_client.app_services.session_factory, roles=("owner", "compliance_reviewer", "onboarding")
    )
    owner_email, owner_secret = clinic.people["owner"]
    owner = await login(app_client, owner_email, owner_secret)
    variables = {"onboardingMayReview": True, "totpCode": clock.fresh_code(owner_secret)}
    refused = (await as_person(app_client, operation("SetReviewDelegation"), variables, owner))["data"]
    assert refused["setReviewDelegation"] == {
        "__typename": "InvalidInput",
        "message": refused["setReviewDelegation"]["message"],
        "fields": [{"path": "granted", "message": refused["setReviewDelegation"]["message"]}],
    }
    assert refused["setReviewDelegation"]["message"].startswith("your clinic has 2 people who may approve")
    state = (await as_person(app_client, operation("ReviewDelegation"), {}, owner))["data"]["clinic"]
    assert state["reviewDelegation"]["onboardingMayReview"] is False  # nothing was written
