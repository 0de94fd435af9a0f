"""A situation report as one self-contained HTML file: a folium map with Leaflet's script and
styles inlined from the copy installed under web/node_modules (folium would link them from a
CDN), and the figures in a jinja2 template, in one of the interface's languages (the strings
of web/src/i18n/). Nothing in the file asks for anything outside it; element ids are
numbered in order, so the same figures make the same file."""

import gettext
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import folium
import orjson
import pycountry
from branca.element import Element
from jinja2 import Environment, FileSystemLoader, select_autoescape

from geo_service.geo.reference import Geography
from geo_service.services.hexes import hexagon
from geo_service.settings import Settings
from geo_service.store.incidents import IncidentFilter
from geo_service.store.visibility import Caller

LEVEL_COLOURS = {"low": "#43a047", "medium": "#fdd835", "high": "#fb8c00", "critical": "#c62828"}
HOTSPOT_COLOURS = {
    "hot-99": "#b2182b", "hot-95": "#ef8a62", "hot-90": "#fddbc7",
    "cold-90": "#d1e5f0", "cold-95": "#67a9cf", "cold-99": "#2166ac",
}  # fmt: skip
SEQUENTIAL = ((1, "#fee5d9"), (5, "#fcae91"), (20, "#fb6a4a"), (50, "#de2d26"), (200, "#a50f15"))
TIMELINE_WIDTH, TIMELINE_HEIGHT = 960, 160
STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; color: #1b1b1b; margin: 0; }
.report-head, section, h2, p.note { margin-left: 24px; margin-right: 24px; }
.organisation { color: #555; margin-bottom: 0; }
h1 { margin-top: 4px; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; }
dl.facts dt { font-weight: bold; } dl.facts dd { margin: 0; }
table { border-collapse: collapse; margin-bottom: 16px; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 10px; text-align: right; }
td, tbody th { white-space: nowrap; }
tbody th, thead th:first-child { text-align: left; }
td.level { text-align: left; }
.level-medium { background: #fff59d; } .level-high { background: #ffcc80; }
.level-critical { background: #ef9a9a; }
p.note { color: #555; font-size: 0.9em; }
.folium-map { margin: 0 24px; width: calc(100% - 48px) !important; border: 1px solid #999; }
@media print { .folium-map { page-break-inside: avoid; } }
"""

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    keep_trailing_newline=True,
)


@lru_cache(maxsize=8)
def strings(web_dir: Path, lang: str) -> dict[str, Any]:
    """The interface's strings in `lang` (web/src/i18n/LANG.json)."""
    return dict(orjson.loads((web_dir / "src" / "i18n" / f"{lang}.json").read_bytes()))


@lru_cache(maxsize=4)
def _vendored(web_dir: Path) -> tuple[str, str]:
    """Leaflet's script and styles from web/node_modules (installed at set-up)."""
    dist = web_dir / "node_modules" / "leaflet" / "dist"
    return (dist / "leaflet.js").read_text(), (dist / "leaflet.css").read_text()


@lru_cache(maxsize=3)
def _country_names(lang: str) -> gettext.NullTranslations:
    code = {"bs": "bs", "sr-Cyrl": "sr"}.get(lang)
    if code is None:
        return gettext.NullTranslations()
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, [code], fallback=True)


def nationality_name(code: str, lang: str, t: dict[str, Any]) -> str:
    """The country's name in `lang` (the ISO 3166 names translated with pycountry's
    catalogues; the short English name where there is no translation; the travel-document
    codes ISO lacks from the strings) and its code."""
    country = pycountry.countries.get(alpha_3=code)
    if country is None:
        return f"{t.get('nationalities', {}).get(code, code)} ({code})"
    translated = _country_names(lang).gettext(country.name)
    if translated == country.name:
        translated = getattr(country, "common_name", country.name)
    return f"{translated} ({code})"


def _geojson(frame: Any, tolerance: float, columns: list[str]) -> dict[str, Any]:
    shapes = frame[[*columns, "geometry"]].copy()
    shapes["geometry"] = shapes.geometry.simplify(tolerance).set_precision(1e-5)
    return dict(orjson.loads(shapes.to_json(drop_id=True)))


def _sequential(n: int) -> str:
    colour = SEQUENTIAL[0][1]
    for start, c in SEQUENTIAL:
        if n >= start:
            colour = c
    return colour


def _map(figures: dict[str, Any], geo: Geography, t: dict[str, Any]) -> folium.Map:
    r = t["report"]
    m = folium.Map(
        location=[43.9, 19.2], zoom_start=8, tiles=None, width="100%", height="600px",
        control_scale=True,
    )  # fmt: skip
    m.default_js, m.default_css = [], []  # inlined from the local copy instead
    west, south, east, north = geo.corridor.bounds
    m.fit_bounds([[south, west], [north, east]])

    folium.GeoJson(
        _geojson(geo.countries, 0.003, ["iso3", "name_local"]),
        name=r["layer_countries"],
        style_function=lambda f: {"color": "#9e9e9e", "weight": 1, "fillColor": "#eeeeee",
                                  "fillOpacity": 0.6},
        tooltip=folium.GeoJsonTooltip(fields=["name_local"], labels=False),
    ).add_to(m)  # fmt: skip

    sections = geo.sections[["id", "name", "geometry"]].copy()
    levels = figures["sections"]
    sections["level"] = [levels.get(s, {}).get("impact_level", "low") for s in sections["id"]]
    sections["level_name"] = [t["levels"][lv] for lv in sections["level"]]
    folium.GeoJson(
        _geojson(sections, 0.0005, ["id", "name", "level", "level_name"]),
        name=r["layer_sections"],
        style_function=lambda f: {"color": LEVEL_COLOURS[f["properties"]["level"]], "weight": 7,
                                  "opacity": 0.85},
        tooltip=folium.GeoJsonTooltip(
            fields=["id", "name", "level_name"], aliases=[r["section"], "", r["impact_level"]]
        ),
    ).add_to(m)  # fmt: skip
    folium.GeoJson(
        _geojson(geo.borders, 0.0005, ["id"]),
        name=r["layer_borders"],
        style_function=lambda f: {"color": "#212121", "weight": 2.5},
    ).add_to(m)

    hexagons = {"type": "FeatureCollection", "features": figures["hexagons"]}
    if figures["hexagons"]:
        folium.GeoJson(
            hexagons,
            name=r["layer_hexes"],
            style_function=lambda f: {
                "color": "#ffffff", "weight": 0.5, "fillOpacity": 0.7,
                "fillColor": _sequential(f["properties"]["incidents"]),
            },
            tooltip=folium.GeoJsonTooltip(fields=["incidents"], aliases=[r["incidents_count"]]),
        ).add_to(m)  # fmt: skip
    hot = [
        {
            "type": "Feature",
            "geometry": hexagon(c["h3"]),
            "properties": {"class": c["class"], "name": r["hotspot_classes"][c["class"]],
                           "z": round(c["z"], 2)},
        }
        for c in figures["hotspots"]
    ]  # fmt: skip
    if hot:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": hot},
            name=r["layer_hotspots"],
            style_function=lambda f: {
                "color": HOTSPOT_COLOURS[f["properties"]["class"]], "weight": 2.5,
                "fillOpacity": 0.15, "fillColor": HOTSPOT_COLOURS[f["properties"]["class"]],
            },
            tooltip=folium.GeoJsonTooltip(fields=["name", "z"], aliases=["", "z"]),
        ).add_to(m)  # fmt: skip

    points = geo.crossing_points[["id", "name_local", "geometry"]]
    folium.GeoJson(
        dict(orjson.loads(points.to_json(drop_id=True))),
        name=r["layer_crossings"],
        marker=folium.CircleMarker(radius=5, color="#0d47a1", fill=True, fill_opacity=1),
        tooltip=folium.GeoJsonTooltip(fields=["name_local"], labels=False),
    ).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def _local(iso: str | None, zone: Any) -> str:
    if iso is None:
        return "—"
    return (
        datetime.fromisoformat(iso.replace("Z", "+00:00"))
        .astimezone(zone)
        .strftime("%Y-%m-%d %H:%M")
    )


def _change(c: dict[str, Any], t: dict[str, Any]) -> str:
    pct = "—" if c["change_pct"] is None else f"{c['change_pct']:+.1f}%"
    return f"{pct} ({t['labels'][c['label']]})"


def _row(key: str, name: str, series: dict[str, Any] | None, t: dict[str, Any]) -> dict[str, Any]:
    zero = {"incidents": 0, "persons_involved": 0, "persons_apprehended": 0}
    total = series["total"] if series else zero
    previous = (
        series["previous"] if series else {**zero, "change_pct": None, "label": "low baseline"}
    )
    year = series["year_before"] if series else previous
    return {
        "key": key,
        "name": name,
        "incidents": total["incidents"],
        "persons_apprehended": total["persons_apprehended"],
        "previous": previous["incidents"],
        "previous_change": _change(previous, t),
        "year_before": year["incidents"],
        "year_before_change": _change(year, t),
    }


def _tables(figures: dict[str, Any], t: dict[str, Any], lang: str) -> dict[str, list[dict]]:
    tables = figures["tables"]

    def ordered(series: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(series, key=lambda s: (-s["total"]["incidents"], str(s["key"])))

    out = {
        "category": [_row(s["key"], t["categories"].get(s["key"], s["key"]), s, t)
                     for s in ordered(tables["category"])],
        "agency": [_row(s["key"], t["agencies"].get(s["key"], s["key"]), s, t)
                   for s in ordered(tables["agency"])],
        "nationality": [_row(s["key"], nationality_name(s["key"], lang, t), s, t)
                        for s in ordered(tables["nationality"])],
    }  # fmt: skip
    by_section = {s["key"]: s for s in tables["section"]}
    levels = figures["sections"]
    # Every section with incidents or above the lowest level, then those outside any section.
    shown = [sid for sid, lv in levels.items() if sid in by_section or lv["impact_level"] != "low"]
    shown.sort(key=lambda sid: (-(by_section[sid]["total"]["incidents"] if sid in by_section
                                  else 0), sid))  # fmt: skip
    rows = []
    for sid in shown:
        row = _row(sid, sid, by_section.get(sid), t)
        level = levels[sid]["impact_level"]
        by_hand = levels[sid]["impact_override"] is not None
        row["level"] = level
        row["level_name"] = t["levels"][level] + (f" ({t['report']['set_by_hand']})"
                                                  if by_hand else "")  # fmt: skip
        rows.append(row)
    if "-" in by_section:
        row = _row("-", t["report"]["outside_sections"], by_section["-"], t)
        row["level"], row["level_name"] = "none", "—"
        rows.append(row)
    out["section"] = rows
    return out


def _timeline(figures: dict[str, Any], period: Any, t: dict[str, Any], zone: Any) -> dict:
    hourly = period.kind == "day"
    if hourly:  # a day of 23 or 25 hours when the clocks change: count in local hours
        hours = int((period.end - period.start).total_seconds() // 3600)
        starts = [(period.start + timedelta(hours=i)).astimezone(zone) for i in range(hours)]
    else:
        days = (period.last - period.first).days + 1
        starts = [
            datetime.combine(period.first + timedelta(days=i), datetime.min.time(), zone)
            for i in range(days)
        ]
    counts = dict.fromkeys(range(len(starts)), 0)
    points = (figures["overall"] or {}).get("points", [])
    position = {s.astimezone(zone).replace(tzinfo=None): i for i, s in enumerate(starts)}
    for p in points:
        local = datetime.fromisoformat(p["start"].replace("Z", "+00:00")).astimezone(zone)
        i = position.get(local.replace(tzinfo=None))
        if i is not None:
            counts[i] += p["incidents"]
    peak = max([*counts.values(), 1])
    slot = TIMELINE_WIDTH / len(starts)
    bars = []
    for i, s in enumerate(starts):
        h = counts[i] / peak * (TIMELINE_HEIGHT - 20)
        bars.append({
            "start": s.isoformat(), "count": counts[i],
            "label": s.strftime("%H" if hourly else "%d.%m."),
            "x": round(i * slot + slot * 0.1, 1), "w": round(slot * 0.8, 1),
            "y": round(TIMELINE_HEIGHT - h, 1), "h": round(h, 1),
        })  # fmt: skip
    title = t["report"]["timeline_day" if hourly else "timeline_week"]
    return {"title": title, "bars": bars, "width": TIMELINE_WIDTH, "height": TIMELINE_HEIGHT}


def _filters_text(where: IncidentFilter, t: dict[str, Any]) -> str:
    parts = []
    for name, values in (
        ("category", [t["categories"].get(v, v) for v in where.categories]),
        ("agency", list(where.agencies)),
        ("nationality", list(where.nationalities)),
        ("section", list(where.border_sections)),
        ("crossing_point", list(where.crossing_points)),
    ):
        if values:
            parts.append(f"{t['report'].get(name, name)}: {', '.join(values)}")
    if where.bbox:
        parts.append("bbox: " + ",".join(f"{v:g}" for v in where.bbox))
    return "; ".join(parts) or t["report"]["no_filters"]


def _steady_ids(root: Any) -> None:
    """Number every element's id in order (branca draws them at random)."""
    counter = 0
    stack = [root]
    while stack:
        element = stack.pop(0)
        element._id = f"{counter:06x}"
        counter += 1
        for part in ("header", "html", "script"):
            if hasattr(element, part) and part in vars(element):
                stack.append(getattr(element, part))
        stack.extend(element._children.values())


def render(
    figures: dict[str, Any],
    *,
    period: Any,
    lang: str,
    caller: Caller,
    where: IncidentFilter,
    generated: datetime,
    geo: Geography,
    settings: Settings,
) -> str:
    """The whole report, one HTML document."""
    zone = generated.tzinfo
    t = strings(settings.web_dir, lang)
    r = t["report"]
    title = r["title_day" if period.kind == "day" else "title_week"]
    if period.first == period.last:
        period_text = period.first.strftime("%d.%m.%Y")
    else:
        period_text = f"{period.first:%d.%m.%Y} – {period.last:%d.%m.%Y}"
    overall = figures["overall"]
    headline = []
    for key, name in (("incidents", r["incidents_count"]),
                      ("persons_involved", r["persons_involved"]),
                      ("persons_apprehended", r["persons_apprehended"])):  # fmt: skip
        now = overall["total"][key] if overall else 0
        before = overall["previous"] if overall else None
        year = overall["year_before"] if overall else None
        headline.append({
            "key": key, "name": name, "now": now,
            "previous": before[key] if before else 0,
            "year_before": year[key] if year else 0,
            # the change labels speak of incidents; the other measures get their percentage
            "previous_change": _measure_change(now, before[key] if before else 0, t, key, before),
            "year_before_change": _measure_change(now, year[key] if year else 0, t, key, year),
        })  # fmt: skip
    data = figures["data"]
    context = {
        "t": t,
        "r": r,
        "title": title,
        "period": {
            "text": period_text,
            "start_iso": period.start.isoformat().replace("+00:00", "Z"),
            "end_iso": period.end.isoformat().replace("+00:00", "Z"),
        },
        "recipient": t["agencies"].get(caller.agency, caller.agency) if caller.agency
        else r["service"],
        "filters": _filters_text(where, t),
        "data": r["data_note"].format(
            count=data["incidents"],
            changed=_local(data["changed"].isoformat() if data["changed"] else None, zone),
        ) if data["incidents"] else r["no_data"],
        "generated": generated.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "headline": headline,
        "tables": _tables(figures, t, lang),
        "timeline": _timeline(figures, period, t, zone),
        "alerts": [
            {"id": a["id"], "time": _local(a["raised_at"], zone),
             "kind": r["kinds"].get(a["kind"], a["kind"]), "subject": a["subject"],
             "level": t["levels"].get(a["level"], r["hotspot_classes"].get(a["level"], a["level"]))}
            for a in figures["alerts"]
        ],
    }  # fmt: skip
    template = TEMPLATES.get_template("situation_report.html.j2")
    module: Any = template.make_module(context)
    m = _map(figures, geo, t)
    figure: Any = m.get_root()
    figure.title = f"{title} — {period_text}"
    script, css = _vendored(settings.web_dir)
    figure.header.add_child(Element(f"<style>{css}</style>"), name="leaflet_css")
    figure.header.add_child(Element(f"<script>{script}</script>"), name="leaflet")
    figure.header.add_child(Element(f"<style>{STYLE}</style>"), name="report_css")
    figure.html.add_child(Element(str(module.head())), name="report_head", index=0)
    _steady_ids(figure)
    # The map draws itself into the page under its name when rendered: keep it its place.
    figure.html.add_child(Element(""), name=m.get_name())
    figure.html.add_child(Element(str(module.rest())), name="report_rest")
    html = figure.render()
    return html.replace("<html>", f'<html lang="{lang}">', 1)


def _measure_change(
    now: int, before: int, t: dict[str, Any], key: str, change: dict[str, Any] | None
) -> str:
    if change is None:
        return "—"
    if key == "incidents":
        return _change(change, t)
    return "—" if before == 0 else f"{(now - before) / before * 100:+.1f}%"
