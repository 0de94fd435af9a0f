"""The problem responses that operations give besides their own, documented once for all of
them: what the problem handlers, the credential check and the rate limits answer, which no
route declares for itself."""

from typing import Any

from geo_service.api.hardening import UNLIMITED_PATHS
from geo_service.api.problems import PROBLEM_JSON

PROBLEM = {"content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
VALIDATION_ERROR = "#/components/schemas/HTTPValidationError"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

INVALID = "Invalid request: a parameter or the body could not be read; see errors"
REFUSED = "Refused: the input was read and breaks a rule; see errors for each field and reason"
UNAUTHENTICATED = "No valid credential: the API key or session is unknown, expired or revoked"
FORBIDDEN = "The caller may not do this (role, agency, or a session write without its CSRF token)"
NOT_FOUND = "No such resource, or none the caller may see"
TOO_MANY = "Too many requests from this address or with this credential; see Retry-After"
UNAVAILABLE = "The database cannot be reached; nothing was written, retry after Retry-After"


def _without_validation_error(responses: dict[str, Any]) -> None:
    """FastAPI documents a 422 of its own for request validation; this service answers
    those with a 400 problem instead."""
    refused = responses.get("422")
    if refused is None:
        return
    content = refused.get("content", {})
    if content.get("application/json", {}).get("schema", {}).get("$ref") == VALIDATION_ERROR:
        del content["application/json"]
    if not content:
        del responses["422"]


def _common(path: str, operation: dict[str, Any]) -> dict[str, str]:
    """Status code and description of each problem `operation` can answer besides those it
    declares: a caller is identified where credentials are documented, and that reads the
    database."""
    parameters = operation.get("parameters", [])
    common = {}
    if parameters or "requestBody" in operation:
        common["400"] = INVALID
        common["422"] = REFUSED
    if operation.get("security"):
        common["401"] = UNAUTHENTICATED
        common["403"] = FORBIDDEN
    if any(p.get("in") == "path" for p in parameters):
        common["404"] = NOT_FOUND
    if path not in UNLIMITED_PATHS:
        common["429"] = TOO_MANY
    if operation.get("security"):
        common["503"] = UNAVAILABLE
    return common


def document_common_problems(schema: dict[str, Any]) -> None:
    """Add to each operation of `schema` the problems it can answer that it does not document
    itself; drop FastAPI's validation error, which this service never sends."""
    for path, item in schema.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            _without_validation_error(responses)
            for status, description in _common(path, operation).items():
                responses.setdefault(status, {"description": description, **PROBLEM})
            operation["responses"] = dict(sorted(responses.items()))
    if VALIDATION_ERROR not in str(schema.get("paths")):
        schemas = schema.get("components", {}).get("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
