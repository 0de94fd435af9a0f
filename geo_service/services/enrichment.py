"""What the service derives when it writes: country, border pair and section, distance to the
border, H3 cells; and the digest that recognises a retried submission."""

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from geo_service.geo import h3cells
from geo_service.geo.locate import place
from geo_service.geo.reference import Geography
from geo_service.services.incident_rows import IncidentRows

_SEP = "\x1f"
_FEW = 32


def _canonical_columns(rows: IncidentRows) -> list[np.ndarray]:
    """The submitted fields in the canonical form's order. Numbers enter as integers in fixed
    units (1e-7 degrees, centimetres, microseconds), so the form does not depend on how a
    float is printed, and Python and Arrow write every column alike."""
    accuracy = rows.location_accuracy_m
    return [
        rows.agency,
        rows.external_ref,
        rows.category,
        rows.occurred_at.astype("datetime64[us]").astype(np.int64),
        np.round(rows.lon * 1e7).astype(np.int64),
        np.round(rows.lat * 1e7).astype(np.int64),
        np.where(np.isnan(accuracy), -1, np.round(accuracy * 100)).astype(np.int64),
        rows.direction,
        rows.attempted.astype(np.int64),
        rows.detection,
        rows.means,
        rows.persons_involved.astype(np.int64),
        rows.crossing_point,
        rows.impact,
        rows.sharing,
        rows.narrative,
        rows.groups.canonical(len(rows)),
    ]


def _canonical_texts(rows: IncidentRows) -> list[bytes]:
    columns = _canonical_columns(rows)
    if len(rows) <= _FEW:  # Arrow's set-up costs more than a few rows' formatting
        return [
            _SEP.join("" if v is None else str(v) for v in values).encode()
            for values in zip(*(c.tolist() for c in columns), strict=True)
        ]
    text = [pc.fill_null(pc.cast(pa.array(c), pa.string()), "") for c in columns]
    return pc.binary_join_element_wise(*text, _SEP).cast(pa.binary()).to_pylist()


def digests(rows: IncidentRows) -> np.ndarray:
    """SHA-256 of each row's canonical form: equal for the same submission sent again."""
    sha256 = hashlib.sha256
    out = np.empty(len(rows), dtype=object)
    out[:] = [sha256(text).digest() for text in _canonical_texts(rows)]
    return out


def derived_columns(rows: IncidentRows, geo: Geography) -> dict[str, np.ndarray]:
    """Columns the service derives for `rows`, by the incidents table's column names."""
    placement = place(geo, rows.lon, rows.lat)
    columns = {
        "country": placement.country,
        "border_pair": placement.border_pair,
        "border_section": placement.border_section,
        "distance_to_border_m": np.round(placement.distance_to_border_m, 1),
    }
    for resolution, cells in h3cells.cells_by_resolution(rows.lat, rows.lon).items():
        columns[f"h3_res{resolution}"] = cells
    return columns
