"""Incidents as a client would send them."""

import copy
from typing import Any

FEATURE: dict[str, Any] = {
    "type": "Feature",
    "geometry": {"type": "Point", "coordinates": [19.1031, 44.3921]},
    "properties": {
        "agency": "BIH_BP",
        "external_ref": "GP-ZV-2026-0412",
        "category": "unauthorised_crossing",
        "occurred_at": "2026-11-28T02:40:00+01:00",
        "location_accuracy_m": 50,
        "direction": "entry",
        "attempted": False,
        "detection": "surveillance",
        "means": "on_foot",
        "persons_involved": 7,
        "crossing_point": None,
        "impact": "medium",
        "sharing": "pcc",
        "narrative": "Group detected crossing the Drina near Zvornik.",
        "apprehensions": [
            {"nationality": "AFG", "persons": 5, "minors": 2, "women": 1},
            {"nationality": "PAK", "persons": 2, "minors": 0, "women": 0},
        ],
    },
}


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
