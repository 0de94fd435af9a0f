"""Domain exceptions. The API turns each into one problem+json response, in one place."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldError:
    """One reason one input was refused: which record (if several), which field, why."""

    field: str
    reason: str
    row: int | None = None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"field": self.field, "reason": self.reason}
        if self.row is not None:
            out = {"row": self.row, **out}
        return out


class ServiceError(Exception):
    """Base of the errors a caller can act on."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass
class InvalidInput(ServiceError):
    """The input broke one or more rules; nothing of it was written."""

    errors: list[FieldError] = field(default_factory=list)
    detail: str = "The input was refused; see errors for each field and reason."
    status = 422
    title = "Invalid input"

    def __post_init__(self) -> None:
        super().__init__(self.detail)


class NotFound(ServiceError):
    status = 404
    title = "Not found"


class Conflict(ServiceError):
    status = 409
    title = "Conflict"


class PreconditionFailed(ServiceError):
    status = 412
    title = "Precondition failed"


class PreconditionRequired(ServiceError):
    status = 428
    title = "Precondition required"


class UnreadableFile(ServiceError):
    status = 400
    title = "Unreadable input"


class Unauthenticated(ServiceError):
    """No valid credential: a key unknown, expired or revoked, a session ended, a wrong
    password."""

    status = 401
    title = "Unauthenticated"


class Forbidden(ServiceError):
    """The caller is known, and may not do this."""

    status = 403
    title = "Forbidden"
