"""Incidents as a client would send them."""

import copy
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
