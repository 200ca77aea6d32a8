"""Logging in: passwords, lockout, second factor, sessions and CSRF, password reset, no enumeration."""

from __future__ import annotations

import re

from tests.factories import PASSWORD, current_code, make_clinic
from tests.server.session_client import LOGIN, as_person, login

ME = "query { me { email role permissions currentTenantId memberships { role tenantName } } }"


async def _login(client, email, password=PASSWORD, totp=None):  # type: ignore[no-untyped-def]
    response = await client.post(
        "/graphql", json={"query": LOGIN, "variables": {"email": email, "password": password, "totp": totp}}
    )
    return response.json()["data"]["login"]


async def test_login_sets_an_httponly_session_cookie_and_me_answers(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory, roles=("practice_manager",))
    email, _ = clinic.people["practice_manager"]
    response = await app_client.post(
        "/graphql", json={"query": LOGIN, "variables": {"email": email, "password": PASSWORD}}
    )
    cookies = response.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookies if c.startswith("cutis_session="))
    assert "HttpOnly" in session_cookie and "Secure" in session_cookie and "SameSite=strict" in session_cookie
    csrf = response.json()["data"]["login"]["csrfToken"]
    me = await as_person(app_client, ME, None, {"X-CSRF-Token": csrf})
    assert me["data"]["me"]["email"] == email
    assert me["data"]["me"]["role"] == "practice_manager"
    assert "rulebooks:write" in me["data"]["me"]["permissions"]


async def test_cookie_without_csrf_header_is_refused(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory, roles=("biller",))
    await login(app_client, clinic.people["biller"][0])
    body = await as_person(app_client, ME, None, {})
    assert body["errors"][0]["message"] == "the X-CSRF-Token header is missing or wrong"


async def test_wrong_password_and_unknown_email_read_the_same(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory, roles=("biller",))
    wrong = await _login(app_client, clinic.people["biller"][0], password="not the password!")
    unknown = await _login(app_client, "nobody@nowhere.test", password="not the password!")
    assert wrong == unknown
    assert wrong["ok"] is False


async def test_five_failures_lock_the_account_even_for_the_right_password(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory, roles=("biller",))
    email = clinic.people["biller"][0]
    for _ in range(5):
        assert (await _login(app_client, email, password="wrong wrong wrong"))["ok"] is False
    locked = await _login(app_client, email)
    assert locked["ok"] is False
    assert locked["message"] == (await _login(app_client, "nobody@nowhere.test"))["message"]


async def test_owner_needs_a_valid_totp_code_used_once(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory, roles=("owner",))
    email, secret = clinic.people["owner"]
    first = await _login(app_client, email)
    assert first["ok"] is False and first["totpRequired"] is True
    assert (await _login(app_client, email, totp="000000"))["ok"] in (False,)
    code = current_code(secret)
    assert (await _login(app_client, email, totp=code))["ok"] is True
    replay = await _login(app_client, email, totp=code)
    assert replay["ok"] is False and "already used" in replay["message"]


async def test_password_reset_by_mailed_single_use_token(app_client) -> None:
    services = app_client.app_services
    clinic = await make_clinic(services.session_factory, roles=("biller",))
    email = clinic.people["biller"][0]
    request = "mutation($e: String!) { requestPasswordReset(email: $e) { message } }"
    known = await as_person(app_client, request, {"e": email}, {})
    unknown = await as_person(app_client, request, {"e": "nobody@nowhere.test"}, {})
    assert known["data"] == unknown["data"]
    mails = [m for m in services.mailer.messages() if m["To"] == email]
    assert len(mails) == 1
    token = re.search(r"token=([\w-]+)", mails[0].get_content()).group(1)  # type: ignore[union-attr]
    reset = """mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) {
        __typename ... on PasswordChanged { message } ... on InvalidInput { fields { path message } } } }"""
    weak = await as_person(app_client, reset, {"t": token, "p": "short"}, {})
    assert weak["data"]["resetPassword"]["fields"][0]["path"] == "newPassword"
    done = await as_person(app_client, reset, {"t": token, "p": "a brand new passphrase"}, {})
    assert done["data"]["resetPassword"]["__typename"] == "PasswordChanged"
    again = await as_person(app_client, reset, {"t": token, "p": "another new passphrase"}, {})
    assert again["data"]["resetPassword"]["__typename"] == "InvalidInput"
    assert (await _login(app_client, email, password="a brand new passphrase"))["ok"] is True
    assert (await _login(app_client, email))["ok"] is False


async def test_logout_ends_the_session(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory, roles=("biller",))
    headers = await login(app_client, clinic.people["biller"][0])
    assert (await as_person(app_client, "mutation { logout }", None, headers))["data"]["logout"] is True
    after = await as_person(app_client, ME, None, headers)
    assert "errors" in after


async def test_onboarding_staff_choose_a_granted_clinic_per_request(app_client) -> None:
    factory = app_client.app_services.session_factory
    clinic_a = await make_clinic(factory, "a", roles=("onboarding",))
    clinic_b = await make_clinic(factory, "b")
    email = clinic_a.people["onboarding"][0]
    headers = await login(app_client, email)
    unchosen = await as_person(app_client, "query { clinic { name } }", None, headers)
    assert unchosen["errors"][0]["message"] == "choose a clinic with the X-Cutis-Tenant header"
    chosen = await as_person(
        app_client, "query { clinic { name } }", None, {**headers, "X-Cutis-Tenant": str(clinic_a.tenant_id)}
    )
    assert chosen["data"]["clinic"]["name"] == "a"
    not_granted = await as_person(
        app_client, "query { clinic { name } }", None, {**headers, "X-Cutis-Tenant": str(clinic_b.tenant_id)}
    )
    assert not_granted["errors"][0]["message"] == "no grant for that clinic"


async def test_login_and_failures_are_audited_without_phi(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory, roles=("owner", "biller"))
    await _login(app_client, clinic.people["biller"][0], password="wrong wrong wrong")
    await login(app_client, clinic.people["biller"][0])
    owner_headers = await login(app_client, *clinic.people["owner"])
    events = await as_person(
        app_client,
        """query { auditEvents(filter: {category: "auth"}) {
        nodes { action outcome objectType remoteAddr } } }""",
        None,
        owner_headers,
    )
    actions = [(e["action"], e["outcome"]) for e in events["data"]["auditEvents"]["nodes"]]
    assert ("login", "refused") in actions and actions.count(("login", "ok")) >= 2
