"""Country, nearest section and distance to the border, checked against PostGIS."""

import numpy as np
import psycopg
import pytest

from geo_service.geo.locate import country_of, in_region, place
from geo_service.settings import libpq_url


def test_known_places(geography):
    lon = np.array([19.1031, 19.13, 18.34, 18.53, 20.46, 19.26])
    lat = np.array([44.3921, 44.38, 42.71, 42.46, 44.82, 42.44])
    placed = place(geography, lon, lat)
    # Zvornik (BiH), Mali Zvornik (Serbia), Trebinje (BiH), Herceg Novi (Montenegro),
    # Belgrade (Serbia), Podgorica (Montenegro)
    assert placed.country.tolist() == ["BIH", "SRB", "BIH", "MNE", "SRB", "MNE"]
    assert placed.border_pair[0] == "BIH-SRB" and placed.border_pair[1] == "BIH-SRB"
    assert placed.distance_to_border_m[0] < 2_000
    assert 50_000 < placed.distance_to_border_m[4] < 120_000


def test_the_region_holds_the_three_countries_and_a_margin_only(geography):
    lon = np.array([19.1, 20.46, 13.4, 2.35, 16.0, 21.9])
    lat = np.array([44.4, 44.82, 52.5, 48.85, 45.8, 41.99])
    assert in_region(geography, lon, lat).tolist() == [True, True, False, False, False, False]


def test_country_is_none_outside_the_six(geography):
    assert country_of(geography, np.array([12.5]), np.array([41.9])).tolist() == [None]


@pytest.mark.usefixtures("engine")
def test_distances_agree_with_postgis_geography_within_a_few_metres(geography, settings):
    rng = np.random.default_rng(11)
    lon = rng.uniform(18.3, 20.3, 300)
    lat = rng.uniform(42.6, 44.9, 300)
    placed = place(geography, lon, lat)
    with psycopg.connect(libpq_url(settings.database_url)) as conn:
        rows = conn.execute(
            """
            SELECT p.i, ST_Distance(ST_SetSRID(ST_MakePoint(p.x, p.y), 4326)::geography,
                                    s.geom::geography)
            FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS p(x, y, i)
            JOIN border_sections s ON s.id = (%s::text[])[p.i]
            ORDER BY p.i
            """,
            (lon.tolist(), lat.tolist(), placed.border_section.tolist()),
        ).fetchall()
        nearest = conn.execute(
            """
            SELECT (SELECT s.id FROM border_sections s
                    ORDER BY s.geom::geography <-> ST_SetSRID(ST_MakePoint(p.x, p.y), 4326)::geography
                    LIMIT 1)
            FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS p(x, y, i) ORDER BY p.i
            """,
            (lon.tolist(), lat.tolist()),
        ).fetchall()
    geodesic = np.array([r[1] for r in rows])
    error = np.abs(placed.distance_to_border_m - geodesic)
    # Within 0.2% (the projection's scale error) plus the 0.1 m rounding.
    assert np.all(error <= 0.002 * geodesic + 0.2), error.max()
    agree = np.mean(np.array([r[0] for r in nearest]) == placed.border_section)
    assert agree > 0.98
