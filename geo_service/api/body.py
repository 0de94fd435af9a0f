"""Request bodies: the content types a route takes and a bound on their size."""

from fastapi import Request

from geo_service.api.problems import HTTPProblem


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def require_media_type(request: Request, accepted: tuple[str, ...]) -> str:
    """The request's media type, or 415 naming what the route accepts."""
    kind = media_type(request)
    if kind not in accepted:
        raise HTTPProblem(
            415,
            "Unsupported media type",
            f"Content-Type {kind or '(none)'!r} is not accepted here; send one of "
            + ", ".join(accepted),
        )
    return kind


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused with 413 as soon as it exceeds `limit` bytes."""
    too_large = HTTPProblem(
        413, "Content too large", f"the body exceeds the limit of {limit:,} bytes here"
    )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)
