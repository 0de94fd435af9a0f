// Leaflet layers made from the layer catalog (GET /api/v1/layers): incident layers as vector
// tiles, reference geography as GeoJSON read once.
"use strict";
// Leaflet.VectorGrid 1.3 marks a clicked feature's event as handled with a function Leaflet
// 1.8 dropped; Leaflet reads the same mark (`_stopped`) on the event itself.
if (!L.DomEvent.fakeStop) L.DomEvent.fakeStop = (e) => { e._stopped = true; };
const CATEGORY_COLOURS = {
  unauthorised_crossing: "#e6550d",
  migrant_smuggling: "#d62728",
  trafficking_in_human_beings: "#9467bd",
  drug_smuggling: "#2ca02c",
  weapons_smuggling: "#111111",
  excise_smuggling: "#bcbd22",
  stolen_vehicle: "#17becf",
  document_fraud: "#8c564b",
  other_crime: "#7f7f7f",
  crisis: "#e377c2",
};
const SEQUENTIAL = [[1, "#fee5d9"], [5, "#fcae91"], [20, "#fb6a4a"], [50, "#de2d26"], [200, "#a50f15"]];

function sequentialColour(value) {
  let colour = SEQUENTIAL[0][1];
  for (const [from, c] of SEQUENTIAL) if (value >= from) colour = c;
  return colour;
}

function vectorStyle(layer) {
  const kind = layer.style.kind;
  return (properties) => {
    if (kind === "fill") {
      const n = properties[layer.style.color_by] || 0;
      return { fill: true, fillColor: sequentialColour(n), fillOpacity: 0.65, color: "#ffffff", weight: 0.5 };
    }
    if (properties.aggregated) {
      const r = Math.min(4 + Math.sqrt(properties.incidents), 24);
      return { radius: r, fill: true, fillColor: "#de2d26", fillOpacity: 0.55, color: "#ffffff", weight: 1 };
    }
    const colour = CATEGORY_COLOURS[properties.category] || "#ff7f0e";
    return { radius: layer.style.radius_px || 5, fill: true, fillColor: colour, fillOpacity: 0.9, color: "#ffffff", weight: 1 };
  };
}

const HOTSPOT_COLOURS = {
  "hot-99": "#b2182b", "hot-95": "#ef8a62", "hot-90": "#fddbc7",
  "cold-90": "#d1e5f0", "cold-95": "#67a9cf", "cold-99": "#2166ac",
};

function referenceStyle(layer, feature) {
  const kind = layer.style.kind;
  const value = feature && feature.properties[layer.style.color_by];
  if (layer.live) {
    const colour = HOTSPOT_COLOURS[value] || (String(value).includes("hot spot") ? "#d6604d" : String(value).includes("cold spot") ? "#4393c3" : null);
    return { color: "#ffffff", weight: colour ? 0.5 : 0, fillColor: colour || "#000000", fillOpacity: colour ? 0.6 : 0 };
  }
  if (kind === "line") return { color: layer.style.color || "#ffd54f", weight: layer.style.width_px || 3 };
  if (kind === "fill" || layer.geometry.endsWith("Polygon")) {
    return { color: layer.style.color || "#90a4ae", weight: 1, fillOpacity: layer.style.opacity ?? 0.08 };
  }
  return { color: "#ffffff", weight: 2 };
}

function makeLayer(layer, filters) {
  if (layer.tiled) {
    return L.vectorGrid.protobuf(withQuery(layer.links.tiles, filters), {
      minZoom: layer.minZoom,
      maxZoom: layer.maxZoom,
      rendererFactory: L.canvas.tile,
      interactive: true,
      getFeatureId: (f) => f.properties.h3 || f.properties.id,
      vectorTileLayerStyles: { [layer.id]: vectorStyle(layer) },
    });
  }
  const group = L.geoJSON(null, {
    // Areas drawn for reference would catch every click meant for the hexagons under them.
    interactive: layer.live || !layer.geometry.endsWith("Polygon"),
    style: (feature) => referenceStyle(layer, feature),
    pointToLayer: (_feature, latlng) => L.circleMarker(latlng, { radius: 6, color: "#ffffff", fillColor: "#42a5f5", fillOpacity: 1 }),
  });
  group.on("add", () => {
    if (group.loaded) return;
    group.loaded = true;
    const url = withQuery(`${layer.links.items}?limit=10000`, layer.live ? filters : new URLSearchParams());
    fetch(url).then(checked).then((r) => r.json()).then((body) => group.addData(body));
  });
  return group;
}
