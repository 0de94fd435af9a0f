// The analysts' workspace: filters, hexagons and points, a time slider, hot spot layers with
// their legends, a drill-down into any hexagon or border section, report links and exports —
// the whole view in the URL. The layer control is the layer catalog.
"use strict";
const STATE = readState(window.location.search);
const LANG = pickLanguage(window.location.search, navigator.languages);
const LOCALE = LOCALES[LANG];
STATE.lang = LANG;
document.documentElement.lang = LANG;
const REFERENCE_SHOWN = new Set(["countries", "borders", "crossing-points", "border-sections"]);
const HOTSPOT_LAYERS = new Set(["hotspots", "emerging-hotspots"]);

const map = L.map("map", { zoomSnap: 0.5 });
const [atLat, atLng, atZoom] = STATE.at.split(",").map(Number);
if (Number.isFinite(atLat) && Number.isFinite(atLng) && Number.isFinite(atZoom)) map.setView([atLat, atLng], atZoom);
else map.setView([43.9, 19.2], 8);

let strings = null;
let catalog = [];
let control = null;
const made = {}; // layer id → Leaflet layer
let legend = null;
let playing = null;
let drawing = false; // layers added and removed by draw(), not by the analyst

function titleOf(layer) {
  return layer.titles[LANG] || layer.titles.en;
}

function saveState() {
  window.history.replaceState(null, "", writeState(STATE));
}

function liveFilters(layer) {
  const p = filterParams(STATE);
  if (STATE.resolution !== "auto" && (layer.id === "incident-hexes" || HOTSPOT_LAYERS.has(layer.id))) {
    p.set("resolution", STATE.resolution === "5" && HOTSPOT_LAYERS.has(layer.id) ? "6" : STATE.resolution);
  }
  return p;
}

function wanted(layer) {
  if (layer.id === "incident-hexes") return STATE.show !== "points";
  if (layer.id === "incidents") return STATE.show !== "hexes";
  if (layer.live) return STATE.layers.includes(layer.id);
  return made[layer.id] ? map.hasLayer(made[layer.id]) : REFERENCE_SHOWN.has(layer.id);
}

function build(layer) {
  const leaflet = makeLayer(layer, layer.live ? liveFilters(layer) : new URLSearchParams());
  if (layer.tiled) {
    leaflet.on("click", (e) => {
      const h3 = e.layer && e.layer.properties && e.layer.properties.h3;
      if (h3) showDetails({ cell: h3 });
    });
  }
  if (layer.live && !layer.tiled) { // hot spot layers: their cells open like hexagons
    leaflet.on("click", (e) => showDetails({ cell: e.layer.feature.properties.h3 }));
  }
  if (layer.id === "border-sections") {
    leaflet.on("click", (e) => showDetails({ border_section: e.layer.feature.properties.id }));
  }
  leaflet.layerId = layer.id;
  return leaflet;
}

// (Re)draw: live layers are made afresh for the current filters; the control keeps the
// catalog's order.
function draw() {
  const shown = Object.fromEntries(catalog.map((l) => [l.id, wanted(l)]));
  drawing = true;
  if (control) map.removeControl(control);
  control = L.control.layers(null, null, { collapsed: false });
  for (const layer of catalog) {
    if (layer.live || !made[layer.id]) {
      if (made[layer.id]) map.removeLayer(made[layer.id]);
      made[layer.id] = build(layer);
    }
    control.addOverlay(made[layer.id], titleOf(layer));
    if (shown[layer.id]) made[layer.id].addTo(map);
  }
  control.addTo(map);
  drawing = false;
  drawLegend();
  renderSelectionLinks(document.getElementById("selection"), strings, LANG, filterParams(STATE, true));
  document.body.dataset.drawn = String(Number(document.body.dataset.drawn || 0) + 1);
}

function layerToggled(e, on) {
  if (drawing) return;
  const id = e.layer.layerId;
  if (id === "incident-hexes" || id === "incidents") {
    const hexes = id === "incident-hexes" ? on : map.hasLayer(made["incident-hexes"]);
    const points = id === "incidents" ? on : map.hasLayer(made.incidents);
    STATE.show = hexes && points ? "both" : points ? "points" : "hexes";
    const radio = document.querySelector(`input[name=show][value=${STATE.show}]`);
    if (radio) radio.checked = true;
  } else if (HOTSPOT_LAYERS.has(id)) {
    STATE.layers = STATE.layers.filter((l) => l !== id).concat(on ? [id] : []);
    drawLegend();
  }
  saveState();
}

const SWATCHES = {
  hexes: SEQUENTIAL.map(([from, colour]) => [colour, `≥ ${from}`]),
  hotspots: Object.entries(HOTSPOT_COLOURS),
};

function drawLegend() {
  if (legend) map.removeControl(legend);
  legend = L.control({ position: "bottomright" });
  legend.onAdd = () => {
    const div = L.DomUtil.create("div", "legend");
    const w = strings.workspace;
    const blocks = [];
    if (STATE.show !== "points") blocks.push([w.legend_hexes, SWATCHES.hexes]);
    if (STATE.layers.includes("hotspots")) {
      blocks.push([w.legend_hotspots, SWATCHES.hotspots.map(([k, c]) => [c, strings.report.hotspot_classes[k]])]);
    }
    if (STATE.layers.includes("emerging-hotspots")) {
      blocks.push([w.legend_emerging, [["#d6604d", w.emerging_hot], ["#4393c3", w.emerging_cold]]]);
    }
    for (const [title, rows] of blocks) {
      const h = L.DomUtil.create("strong", "", div);
      h.textContent = title;
      for (const [colour, label] of rows) {
        const row = L.DomUtil.create("div", "", div);
        const i = L.DomUtil.create("i", "", row);
        i.style.background = colour;
        row.append(label);
      }
    }
    div.dataset.legends = String(blocks.length);
    return div;
  };
  legend.addTo(map);
}

function showDetails(place) {
  openDetails(document.getElementById("details"), place, filterParams(STATE), strings, LOCALE);
}

function el(tag, props = {}, children = []) {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

function checkboxes(name, codes, labels) {
  return el("fieldset", { className: "checks" }, codes.map((code) => {
    const box = el("input", { type: "checkbox", name, value: code, checked: STATE[name].includes(code) });
    return el("label", {}, [box, ` ${labels[code] || code}`]);
  }));
}

function buildForm() {
  const w = strings.workspace;
  const form = el("form", { id: "filter-form" });
  const language = el("select", { id: "lang", name: "lang" }, LANGUAGES.map((l) => el("option", { value: l, textContent: { en: "English", bs: "Bosanski", "sr-Cyrl": "Српски" }[l], selected: l === LANG })));
  const preset = el("select", { id: "period", name: "period" }, Object.entries(w.presets).map(([k, label]) => el("option", { value: k, textContent: label, selected: k === STATE.period })));
  const [from, to] = (STATE.datetime || "").split("/");
  const fromInput = el("input", { type: "date", id: "from", name: "from", value: from && from !== ".." ? from.slice(0, 10) : "" });
  const toInput = el("input", { type: "date", id: "to", name: "to", value: to && to !== ".." ? to.slice(0, 10) : "" });
  const range = el("div", { id: "range", hidden: STATE.period !== "custom" }, [el("label", {}, [`${w.from} `, fromInput]), el("label", {}, [` ${w.to} `, toInput])]);
  const resolution = el("select", { id: "resolution", name: "resolution" }, ["auto", "5", "6", "7", "8", "9"].map((r) => el("option", { value: r, textContent: r === "auto" ? w.auto : r, selected: r === STATE.resolution })));
  const show = el("fieldset", { className: "radios" }, ["hexes", "points", "both"].map((v) => el("label", {}, [el("input", { type: "radio", name: "show", value: v, checked: STATE.show === v }), ` ${w[v]}`])));
  form.append(
    el("label", { className: "row" }, [`${strings.language} `, language]),
    el("h3", { textContent: w.time }), preset, range,
    el("h3", { textContent: w.categories }), checkboxes("category", Object.keys(strings.categories), strings.categories),
    el("h3", { textContent: w.agencies }), checkboxes("agency", Object.keys(strings.agencies_short), strings.agencies_short),
    el("h3", { textContent: w.nationalities }), el("input", { type: "text", id: "nationality", name: "nationality", value: STATE.nationality.join(","), placeholder: "AFG,SYR" }),
    el("h3", { textContent: w.sections }), el("input", { type: "text", id: "border_section", name: "border_section", value: STATE.border_section.join(","), placeholder: "BIH-SRB-07" }),
    el("h3", { textContent: w.resolution }), resolution,
    el("h3", { textContent: w.show }), show,
    el("div", { id: "selection", className: "selection-panel" }),
  );
  form.addEventListener("change", (e) => {
    if (e.target.name === "lang") {
      rememberLanguage(e.target.value);
      STATE.lang = e.target.value;
      window.location.search = writeState(STATE);
      return;
    }
    STATE.period = preset.value;
    range.hidden = STATE.period !== "custom";
    if (STATE.period === "custom" && fromInput.value && toInput.value) {
      STATE.datetime = `${fromInput.value}T00:00:00Z/${toInput.value}T23:59:59Z`;
    }
    STATE.category = [...form.querySelectorAll("input[name=category]:checked")].map((b) => b.value);
    STATE.agency = [...form.querySelectorAll("input[name=agency]:checked")].map((b) => b.value);
    const codes = (id) => form.querySelector(`#${id}`).value.split(",").map((v) => v.trim().toUpperCase()).filter(Boolean);
    STATE.nationality = codes("nationality");
    STATE.border_section = codes("border_section");
    STATE.resolution = resolution.value;
    STATE.show = form.querySelector("input[name=show]:checked").value;
    STATE.step = -1;
    saveState();
    buildSlider();
    draw();
  });
  form.addEventListener("submit", (e) => e.preventDefault());
  document.getElementById("filters").replaceChildren(form);
}

function buildSlider() {
  const w = strings.workspace;
  const steps = stepsOf(STATE);
  const slider = document.getElementById("step");
  const label = document.getElementById("step-label");
  const play = document.getElementById("play");
  const when = new Intl.DateTimeFormat(LOCALE, { timeZone: "Europe/Sarajevo", dateStyle: "medium", ...(steps.length && steps[0][1] - steps[0][0] < 86_400_000 ? { timeStyle: "short" } : {}) });
  slider.max = String(steps.length - 1);
  slider.value = String(STATE.step);
  const describe = () => {
    label.textContent = STATE.step < 0 || !steps[STATE.step] ? w.whole : when.format(steps[STATE.step][0]);
  };
  describe();
  slider.oninput = () => {
    STATE.step = Number(slider.value);
    describe();
    saveState();
    draw();
  };
  play.textContent = playing ? w.pause : w.play;
  play.onclick = () => {
    if (playing) {
      clearInterval(playing);
      playing = null;
    } else {
      playing = setInterval(() => {
        STATE.step = STATE.step + 1 >= steps.length ? 0 : STATE.step + 1;
        slider.value = String(STATE.step);
        describe();
        saveState();
        draw();
      }, 1500);
    }
    play.textContent = playing ? w.pause : w.play;
  };
  document.getElementById("slider").hidden = false;
}

map.on("overlayadd", (e) => layerToggled(e, true));
map.on("overlayremove", (e) => layerToggled(e, false));
map.on("moveend", () => {
  const c = map.getCenter();
  STATE.at = `${c.lat.toFixed(4)},${c.lng.toFixed(4)},${map.getZoom()}`;
  saveState();
});

Promise.all([loadStrings(LANG), fetch("/api/v1/layers").then(checked).then((r) => r.json())]).then(([s, body]) => {
  strings = s;
  catalog = body.layers;
  if (body.basemap) L.tileLayer(body.basemap.url, { attribution: body.basemap.attribution }).addTo(map);
  buildForm();
  buildSlider();
  draw();
  saveState();
  document.body.dataset.layers = "ready";
  document.body.dataset.selection = "ready";
});
