// The page's selection: the incident filters in its URL (the API's own parameter names),
// applied to the incident layers, the situation-report links and the exports alike, so a
// view shared as a link shows, reports and exports the same incidents.
"use strict";
const FILTER_PARAMS = ["datetime", "bbox", "category", "agency", "nationality", "border_section", "crossing_point"];
const EXPORT_FORMATS = [["geojson", "GeoJSON"], ["csv", "CSV"], ["gpkg", "GeoPackage"]];

function pageFilters(search, without = []) {
  const out = new URLSearchParams();
  for (const [key, value] of new URLSearchParams(search)) {
    if (FILTER_PARAMS.includes(key) && !without.includes(key)) out.append(key, value);
  }
  return out;
}

function withQuery(url, params) {
  const query = params.toString();
  return query ? `${url}${url.includes("?") ? "&" : "?"}${query}` : url;
}

function reportLink(period, lang, search) {
  // A report's time is its period: the page's time window does not go with it.
  const params = new URLSearchParams({ period, lang });
  for (const [k, v] of pageFilters(search, ["datetime"])) params.append(k, v);
  return `/api/v1/reports/situation?${params}`;
}

function exportLink(format, search) {
  const params = new URLSearchParams({ format });
  for (const [k, v] of pageFilters(search)) params.append(k, v);
  return `/api/v1/exports?${params}`;
}

function link(href, text, id) {
  const a = L.DomUtil.create("a");
  a.href = href;
  a.textContent = text;
  a.id = id;
  return a;
}

function selectionControl(strings, lang, search) {
  const s = strings.selection;
  const control = L.control({ position: "bottomleft" });
  control.onAdd = () => {
    const div = L.DomUtil.create("div", "leaflet-control selection-panel");
    const filters = pageFilters(search).toString();
    const rows = [
      [s.filters, [document.createTextNode(filters ? decodeURIComponent(filters).replaceAll("&", " · ") : s.none)]],
      [s.report, ["day", "week"].map((p) => {
        const a = link(reportLink(p, lang, search), s[p], `report-${p}`);
        a.target = "_blank";
        return a;
      })],
      [s.export, EXPORT_FORMATS.map(([f, name]) => {
        const a = link(exportLink(f, search), name, `export-${f}`);
        a.setAttribute("download", "");
        return a;
      })],
    ];
    for (const [title, items] of rows) {
      const row = L.DomUtil.create("div", "", div);
      L.DomUtil.create("strong", "", row).textContent = `${title}: `;
      items.forEach((item, i) => {
        if (i) row.append(" · ");
        row.append(item);
      });
    }
    L.DomEvent.disableClickPropagation(div);
    return div;
  };
  return control;
}
