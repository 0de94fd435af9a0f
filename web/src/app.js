// The map page: Leaflet, with a layer control built from the layer catalog.
"use strict";
const LANG = pickLanguage(window.location.search, navigator.languages);
document.documentElement.lang = LANG;
const SHOWN_AT_START = new Set(["countries", "borders", "crossing-points", "incident-hexes"]);

const map = L.map("map").setView([43.9, 19.2], 8);

fetch("/api/v1/layers")
  .then((r) => r.json())
  .then(({ layers }) => {
    const control = L.control.layers(null, null, { collapsed: false }).addTo(map);
    for (const layer of layers) {
      const made = makeLayer(layer);
      control.addOverlay(made, layer.titles[LANG] || layer.titles.en);
      if (SHOWN_AT_START.has(layer.id)) made.addTo(map);
    }
    document.body.dataset.layers = "ready";
  });
