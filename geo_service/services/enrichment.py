"""What the service derives when it writes: country, border pair and section, distance to the
border, H3 cells; and the digest that recognises a retried submission."""

import hashlib

import numpy as np

from geo_service.geo import h3cells
from geo_service.geo.locate import place
from geo_service.geo.reference import Geography
from geo_service.services.incident_rows import IncidentRows

_SEP = "\x1f"


def digests(rows: IncidentRows) -> np.ndarray:
    """SHA-256 of each row's canonical form: equal for the same submission sent again."""
    micros = rows.occurred_at.astype("datetime64[us]").astype(np.int64)
    out = np.empty(len(rows), dtype=object)
    columns = zip(
        rows.agency,
        rows.external_ref,
        rows.category,
        micros,
        rows.lon,
        rows.lat,
        rows.location_accuracy_m,
        rows.direction,
        rows.attempted,
        rows.detection,
        rows.means,
        rows.persons_involved,
        rows.crossing_point,
        rows.impact,
        rows.sharing,
        rows.narrative,
        rows.apprehensions,
        strict=True,
    )
    for i, (ag, ref, cat, t, x, y, acc, di, at, de, me, pe, cp, im, sh, na, gr) in enumerate(
        columns
    ):
        groups = ",".join(f"{g[0]}:{g[1]}:{g[2]}:{g[3]}" for g in sorted(gr))
        text = _SEP.join(
            (
                ag,
                ref,
                cat,
                str(t),
                f"{x:.7f}",
                f"{y:.7f}",
                "" if acc != acc else f"{acc:g}",
                di,
                "1" if at else "0",
                de,
                me,
                f"{pe:.0f}",
                cp or "",
                im,
                sh,
                na or "",
                groups,
            )
        )
        out[i] = hashlib.sha256(text.encode()).digest()
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
