// The situation-report links and the exports of the page's selection (its filters, as the
// API's own parameters), so that what is shown is what is reported and exported.
"use strict";
const EXPORT_FORMATS = [["geojson", "GeoJSON"], ["csv", "CSV"], ["gpkg", "GeoPackage"]];

function withQuery(url, params) {
  const query = params.toString();
  return query ? `${url}${url.includes("?") ? "&" : "?"}${query}` : url;
}

function reportLink(period, lang, filters) {
  // A report's time is its period: the page's time window does not go with it.
  const params = new URLSearchParams({ period, lang });
  for (const [k, v] of filters) if (k !== "datetime") params.append(k, v);
  return `/api/v1/reports/situation?${params}`;
}

function exportLink(format, filters) {
  const params = new URLSearchParams({ format });
  for (const [k, v] of filters) params.append(k, v);
  return `/api/v1/exports?${params}`;
}

function link(href, text, id) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  a.id = id;
  return a;
}

// The links, in `container`, for `filters` (URLSearchParams).
function renderSelectionLinks(container, strings, lang, filters) {
  const s = strings.selection;
  const rows = [
    [s.report, ["day", "week"].map((p) => {
      const a = link(reportLink(p, lang, filters), s[p], `report-${p}`);
      a.target = "_blank";
      return a;
    })],
    [s.export, EXPORT_FORMATS.map(([f, name]) => {
      const a = link(exportLink(f, filters), name, `export-${f}`);
      a.setAttribute("download", "");
      return a;
    })],
  ];
  container.replaceChildren();
  for (const [title, items] of rows) {
    const row = document.createElement("div");
    const label = document.createElement("strong");
    label.textContent = `${title}: `;
    row.append(label);
    items.forEach((item, i) => {
      if (i) row.append(" · ");
      row.append(item);
    });
    container.append(row);
  }
}
