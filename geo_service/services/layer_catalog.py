"""The layer catalog: one declarative TOML file per map layer in layers/.

The API's collection list and the front end's layer control are both built from it, so
adding a layer is adding a file. Loading checks each file and names every fault.
"""

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from geo_service.store.models import metadata

LANGUAGES = ("en", "bs", "sr-Cyrl")
# Properties the service computes for a layer's features rather than reading a column.
COMPUTED = ("impact_level", "impact_computed")
GEOMETRIES = ("Point", "MultiLineString", "Polygon", "MultiPolygon")
ROLES = ("*", "viewer", "analyst", "officer", "admin")
REQUIRED = ("id", "source", "geometry", "zoom", "queryables", "title", "properties", "style")


class LayerCatalogError(ValueError):
    """A layer file that cannot be served, with every fault found in it."""


@dataclass(frozen=True)
class Layer:
    id: str
    titles: dict[str, str]
    source: dict[str, str]
    geometry: str
    time_column: str | None
    min_zoom: int
    max_zoom: int
    queryables: tuple[str, ...]
    properties: dict[str, tuple[str, ...]]  # property → roles that see it ("*": every role)
    style: dict[str, Any]
    legend: dict[str, Any]
    # The properties a vector tile carries (a subset of `properties`; all when not declared).
    tile_properties: tuple[str, ...]
    # Properties computed by the service (impact levels of sections), not read from a column.
    computed: tuple[str, ...] = ()

    @property
    def table(self) -> str | None:
        return self.source.get("table")

    @property
    def of_incidents(self) -> bool:
        """Whether the layer is made of incidents (their filters, CQL2 among them, apply)."""
        return "incidents" in (self.source.get("table"), self.source.get("aggregate"))

    def visible_properties(self, role: str) -> tuple[str, ...]:
        """The properties a caller of `role` sees."""
        return tuple(p for p, roles in self.properties.items() if "*" in roles or role in roles)

    def hidden_properties(self, role: str) -> frozenset[str]:
        """The properties a caller of `role` must not be sent."""
        return frozenset(self.properties) - set(self.visible_properties(role))

    def visible_tile_properties(self, role: str) -> tuple[str, ...]:
        """The properties a vector tile carries for a caller of `role`."""
        seen = set(self.visible_properties(role))
        return tuple(p for p in self.tile_properties if p in seen)


def _faults(name: str, data: dict[str, Any]) -> list[str]:
    faults = [f"missing `{key}`" for key in REQUIRED if key not in data]
    if faults:
        return faults
    if data["id"] != name:
        faults.append(f"id {data['id']!r} differs from the file name {name!r}")
    titles = data["title"]
    faults += [f"no title in {lang}" for lang in LANGUAGES if not titles.get(lang)]
    cyrillic = titles.get("sr-Cyrl", "")
    if cyrillic and not any("\u0400" <= ch <= "\u04ff" for ch in cyrillic):
        faults.append("the sr-Cyrl title is not in Cyrillic")
    if data["geometry"] not in GEOMETRIES:
        faults.append(f"geometry {data['geometry']!r} is not one of {', '.join(GEOMETRIES)}")
    zoom = data["zoom"]
    if not (0 <= zoom.get("min", -1) <= zoom.get("max", -1) <= 24):
        faults.append("zoom needs 0 <= min <= max <= 24")
    for prop, roles in data["properties"].items():
        unknown = set(roles) - set(ROLES)
        if unknown or not roles:
            faults.append(f"property {prop!r}: roles must be some of {', '.join(ROLES)}")
    faults += [
        f"computed property {p!r} is not one of {', '.join(COMPUTED)}"
        for p in data.get("computed", ())
        if p not in COMPUTED
    ]
    tiles = data.get("tiles", {})
    faults += [
        f"tile property {p!r} is not one of the layer's properties"
        for p in tiles.get("properties", ())
        if p not in data["properties"]
    ]
    source = data["source"]
    table = source.get("table")
    if table is not None:
        if table not in metadata.tables:
            faults.append(f"source table {table!r} does not exist")
        else:
            columns = set(metadata.tables[table].columns.keys())
            faults += [
                f"property {p!r} is not a column of {table}"
                for p in data["properties"]
                if p not in columns
            ]
            time = data.get("time_column")
            if time is not None and time not in columns:
                faults.append(f"time column {time!r} is not a column of {table}")
    elif source.get("aggregate") not in metadata.tables:
        faults.append("source needs a `table`, or an `aggregate` of a table")
    return faults


def load_layer(path: Path) -> Layer:
    """One layer file, checked."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise LayerCatalogError(f"{path.name}: not valid TOML: {exc}") from exc
    faults = _faults(path.stem, data)
    if faults:
        raise LayerCatalogError(f"{path.name}: " + "; ".join(faults))
    return Layer(
        id=data["id"],
        titles=dict(data["title"]),
        source=dict(data["source"]),
        geometry=data["geometry"],
        time_column=data.get("time_column"),
        min_zoom=data["zoom"]["min"],
        max_zoom=data["zoom"]["max"],
        queryables=tuple(data["queryables"]),
        properties={p: tuple(r) for p, r in data["properties"].items()},
        style=dict(data["style"]),
        legend=dict(data.get("legend", {})),
        tile_properties=tuple(data.get("tiles", {}).get("properties", data["properties"])),
        computed=tuple(data.get("computed", ())),
    )


@lru_cache(maxsize=4)
def load_catalog(directory: Path) -> dict[str, Layer]:
    """Every layer of `directory`, by id, in file-name order."""
    layers = [load_layer(path) for path in sorted(directory.glob("*.toml"))]
    return {layer.id: layer for layer in layers}
