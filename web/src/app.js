// The map page: Leaflet, with a layer control built from the layer catalog, and the page's
// selection (the filters in its URL) applied to the incident layers, the reports and exports.
"use strict";
const LANG = pickLanguage(window.location.search, navigator.languages);
const SEARCH = window.location.search;
document.documentElement.lang = LANG;
const SHOWN_AT_START = new Set(["countries", "borders", "crossing-points", "incident-hexes"]);

const map = L.map("map").setView([43.9, 19.2], 8);

loadStrings(LANG).then((strings) => {
  selectionControl(strings, LANG, SEARCH).addTo(map);
  document.body.dataset.selection = "ready";
});

fetch("/api/v1/layers")
  .then((r) => r.json())
  .then(({ layers }) => {
    const control = L.control.layers(null, null, { collapsed: false }).addTo(map);
    for (const layer of layers) {
      const made = makeLayer(layer, pageFilters(SEARCH, ["bbox"]));  // a tile is its own box
      control.addOverlay(made, layer.titles[LANG] || layer.titles.en);
      if (SHOWN_AT_START.has(layer.id)) made.addTo(map);
    }
    document.body.dataset.layers = "ready";
  });
