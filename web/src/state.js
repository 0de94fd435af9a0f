// The analyst's view as URL parameters, so that a link shares it: the filters (the API's own
// names), the period preset, hexagon size, what is shown, extra layers, the time step and the
// map's centre and zoom. Relative presets are kept as presets and resolved when read.
"use strict";
const PRESETS = { "24h": 1, "7d": 7, "30d": 30, "365d": 365 };
const LIST_PARAMS = ["category", "agency", "nationality", "border_section"];

function readState(search) {
  const p = new URLSearchParams(search);
  const list = (name) => p.getAll(name).flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean);
  const state = {
    period: p.get("period") || (p.get("datetime") ? "custom" : "30d"),
    datetime: p.get("datetime") || "",
    resolution: p.get("resolution") || "auto",
    show: p.get("show") || "hexes",
    layers: list("layers"),
    step: p.has("step") ? Number(p.get("step")) : -1,
    at: p.get("at") || "",
    lang: p.get("lang") || "",
  };
  for (const name of LIST_PARAMS) state[name] = list(name);
  return state;
}

function writeState(state) {
  const p = new URLSearchParams();
  if (state.lang) p.set("lang", state.lang);
  p.set("period", state.period);
  if (state.period === "custom" && state.datetime) p.set("datetime", state.datetime);
  for (const name of LIST_PARAMS) if (state[name].length) p.set(name, state[name].join(","));
  if (state.resolution !== "auto") p.set("resolution", state.resolution);
  if (state.show !== "hexes") p.set("show", state.show);
  if (state.layers.length) p.set("layers", state.layers.join(","));
  if (state.step >= 0) p.set("step", String(state.step));
  if (state.at) p.set("at", state.at);
  return `?${p}`;
}

function isoSeconds(date) {
  return date.toISOString().replace(/\.\d+Z$/, "Z");
}

// The period as [start, end] Dates.
function periodOf(state, now = new Date()) {
  if (state.period in PRESETS) return [new Date(now.getTime() - PRESETS[state.period] * 86_400_000), now];
  const [a, b] = (state.datetime || "").split("/");
  const start = a && a !== ".." ? new Date(a) : new Date(now.getTime() - 30 * 86_400_000);
  const end = b && b !== ".." ? new Date(b) : now;
  return [start, end];
}

// The time steps of the period: hours for a day, days up to two months, else weeks.
function stepsOf(state) {
  const [start, end] = periodOf(state);
  const span = end - start;
  const step = span <= 86_400_000 ? 3_600_000 : span <= 62 * 86_400_000 ? 86_400_000 : 7 * 86_400_000;
  const out = [];
  for (let t = start.getTime(); t < end.getTime(); t += step) out.push([new Date(t), new Date(Math.min(t + step, end.getTime()))]);
  return out;
}

// The incident filters as API parameters; `whole` ignores the time step.
function filterParams(state, whole = false) {
  const p = new URLSearchParams();
  const steps = stepsOf(state);
  const [start, end] = !whole && state.step >= 0 && steps[state.step] ? steps[state.step] : periodOf(state);
  p.set("datetime", `${isoSeconds(start)}/${isoSeconds(end)}`);
  for (const name of LIST_PARAMS) if (state[name].length) p.set(name, state[name].join(","));
  return p;
}
