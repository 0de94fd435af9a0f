"""What the service derives when it writes: country, border pair and section, distance to the
border, H3 cells; and the digest that recognises a retried submission."""

import hashlib

import numpy as np

from geo_service.geo import h3cells
from geo_service.geo.locate import place
from geo_service.geo.reference import Geography
from geo_service.services.incident_rows import IncidentRows


def digests(rows: IncidentRows) -> np.ndarray:
    """SHA-256 of each row's canonical form: equal for the same submission sent again.

    Numbers enter as integers in fixed units (1e-7 degrees, centimetres, microseconds), so
    the form does not depend on how a float is printed.
    """
    n = len(rows)
    accuracy = rows.location_accuracy_m
    columns = zip(
        rows.agency.tolist(),
        rows.external_ref.tolist(),
        rows.category.tolist(),
        rows.occurred_at.astype("datetime64[us]").astype(np.int64).tolist(),
        np.round(rows.lon * 1e7).astype(np.int64).tolist(),
        np.round(rows.lat * 1e7).astype(np.int64).tolist(),
        np.where(np.isnan(accuracy), -1, np.round(accuracy * 100)).astype(np.int64).tolist(),
        rows.direction.tolist(),
        rows.attempted.astype(np.int8).tolist(),
        rows.detection.tolist(),
        rows.means.tolist(),
        rows.persons_involved.astype(np.int64).tolist(),
        rows.crossing_point.tolist(),
        rows.impact.tolist(),
        rows.sharing.tolist(),
        rows.narrative.tolist(),
        rows.groups.canonical(n).tolist(),
        strict=True,
    )
    sha256 = hashlib.sha256
    out = np.empty(n, dtype=object)
    out[:] = [
        sha256(
            f"{ag}\x1f{ref}\x1f{cat}\x1f{t}\x1f{x}\x1f{y}\x1f{acc}\x1f{di}\x1f{at}\x1f{de}\x1f"
            f"{me}\x1f{pe}\x1f{cp or ''}\x1f{im}\x1f{sh}\x1f{na or ''}\x1f{gr}".encode()
        ).digest()
        for ag, ref, cat, t, x, y, acc, di, at, de, me, pe, cp, im, sh, na, gr in columns
    ]
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
