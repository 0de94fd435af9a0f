"""Incidents as a client would send them; a change counter to move on by hand."""

import copy
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from geo_service.services.features import EXAMPLE_FEATURE

FEATURE = EXAMPLE_FEATURE


def feature(
    ref: str = "GP-ZV-2026-0412", coordinates: list[float] | None = None, **props: Any
) -> dict[str, Any]:
    """The DESIGN.md example incident, with a reference and properties changed."""
    out = copy.deepcopy(FEATURE)
    out["properties"]["external_ref"] = ref
    out["properties"].update(props)
    if coordinates is not None:
        out["geometry"]["coordinates"] = coordinates
    return out


def seen_by(frame: Any, agency: str = "BIH_BP") -> Any:
    """The rows of a frame of incidents that a caller of `agency` may see: its own, and what
    partners shared with the PCC (the client's default caller is BiH's)."""
    return frame[(frame["agency"] == agency) | (frame["sharing"] == "pcc")]


@dataclass
class ChangeCounter:
    """The change counter a ResultCache reads, moved on by hand."""

    version: int = 1
    listening: bool = True
    # What each move of the version moved: the days of kept counts, () none, None not known.
    moves: dict[int, tuple | None] = field(default_factory=dict)

    def move_on(self, moved: tuple | None = None) -> None:
        self.version += 1
        self.moves[self.version] = moved

    def moved_since(self, version: int) -> list[tuple[date, date]] | None:
        since = [m for v, m in self.moves.items() if v > version]
        if len(since) < self.version - version or None in since:
            return None
        return [m for m in since if m]
