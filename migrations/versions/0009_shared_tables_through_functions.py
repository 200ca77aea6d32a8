"""The shared tables (users, login_sessions, password_reset_tokens, tenants) only through narrow functions.

The app role loses every privilege on them. What it may do instead is one SECURITY DEFINER
function per operation of `tenants/accounts.py`, each by one key (an email, a token digest, an
id); none lists people, sessions or clinics, and people are read by id only among the members of
the transaction's clinic. The functions run as the tables' owner: the tables have no row-level
security, and the one tenant table they read (memberships, for `cutis_members`) is filtered
explicitly by the transaction's tenant (0008 lets the owner read it under FORCE).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

APP_ROLE = "cutis_app"
SHARED_TABLES = ("users", "login_sessions", "password_reset_tokens", "tenants")
TENANT_EXPR = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"
ACCOUNT_COLUMNS = """id uuid, email text, name text, password_hash text, totp_secret text,
    totp_enrolled_at timestamptz, failed_logins integer, locked_until timestamptz, last_totp_step integer,
    is_vendor_staff boolean, disabled_at timestamptz"""
ACCOUNT_SELECT = """u.id, u.email::text, u.name::text, u.password_hash::text, u.totp_secret::text,
    u.totp_enrolled_at, u.failed_logins, u.locked_until, u.last_totp_step, u.is_vendor_staff, u.disabled_at"""

# signature -> (returns, language, body)
FUNCTIONS: dict[str, tuple[str, str, str]] = {
    "cutis_account_by_email(address text)": (
        f"TABLE ({ACCOUNT_COLUMNS})",
        "sql",
        f"SELECT {ACCOUNT_SELECT} FROM users u WHERE u.email = address",
    ),
    "cutis_create_account(person uuid, address text, display_name text, hash text, vendor_staff boolean, "
    "sealed_totp text, enrolled_at timestamptz)": (
        "void",
        "sql",
        """INSERT INTO users (id, email, name, password_hash, totp_secret, totp_enrolled_at, failed_logins,
             is_vendor_staff, created_at)
           VALUES (person, address, display_name, hash, sealed_totp, enrolled_at, 0, vendor_staff, now())""",
    ),
    "cutis_save_login_state(person uuid, failures integer, locked timestamptz, step integer, sealed_totp text, "
    "enrolled_at timestamptz)": (
        "void",
        "sql",
        """UPDATE users SET failed_logins = failures, locked_until = locked, last_totp_step = step,
             totp_secret = sealed_totp, totp_enrolled_at = enrolled_at WHERE id = person""",
    ),
    "cutis_members(person uuid)": (
        "TABLE (id uuid, email text, name text, totp_enrolled_at timestamptz, disabled_at timestamptz)",
        "sql",
        f"""SELECT u.id, u.email::text, u.name::text, u.totp_enrolled_at, u.disabled_at FROM users u
           WHERE (person IS NULL OR u.id = person)
             AND EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id AND m.tenant_id = {TENANT_EXPR})
           ORDER BY u.email""",
    ),
    "cutis_open_session(token_digest text, csrf text, person uuid, expires timestamptz, second_factor timestamptz)": (
        "void",
        "sql",
        """INSERT INTO login_sessions (id, token_sha256, csrf_token, user_id, created_at, expires_at, second_factor_at)
           VALUES (gen_random_uuid(), token_digest, csrf, person, now(), expires, second_factor)""",
    ),
    "cutis_session_by_token(token_digest text)": (
        f"""TABLE (session_id uuid, user_id uuid, csrf_token text, expires_at timestamptz, ended_at timestamptz,
            second_factor_at timestamptz, {ACCOUNT_COLUMNS})""",
        "sql",
        f"""SELECT s.id, s.user_id, s.csrf_token::text, s.expires_at, s.ended_at, s.second_factor_at, {ACCOUNT_SELECT}
           FROM login_sessions s JOIN users u ON u.id = s.user_id WHERE s.token_sha256 = token_digest""",
    ),
    "cutis_end_session(token_digest text, ended timestamptz)": (
        "void",
        "sql",
        "UPDATE login_sessions SET ended_at = ended WHERE token_sha256 = token_digest AND ended_at IS NULL",
    ),
    "cutis_end_sessions(person uuid, ended timestamptz)": (
        "void",
        "sql",
        "UPDATE login_sessions SET ended_at = ended WHERE user_id = person AND ended_at IS NULL",
    ),
    "cutis_store_reset_token(token_digest text, person uuid, expires timestamptz)": (
        "void",
        "sql",
        """INSERT INTO password_reset_tokens (id, token_sha256, user_id, created_at, expires_at)
           VALUES (gen_random_uuid(), token_digest, person, now(), expires)""",
    ),
    "cutis_reset_password(token_digest text, hash text, moment timestamptz)": (
        "uuid",
        "plpgsql",
        """DECLARE person uuid;
        BEGIN
          UPDATE password_reset_tokens SET used_at = moment
            WHERE token_sha256 = token_digest AND used_at IS NULL AND expires_at > moment
            RETURNING user_id INTO person;
          IF person IS NULL THEN RETURN NULL; END IF;
          UPDATE users SET password_hash = hash, failed_logins = 0, locked_until = NULL WHERE id = person;
          UPDATE login_sessions SET ended_at = moment WHERE user_id = person AND ended_at IS NULL;
          RETURN person;
        END""",
    ),
    "cutis_clinics(ids uuid[])": (
        "TABLE (id uuid, slug text, name text)",
        "sql",
        "SELECT t.id, t.slug::text, t.name::text FROM tenants t WHERE t.id = ANY(ids)",
    ),
    "cutis_clinic_by_slug(wanted text)": (
        "TABLE (id uuid, slug text, name text)",
        "sql",
        "SELECT t.id, t.slug::text, t.name::text FROM tenants t WHERE t.slug = wanted",
    ),
    "cutis_create_clinic(clinic uuid, wanted text, display_name text)": (
        "void",
        "sql",
        "INSERT INTO tenants (id, slug, name, created_at) VALUES (clinic, wanted, display_name, now())",
    ),
}


def _name_and_types(signature: str) -> str:
    """`f(a text, b uuid)` -> `f(text, uuid)`, as GRANT and DROP name a function."""
    name, _, params = signature.partition("(")
    types = [param.strip().split(" ", 1)[1] for param in params.rstrip(")").split(",") if param.strip()]
    return f"{name}({', '.join(types)})"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for signature, (returns, language, body) in FUNCTIONS.items():
        volatility = "STABLE" if returns.startswith("TABLE") else "VOLATILE"
        op.execute(
            f"CREATE FUNCTION {signature} RETURNS {returns} LANGUAGE {language} {volatility} "
            f"SECURITY DEFINER SET search_path = public AS $fn$ {body} $fn$"
        )
        op.execute(f"REVOKE ALL ON FUNCTION {_name_and_types(signature)} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {_name_and_types(signature)} TO {APP_ROLE}")
    for table in SHARED_TABLES:
        op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in SHARED_TABLES:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {_name_and_types(signature)}")
