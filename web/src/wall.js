// The operations-room wall map: nobody touches it. Borders, border sections by impact
// level, crossing points, incidents per hexagon over the last days (filled) and hours
// (outlined), each new incident pulsing for a minute as the live stream brings it; a side
// panel of figures; a clock in Sarajevo time; views cycled on a timer. URL parameters:
// lang, days (7), hours (24), resolution (7), cycle (seconds per view, 0: none), views
// (region,drina,trebinje,srb-mne), refresh (seconds, 60).
"use strict";
const PARAMS = new URLSearchParams(window.location.search);
const LANG = pickLanguage(window.location.search, navigator.languages);
const LOCALE = LOCALES[LANG];
const ZONE = "Europe/Sarajevo";
const DAYS = Number(PARAMS.get("days") || 7);
const HOURS = Number(PARAMS.get("hours") || 24);
const RESOLUTION = Number(PARAMS.get("resolution") || 7);
const CYCLE_S = Number(PARAMS.get("cycle") || 0);
const REFRESH_S = Number(PARAMS.get("refresh") || 60);
const PULSE_MS = 60_000;
const VIEWS = {
  region: [[42.35, 18.0], [45.15, 20.4]],
  drina: [[43.7, 18.9], [44.5, 19.5]], // Zvornik to Višegrad
  trebinje: [[42.45, 18.15], [43.05, 18.95]], // BiH–Montenegro around Trebinje
  "srb-mne": [[42.75, 19.15], [43.55, 20.45]], // Serbia–Montenegro
};
const LEVEL_COLOURS = { low: "#2e7d32", medium: "#fdd835", high: "#fb8c00", critical: "#e53935" };
const HEX_STEPS = [[1, "#6b2d3e"], [3, "#a23b45"], [10, "#e4572e"], [30, "#ff8c42"], [100, "#ffd166"]];

const numbers = new Intl.NumberFormat(LOCALE);
const clockFormat = new Intl.DateTimeFormat(LOCALE, { timeZone: ZONE, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
const asOfFormat = new Intl.DateTimeFormat(LOCALE, { timeZone: ZONE, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
let strings = null;
let lastGood = null; // when data last came in

const map = L.map("map", { zoomControl: false, attributionControl: false, zoomSnap: 0.25 });
map.fitBounds(VIEWS.region);
const layers = {
  countries: L.geoJSON(null, { style: { color: "#30363d", weight: 1, fillColor: "#161b22", fillOpacity: 1, className: "wall-country" } }),
  hexes: L.geoJSON(null, { style: (f) => ({ color: "#0d1117", weight: 0.5, fillColor: hexColour(f.properties.incidents), fillOpacity: 0.85, className: "wall-hex" }) }),
  recent: L.geoJSON(null, { style: { color: "#ffeb3b", weight: 2, fill: false, className: "wall-recent" } }),
  borders: L.geoJSON(null, { style: { color: "#e6edf3", weight: 3.5, className: "wall-border" } }),
  sections: L.geoJSON(null, { style: (f) => ({ color: LEVEL_COLOURS[f.properties.impact_level] || "#43a047", weight: 7, opacity: 0.8, className: `wall-section level-${f.properties.impact_level}` }) }),
  crossings: L.geoJSON(null, { pointToLayer: (_f, latlng) => L.circleMarker(latlng, { radius: 7, color: "#0d1117", weight: 2, fillColor: "#4fc3f7", fillOpacity: 1, className: "wall-crossing" }) }),
  live: L.layerGroup(),
};
for (const name of ["countries", "hexes", "recent", "sections", "borders", "crossings", "live"]) layers[name].addTo(map);

function hexColour(n) {
  let colour = HEX_STEPS[0][1];
  for (const [from, c] of HEX_STEPS) if (n >= from) colour = c;
  return colour;
}

function since(ms) {
  return new Date(Date.now() - ms).toISOString().replace(/\.\d+Z$/, "Z");
}

async function getJSON(url) {
  try {
    const response = checked(await fetch(url, { cache: "no-store" }));
    if (!response.ok) throw new Error(`${response.status} ${url}`);
    const body = await response.json();
    lastGood = new Date();
    return body;
  } catch (error) {
    showOffline();
    throw error;
  }
}

function showOffline() {
  const banner = document.getElementById("offline");
  const time = lastGood ? asOfFormat.format(lastGood) : "—";
  banner.textContent = strings ? strings.wall.offline.replace("{time}", time) : time;
  banner.hidden = false;
  document.body.dataset.connection = "lost";
}

function showOnline() {
  document.getElementById("offline").hidden = true;
  document.body.dataset.connection = "live";
}

async function loadReference() {
  const [countries, borders, crossings] = await Promise.all(
    ["countries", "borders", "crossing-points"].map((id) => getJSON(`/ogc/collections/${id}/items?limit=10000`)),
  );
  layers.countries.addData(countries);
  layers.borders.addData(borders);
  layers.crossings.addData(crossings);
}

async function loadSections() {
  const body = await getJSON("/ogc/collections/border-sections/items?limit=10000");
  layers.sections.clearLayers().addData(body);
  const high = body.features
    .filter((f) => ["high", "critical"].includes(f.properties.impact_level))
    .map((f) => `${f.properties.id} (${strings.levels[f.properties.impact_level]})`);
  fill("high-sections", high.length ? high.slice(0, 10) : [strings.wall.none]);
}

async function loadHexes() {
  const base = `/ogc/collections/incident-hexes/items?resolution=${RESOLUTION}&limit=10000`;
  const [days, hours] = await Promise.all([
    getJSON(`${base}&datetime=${since(DAYS * 86_400_000)}/..`),
    getJSON(`${base}&datetime=${since(HOURS * 3_600_000)}/..`),
  ]);
  layers.hexes.clearLayers().addData(days);
  layers.recent.clearLayers().addData(hours);
  document.body.dataset.hexes = String(days.features.length);
}

function fill(id, items) {
  const list = document.getElementById(id);
  list.replaceChildren(...items.map((item) => {
    const li = document.createElement("li");
    if (Array.isArray(item)) {
      const [label, value] = item;
      const name = document.createElement("span");
      name.textContent = label;
      const figure = document.createElement("span");
      figure.className = "figure";
      figure.textContent = numbers.format(value);
      li.append(name, figure);
    } else {
      li.textContent = item;
    }
    return li;
  }));
}

async function loadFigures(key, ms) {
  const window = `datetime=${since(ms)}/${new Date().toISOString().replace(/\.\d+Z$/, "Z")}`;
  const [all, categories, agencies, nationalities] = await Promise.all(
    [null, "category", "agency", "nationality"].map((by) => getJSON(`/api/v1/trends?${window}${by ? `&by=${by}` : ""}`)),
  );
  const total = all.series[0] ? all.series[0].total : { incidents: 0, persons_apprehended: 0 };
  document.getElementById(`count-${key}`).textContent = numbers.format(total.incidents);
  document.getElementById(`persons-${key}`).textContent = numbers.format(total.persons_apprehended);
  const top = (body, measure, n) => [...body.series].sort((a, b) => b.total[measure] - a.total[measure]).slice(0, n);
  fill(`categories-${key}`, top(categories, "incidents", 5).map((s) => [strings.categories[s.key] || s.key, s.total.incidents]));
  fill(`agencies-${key}`, top(agencies, "incidents", 4).map((s) => `${strings.agencies_short[s.key] || s.key} ${numbers.format(s.total.incidents)}`));
  const nationalityList = document.getElementById(`nationalities-${key}`);
  if (nationalityList) {
    fill(`nationalities-${key}`, top(nationalities, "persons_apprehended", 5).map((s) => `${s.key} ${numbers.format(s.total.persons_apprehended)}`));
  }
}

async function refresh() {
  try {
    await Promise.all([loadHexes(), loadSections(), loadFigures("24h", HOURS * 3_600_000), loadFigures("7d", DAYS * 86_400_000)]);
    showOnline();
  } catch (error) {
    console.warn("refresh failed", error);
  }
}

let refreshSoon = null;
function refreshShortly() {
  // Many incidents at once (an import) bring one refresh, not one each.
  if (refreshSoon) return;
  refreshSoon = setTimeout(() => { refreshSoon = null; refresh(); }, 3000);
}

function pulse(feature) {
  const [lon, lat] = feature.geometry.coordinates;
  const icon = L.divIcon({ className: "", html: `<div class="pulse" data-incident-id="${Number(feature.id)}"></div>`, iconSize: null });
  const marker = L.marker([lat, lon], { icon, interactive: false, keyboard: false }).addTo(layers.live);
  setTimeout(() => layers.live.removeLayer(marker), PULSE_MS);
}

function listen() {
  const events = new EventSource("/api/v1/stream");
  events.addEventListener("hello", () => {
    if (document.body.dataset.connection === "lost") refresh();
    showOnline();
  });
  events.addEventListener("incident", (e) => {
    const feature = JSON.parse(e.data);
    if (feature.properties.version === 1) pulse(feature);
    refreshShortly();
  });
  events.addEventListener("removed", refreshShortly);
  events.addEventListener("refresh", refreshShortly);
  events.addEventListener("alert", refreshShortly);
  events.onerror = () => showOffline(); // the browser reconnects by itself
}

function tick() {
  document.getElementById("clock").textContent = clockFormat.format(new Date());
}

function cycleViews() {
  const names = (PARAMS.get("views") || Object.keys(VIEWS).join(",")).split(",").filter((v) => VIEWS[v]);
  const first = names[0] || "region";
  map.fitBounds(VIEWS[first]);
  document.body.dataset.view = first;
  if (!CYCLE_S || names.length < 2) return;
  let i = 0;
  setInterval(() => {
    i = (i + 1) % names.length;
    map.flyToBounds(VIEWS[names[i]], { duration: 2 });
    document.body.dataset.view = names[i];
  }, CYCLE_S * 1000);
}

async function start() {
  document.documentElement.lang = LANG;
  strings = await loadStrings(LANG);
  document.getElementById("title").textContent = strings.wall.title;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = strings.wall[el.dataset.i18n];
  tick();
  setInterval(tick, 1000);
  cycleViews();
  const { basemap } = await getJSON("/api/v1/layers").catch(() => ({}));
  if (basemap) L.tileLayer(basemap.url, { opacity: 0.5 }).addTo(map).bringToBack();
  await Promise.all([loadReference().catch(() => {}), refresh()]);
  document.body.dataset.wall = "ready"; // everything drawn once
  listen();
  setInterval(refresh, REFRESH_S * 1000);
}

start();
