"""GraphQL over HTTP: a strict reader of request bodies, and every refusal answered as a GraphQL error in JSON.

Strawberry's controller trusts the body's shape (`42` or invalid UTF-8 made a 500) and answers its own
refusals in plain text; clients of this API read `errors[].extensions.code` whatever went wrong.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from cross_web import HTTPException
from litestar import MediaType, Request, Response
from litestar.exceptions import TooManyRequestsException
from strawberry.litestar.controller import GraphQLController

BODY_MUST_BE_AN_OBJECT = "the request body must be a JSON object with a `query` string"
_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE"}
_REASONS = {"Unsupported content type": "the request body must be sent with Content-Type: application/json"}


class RateLimited(TooManyRequestsException):
    """The credential spent its budget; the client may retry after `retry_after_seconds`."""

    def __init__(self, retry_after_seconds: int) -> None:
        self.retry_after_seconds = retry_after_seconds
        super().__init__(
            f"rate limit exceeded: retry in {retry_after_seconds} seconds",
            headers={"Retry-After": str(retry_after_seconds)},
        )


class MalformedBody(ValueError):
    """The body is not a GraphQL-over-HTTP request; the message says why, in the client's terms."""


def read_graphql_body(raw: bytes | str) -> dict[str, Any]:
    """The request object of a POSTed JSON body, or MalformedBody saying what is wrong with it.

    Strict where `json.loads` is lenient: UTF-8 only, and no half surrogate pairs in the document or
    the names (they are not text, and fail later in a database driver or a log line); in a variable's
    value the input validation layer refuses one with its field path (InvalidInput).

    >>> read_graphql_body(b'{"query": "{ clinic { name } }"}')
    {'query': '{ clinic { name } }'}
    >>> read_graphql_body(b'[]')
    Traceback (most recent call last):
    server.api.http.MalformedBody: the request body must be a JSON object with a `query` string, not an array
    >>> read_graphql_body(b'{"query": "{ x }", "variables": 1}')
    Traceback (most recent call last):
    server.api.http.MalformedBody: `variables` must be a JSON object (or null), not a number
    """
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            bad_byte = error.object[error.start]
            raise MalformedBody(
                f"the request body is not valid UTF-8: byte {error.start} (0x{bad_byte:02x}): {error.reason}"
            ) from None
    if not raw.strip():
        raise MalformedBody("the request body is empty: send a JSON object with a `query` string")
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as error:
        raise MalformedBody(
            f"the request body is not valid JSON: line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    except RecursionError:
        raise MalformedBody("the request body nests arrays and objects too deeply") from None
    if not isinstance(body, dict):
        raise MalformedBody(f"{BODY_MUST_BE_AN_OBJECT}, not {_json_kind(body)}")
    if "query" not in body:
        raise MalformedBody("the request body has no `query`: send the GraphQL document as a string")
    _expect(body, "query", str, "a string holding the GraphQL document", optional=False)
    _expect(body, "variables", dict, "a JSON object (or null)")
    _expect(body, "operationName", str, "a string (or null)")
    _expect(body, "extensions", dict, "a JSON object (or null)")
    # A variable's value is left to the input validation layer, which answers with its field path.
    variable_names = list(body.get("variables") or {})
    if _has_lone_surrogate([variable_names, *(v for k, v in body.items() if k != "variables")]):
        raise MalformedBody(
            "the request body has a \\u escape of half a UTF-16 surrogate pair (\\ud800 to \\udfff) "
            "without its other half: strings must be Unicode text"
        )
    return body


def _expect(body: dict[str, Any], member: str, kind: type, described: str, *, optional: bool = True) -> None:
    value = body.get(member)
    if not isinstance(value, kind) and not (optional and value is None):
        raise MalformedBody(f"`{member}` must be {described}, not {_json_kind(value)}")


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _has_lone_surrogate(value: object) -> bool:
    """Iterative, so that a deep (but parseable) body cannot exhaust the stack here."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def graphql_error_response(
    status_code: int, message: str, *, code: str, headers: dict[str, str] | None = None, **extensions: Any
) -> Response[dict[str, Any]]:
    """The one shape of every non-200 answer of /graphql: `{"errors": [{"message", "extensions": {"code"}}]}`."""
    return Response(
        {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]},
        status_code=status_code,
        media_type=MediaType.JSON,
        headers=headers,
    )


def _rate_limited(request: Request[Any, Any, Any], error: RateLimited) -> Response[dict[str, Any]]:
    return graphql_error_response(
        429,
        error.detail,
        code="RATE_LIMITED",
        headers={"Retry-After": str(error.retry_after_seconds)},
        retryAfterSeconds=error.retry_after_seconds,
    )


def strict_graphql_controller(controller: type[GraphQLController]) -> type[GraphQLController]:
    """The controller from `make_graphql_controller`, reading bodies strictly and refusing in JSON."""

    class StrictGraphQLController(controller):  # type: ignore[valid-type,misc]
        exception_handlers: ClassVar[dict[type[Exception], Any]] = {RateLimited: _rate_limited}

        def parse_json(self, data: str | bytes) -> Any:
            # Strawberry calls this for the POSTed JSON body (queries over GET and multipart are off).
            try:
                return read_graphql_body(data)
            except MalformedBody as error:
                raise HTTPException(400, str(error)) from None

        async def execute_request(self, request: Request[Any, Any, Any], context: Any, root_value: Any) -> Any:
            try:
                return await self.run(request, context=context, root_value=root_value)
            except HTTPException as error:
                return graphql_error_response(
                    error.status_code,
                    _REASONS.get(error.reason, error.reason),
                    code=_CODES.get(error.status_code, "BAD_REQUEST"),
                )

    return StrictGraphQLController
