"""The layer catalog: every file in layers/ loads, and faults in a file are named."""

from pathlib import Path

import pytest

from geo_service.services.layer_catalog import (
    LANGUAGES,
    LayerCatalogError,
    load_catalog,
    load_layer,
)
from geo_service.settings import Settings

LAYERS = Settings().layers_dir


def test_the_catalog_holds_the_layers_the_maps_need():
    catalog = load_catalog(LAYERS)
    assert {
        "incidents",
        "incident-hexes",
        "borders",
        "border-sections",
        "crossing-points",
        "countries",
        "corridor",
    } <= set(catalog)
    for layer in catalog.values():
        assert all(layer.titles[lang] for lang in LANGUAGES), layer.id
        assert layer.min_zoom <= layer.max_zoom


def test_the_wall_display_does_not_see_narratives_or_references():
    incidents = load_catalog(LAYERS)["incidents"]
    assert "narrative" not in incidents.visible_properties("viewer")
    assert "external_ref" not in incidents.visible_properties("viewer")
    assert "narrative" in incidents.visible_properties("analyst")
    assert "category" in incidents.visible_properties("viewer")


GOOD = (LAYERS / "borders.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "fault"),
    [
        (lambda t: t.replace('id = "borders"', 'id = "frontiers"'), "differs from the file name"),
        (
            lambda t: t.replace('sr-Cyrl = "Државне границе"', 'sr-Cyrl = "Drzavne granice"'),
            "not in Cyrillic",
        ),
        (lambda t: t.replace('bs = "Državne granice"\n', ""), "no title in bs"),
        (
            lambda t: t.replace('geometry = "MultiLineString"', 'geometry = "Blob"'),
            "geometry 'Blob'",
        ),
        (lambda t: t.replace("max = 18", "max = 30"), "zoom needs"),
        (lambda t: t.replace('table = "borders"', 'table = "nowhere"'), "does not exist"),
        (lambda t: t.replace('monitored = ["*"]', 'colour = ["*"]'), "'colour' is not a column"),
        (lambda t: t.replace('monitored = ["*"]', 'monitored = ["guest"]'), "roles must be"),
        (lambda t: t.replace("[style]", "[style\n"), "not valid TOML"),
    ],
)
def test_faults_are_named(tmp_path: Path, change, fault):
    path = tmp_path / "borders.toml"
    path.write_text(change(GOOD), encoding="utf-8")
    with pytest.raises(LayerCatalogError, match=fault):
        load_layer(path)
