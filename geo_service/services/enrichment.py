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


def digests(rows: IncidentRows) -> np.ndarray:
    """SHA-256 of each row's canonical form: equal for the same submission sent again."""
    micros = rows.occurred_at.astype("datetime64[us]").astype(np.int64)
    parts = [
        rows.agency,
        rows.external_ref,
        rows.category,
        micros,
        np.round(rows.lon, 7),
        np.round(rows.lat, 7),
        pa.array(rows.location_accuracy_m, mask=np.isnan(rows.location_accuracy_m)),
        rows.direction,
        rows.attempted,
        rows.detection,
        rows.means,
        rows.persons_involved,
        rows.crossing_point,
        rows.impact,
        rows.sharing,
        rows.narrative,
        rows.groups.canonical(len(rows)),
    ]
    text = [pc.fill_null(pc.cast(pa.array(p), pa.string()), "") for p in parts]
    joined = pc.binary_join_element_wise(*text, _SEP).cast(pa.binary())
    sha256 = hashlib.sha256
    return np.array([sha256(b).digest() for b in joined.to_pylist()], dtype=object)


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
