"""Adding people across clinics and second factors on live sessions, as an attacker would try them.

Clinic B's owner adds the email of someone who works at clinic A: the reply must be the reply for a
brand-new email, nothing of the account may be set or handed out, A must keep working for that
person, and B's role must grant nothing until the person logs in (enrolling their own second factor
when the role needs one). A session opened with a password alone never carries a role that needs a
second factor, even after a promotion.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from server.db import global_session
from tenants import accounts, totp
from tests.factories import PASSWORD, TOTP_KEY, current_code, make_clinic
from tests.server.session_client import LOGIN, as_person, login

ADD_USER = """mutation($email: String!, $name: String!, $role: String!) {
  addUser(email: $email, name: $name, role: $role) {
    __typename
    ... on UserAdded { invitationSent totpProvisioningUri user { id email name role secondFactorEnrolled pending } }
    ... on InvalidInput { fields { path message } }
  }
}"""
USERS = "query { users { email name role secondFactorEnrolled pending } }"
ME = "query { me { role permissions secondFactorNeeded memberships { tenantName role } } }"
CHANGE_ROLE = """mutation($id: ID!, $role: String!) { changeUserRole(id: $id, role: $role) {
  __typename ... on ClinicUser { role } } }"""
CREATE_KEY = """mutation { createApiKey(name: "promoted") {
  __typename ... on CreatedApiKey { secret } ... on Forbidden { message permission } } }"""


async def _login_result(client: Any, email: str, password: str = PASSWORD, code: str | None = None) -> dict:  # type: ignore[type-arg]
    response = await client.post(
        "/graphql", json={"query": LOGIN, "variables": {"email": email, "password": password, "totp": code}}
    )
    return response.json()["data"]["login"]  # type: ignore[no-any-return]


def _without_identity(reply: dict) -> dict:  # type: ignore[type-arg]
    user = {k: v for k, v in reply["user"].items() if k not in ("id", "email")}
    return {**reply, "user": user}


async def _account(factory: Any, email: str) -> Any:
    async with global_session(factory) as session:
        return await accounts.account_by_email(session, email)


class TestAddingSomeoneWithAnAccountElsewhere:
    async def test_the_reply_is_the_reply_for_a_new_email(self, app_client) -> None:
        factory = app_client.app_services.session_factory
        clinic_a = await make_clinic(factory, "clinic-a", roles=("biller",))
        clinic_b = await make_clinic(factory, "clinic-b", roles=("owner",))
        owner_b = await login(app_client, *clinic_b.people["owner"])
        victim = clinic_a.people["biller"][0]
        fresh = f"new-{uuid.uuid4().hex[:6]}@elsewhere.test"

        existing = await as_person(
            app_client, ADD_USER, {"email": victim, "name": "Typed Name", "role": "owner"}, owner_b
        )
        new = await as_person(app_client, ADD_USER, {"email": fresh, "name": "Typed Name", "role": "owner"}, owner_b)

        assert existing["data"]["addUser"]["__typename"] == "UserAdded"
        assert _without_identity(existing["data"]["addUser"]) == _without_identity(new["data"]["addUser"])
        assert existing["data"]["addUser"]["user"]["name"] == "Typed Name"  # not A's stored "Biller"
        assert existing["data"]["addUser"]["totpProvisioningUri"] is None
        listed = {u["email"]: u for u in (await as_person(app_client, USERS, None, owner_b))["data"]["users"]}
        assert listed[victim] == {**listed[fresh], "email": victim}
        assert listed[victim]["name"] == "Typed Name" and listed[victim]["pending"] is True

    async def test_no_credential_of_the_account_is_set_and_clinic_a_keeps_working(self, app_client) -> None:
        factory = app_client.app_services.session_factory
        clinic_a = await make_clinic(factory, "clinic-a", roles=("biller",))
        clinic_b = await make_clinic(factory, "clinic-b", roles=("owner",))
        owner_b = await login(app_client, *clinic_b.people["owner"])
        victim = clinic_a.people["biller"][0]
        before = await _account(factory, victim)

        await as_person(app_client, ADD_USER, {"email": victim, "name": "X", "role": "owner"}, owner_b)

        after = await _account(factory, victim)
        assert (after.totp_secret, after.totp_enrolled_at, after.password_hash) == (None, None, before.password_hash)
        person = app_client.another_browser()
        async with person:
            result = await _login_result(person, victim)  # a password alone still opens clinic A
            assert result["ok"] is True
            assert result["totpEnrollmentUri"] is not None  # B's invitation offers enrollment, not forced
            me = await as_person(person, ME, None, {"X-CSRF-Token": result["csrfToken"]})
            assert me["data"]["me"]["role"] == "biller"
            assert [m["role"] for m in me["data"]["me"]["memberships"]] == ["biller"]  # B's owner role waits

    async def test_the_person_accepts_b_by_enrolling_their_own_second_factor(self, app_client) -> None:
        factory = app_client.app_services.session_factory
        clinic_a = await make_clinic(factory, "clinic-a", roles=("biller",))
        clinic_b = await make_clinic(factory, "clinic-b", roles=("owner",))
        owner_b = await login(app_client, *clinic_b.people["owner"])
        person_email = clinic_a.people["biller"][0]
        await as_person(app_client, ADD_USER, {"email": person_email, "name": "X", "role": "owner"}, owner_b)

        person = app_client.another_browser()
        async with person:
            offered = await _login_result(person, person_email)
            secret = re.search(r"secret=([A-Z2-7]+)", offered["totpEnrollmentUri"]).group(1)  # type: ignore[union-attr]
            enrolled = await _login_result(person, person_email, code=current_code(secret))
            assert enrolled["ok"] is True
            headers = {"X-CSRF-Token": enrolled["csrfToken"], "X-Cutis-Tenant": str(clinic_b.tenant_id)}
            me = await as_person(person, ME, None, headers)
            assert me["data"]["me"]["role"] == "owner" and "users:admin" in me["data"]["me"]["permissions"]
        listed = {u["email"]: u for u in (await as_person(app_client, USERS, None, owner_b))["data"]["users"]}
        assert listed[person_email]["pending"] is False and listed[person_email]["secondFactorEnrolled"] is True
        assert listed[person_email]["name"] == "Biller"  # accepted: now the person's own name

    async def test_already_a_member_says_so_about_this_clinic_only(self, app_client) -> None:
        factory = app_client.app_services.session_factory
        clinic_b = await make_clinic(factory, "clinic-b", roles=("owner", "biller"))
        owner_b = await login(app_client, *clinic_b.people["owner"])
        again = await as_person(
            app_client, ADD_USER, {"email": clinic_b.people["biller"][0], "name": "X", "role": "owner"}, owner_b
        )
        assert again["data"]["addUser"]["fields"] == [
            {"path": "email", "message": "this person is already in your clinic"}
        ]

    async def test_the_invitation_mail_is_the_same_for_new_and_existing_accounts(self, app_client) -> None:
        services = app_client.app_services
        clinic_a = await make_clinic(services.session_factory, "clinic-a", roles=("biller",))
        clinic_b = await make_clinic(services.session_factory, "clinic-b", roles=("owner",))
        owner_b = await login(app_client, *clinic_b.people["owner"])
        fresh = f"new-{uuid.uuid4().hex[:6]}@elsewhere.test"
        for email in (clinic_a.people["biller"][0], fresh):
            await as_person(app_client, ADD_USER, {"email": email, "name": "X", "role": "biller"}, owner_b)
        await services.queue.drain()
        mails = {m["To"]: m for m in services.mailer.messages()}
        bodies = [
            re.sub(r"token=[\w-]+", "token=T", mails[e].get_content()) for e in (clinic_a.people["biller"][0], fresh)
        ]
        assert bodies[0] == bodies[1]
        assert mails[fresh]["Subject"] == mails[clinic_a.people["biller"][0]]["Subject"]


async def test_cli_user_add_sets_no_credential_of_an_existing_account(database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from server.admin import add_user
    from server.db import create_engine, create_session_factory
    from server.settings import Settings

    engine = create_engine(Settings(database_url=database_url, data_dir=tmp_path, totp_key=TOTP_KEY))
    factory = create_session_factory(engine)
    try:
        clinic_a = await make_clinic(factory, "clinic-a", roles=("biller",))
        clinic_b = await make_clinic(factory, "clinic-b")
        async with global_session(factory) as session:
            (clinic,) = await accounts.clinics(session, [clinic_b.tenant_id])
        victim = clinic_a.people["biller"][0]
        before = await _account(factory, victim)
        added = await add_user(factory, clinic.slug, victim, "Typed", "owner")
        after = await _account(factory, victim)
        assert added.generated_password is None
        assert (after.totp_secret, after.password_hash, after.name) == (None, before.password_hash, before.name)
    finally:
        await engine.dispose()


class TestSecondFactorOnLiveSessions:
    async def test_a_password_session_promoted_to_owner_gets_no_owner_rights(self, app_client) -> None:
        factory = app_client.app_services.session_factory
        clinic = await make_clinic(factory, roles=("owner", "biller"))
        owner = await login(app_client, *clinic.people["owner"])
        biller_email = clinic.people["biller"][0]
        person = app_client.another_browser()
        async with person:
            biller = await login(person, biller_email)  # password only: billers need no second factor
            users = (await as_person(app_client, "query { users { id email } }", None, owner))["data"]["users"]
            biller_id = next(u["id"] for u in users if u["email"] == biller_email)
            promoted = await as_person(app_client, CHANGE_ROLE, {"id": biller_id, "role": "owner"}, owner)
            assert promoted["data"]["changeUserRole"]["role"] == "owner"

            refused = await as_person(person, CREATE_KEY, None, biller)
            assert refused["data"]["createApiKey"]["__typename"] == "Forbidden"
            assert "second factor" in refused["data"]["createApiKey"]["message"]
            audit = await as_person(person, "query { auditEvents { nodes { id } } }", None, biller)
            assert "second factor" in audit["errors"][0]["message"]
            me = (await as_person(person, ME, None, biller))["data"]["me"]
            assert me["role"] == "owner" and me["permissions"] == [] and me["secondFactorNeeded"] is True

    async def test_logging_in_again_with_an_enrolled_code_gives_the_rights(self, app_client) -> None:
        clinic = await make_clinic(app_client.app_services.session_factory, roles=("owner",))
        owner = await login(app_client, *clinic.people["owner"])
        created = await as_person(app_client, CREATE_KEY, None, owner)
        assert created["data"]["createApiKey"]["__typename"] == "CreatedApiKey"
        me = (await as_person(app_client, ME, None, owner))["data"]["me"]
        assert me["secondFactorNeeded"] is False


async def test_lockout_ends_the_persons_live_sessions(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory, roles=("biller",))
    email = clinic.people["biller"][0]
    headers = await login(app_client, email)
    attacker = app_client.another_browser()
    async with attacker:
        for _ in range(5):
            assert (await _login_result(attacker, email, password="wrong wrong wrong"))["ok"] is False
    after = await as_person(app_client, ME, None, headers)
    assert after["errors"][0]["message"] == "your session has ended: log in again"


async def test_login_fails_closed_for_a_person_in_no_clinic(app_client) -> None:
    from tenants.auth import create_user

    factory = app_client.app_services.session_factory
    email = f"nobody-{uuid.uuid4().hex[:6]}@nowhere.test"
    async with global_session(factory) as session:
        await create_user(session, email, "No Clinic", PASSWORD)
    result = await _login_result(app_client, email)
    assert result["ok"] is False and result["csrfToken"] is None
    assert result["message"] == (await _login_result(app_client, "unknown@nowhere.test"))["message"]
    assert "cutis_session" not in app_client.cookies


async def test_totp_secrets_are_sealed_at_rest(app_client) -> None:
    factory = app_client.app_services.session_factory
    clinic = await make_clinic(factory, roles=("owner",))
    email, secret = clinic.people["owner"]
    stored = (await _account(factory, email)).totp_secret
    assert stored.startswith("v1:") and secret not in stored
    assert (await _login_result(app_client, email, code=totp.code_at(secret, totp.current_step())))["ok"] is True


async def test_a_secret_stored_before_sealing_still_works_and_is_sealed_at_login(app_client) -> None:
    factory = app_client.app_services.session_factory
    clinic = await make_clinic(factory, roles=("owner",))
    email, secret = clinic.people["owner"]
    async with global_session(factory) as session:
        account = await accounts.account_by_email(session, email)
        account.totp_secret = secret  # as written before sealing existed
        await accounts.save_login_state(session, account)
    assert (await _login_result(app_client, email, code=current_code(secret)))["ok"] is True
    assert (await _account(factory, email)).totp_secret.startswith("v1:")
