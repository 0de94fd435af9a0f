"""Conditional responses: an entity tag made from the body, and 304 for a client that has it."""

from hashlib import blake2b

from fastapi import Request
from fastapi.responses import Response


def etag_of(content: bytes) -> str:
    return '"' + blake2b(content, digest_size=16).hexdigest() + '"'


def _matches(header: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: weak comparison against each listed tag, or `*`."""
    if not header:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or etag in tags


def conditional(
    request: Request,
    content: bytes,
    media_type: str,
    cache_control: str,
    headers: dict[str, str] | None = None,
) -> Response:
    """`content` with its ETag and Cache-Control, or 304 Not Modified if the client has it."""
    etag = etag_of(content)
    tagged = {**(headers or {}), "ETag": etag, "Cache-Control": cache_control}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=tagged)
    return Response(content, media_type=media_type, headers=tagged)
