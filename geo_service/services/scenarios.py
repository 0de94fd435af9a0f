"""Demo scenarios: data files under data/scenarios/ (TOML), read and checked. A scenario may
extend another: its tables replace the other's, its routes are added to the other's."""

import tomllib
from pathlib import Path
from typing import Any

from geo_service import domain

REQUIRED = (
    "volume",
    "season",
    "time_of_day",
    "placement",
    "hubs",
    "categories",
    "groups",
    "nationalities",
    "reporting",
)
COUNTRIES = ("BIH", "SRB", "MNE")


class ScenarioError(ValueError):
    """A scenario file that cannot be used, with every fault found in it."""


def _faults(data: dict[str, Any]) -> list[str]:
    faults = [f"missing `{key}`" for key in REQUIRED if key not in data]
    if faults:
        return faults
    if len(data["season"]["months"]) != 12:
        faults.append("season.months needs 12 weights")
    if len(data["time_of_day"]["hours"]) != 24:
        faults.append("time_of_day.hours needs 24 weights")
    categories = {k: v for k, v in data["categories"].items() if not isinstance(v, dict)}
    faults += [f"unknown category {c!r}" for c in categories if c not in domain.CATEGORIES]
    hub_names = {h["name"] for h in data["hubs"]}
    for category, factors in data["categories"].get("hubs", {}).items():
        faults += [
            f"categories.hubs.{category}: no hub {h!r}" for h in factors if h not in hub_names
        ]
    for hub in data["hubs"]:
        faults += [
            f"hub {hub['name']!r}: side {c!r} is not a monitored country"
            for c in hub["side"]
            if c not in COUNTRIES
        ]
        if "crossing_point" not in hub and not ("lon" in hub and "lat" in hub):
            faults.append(f"hub {hub['name']!r} needs lon and lat, or a crossing_point")
    for year, mix in data["nationalities"].items():
        faults += [
            f"nationalities.{year}: unknown code {code!r}"
            for code in mix
            if code not in domain.NATIONALITIES
        ]
    return faults


def load_scenario(directory: Path, name: str) -> dict[str, Any]:
    """The scenario `name` of `directory`, with what it extends merged in, checked."""
    path = directory / f"{name}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in directory.glob("*.toml")))
        raise ScenarioError(f"no scenario {name!r} (there are: {known})")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    base = data.pop("extends", None)
    if base is not None:
        merged = load_scenario(directory, base)
        routes = merged.get("routes", []) + data.pop("routes", [])
        merged.update(data)
        merged["routes"] = routes
        data = merged
    faults = _faults(data)
    if faults:
        raise ScenarioError(f"{path.name}: " + "; ".join(faults))
    return data
