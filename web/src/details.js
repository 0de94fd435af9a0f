// The drill-down into a hexagon or a border section: its incidents by category and by
// nationality, a small chart of them over the period, and the list of the latest, all for
// the page's filters (the API's `cell` and `border_section` narrow them to the place).
"use strict";

function svgChart(points, width = 300, height = 80) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height + 4}`);
  svg.setAttribute("class", "chart");
  const peak = Math.max(1, ...points.map((p) => p.incidents));
  const slot = width / Math.max(points.length, 1);
  points.forEach((p, i) => {
    const h = (p.incidents / peak) * height;
    const bar = document.createElementNS(ns, "rect");
    bar.setAttribute("x", (i * slot + slot * 0.1).toFixed(1));
    bar.setAttribute("y", (height - h).toFixed(1));
    bar.setAttribute("width", (slot * 0.8).toFixed(1));
    bar.setAttribute("height", h.toFixed(1));
    bar.dataset.count = String(p.incidents);
    const title = document.createElementNS(ns, "title");
    title.textContent = `${p.start}: ${p.incidents}`;
    bar.append(title);
    svg.append(bar);
  });
  return svg;
}

// Every period of the window, empty ones as zero (the API lists periods with incidents):
// UTC days, or weeks from Monday, as PostgreSQL's date_trunc makes them.
function everyPeriod(points, start, end, step) {
  const day = 86_400_000;
  const first = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate()));
  if (step === "weekly") first.setUTCDate(first.getUTCDate() - ((first.getUTCDay() + 6) % 7));
  const counts = new Map(points.map((p) => [new Date(p.start).getTime(), p]));
  const out = [];
  for (let t = first.getTime(); t < end.getTime(); t += step === "weekly" ? 7 * day : day) {
    out.push(counts.get(t) || { start: new Date(t).toISOString(), incidents: 0 });
  }
  return out;
}

function table(rows, numbers, id) {
  const t = document.createElement("table");
  t.id = id;
  for (const [key, label, value] of rows) {
    const tr = t.insertRow();
    tr.dataset.key = key;
    tr.insertCell().textContent = label;
    const cell = tr.insertCell();
    cell.textContent = numbers.format(value);
    cell.className = "figure";
  }
  return t;
}

// `place`: {cell} or {border_section}; `filters`: URLSearchParams of the page's selection.
async function openDetails(panel, place, filters, strings, locale) {
  const w = strings.workspace;
  const numbers = new Intl.NumberFormat(locale);
  const when = new Intl.DateTimeFormat(locale, { timeZone: "Europe/Sarajevo", dateStyle: "short", timeStyle: "short" });
  const query = new URLSearchParams(filters);
  const [kind, id] = place.cell ? ["cell", place.cell] : ["border_section", place.border_section];
  query.set(kind, id);
  const [start, end] = (query.get("datetime") || "").split("/").map((t) => new Date(t));
  const step = end - start > 62 * 86_400_000 ? "weekly" : "daily";
  const get = (url) => fetch(url).then(checked).then((r) => r.json());
  const [categories, nationalities, overall, list] = await Promise.all([
    get(`/api/v1/trends?by=category&step=${step}&${query}`),
    get(`/api/v1/trends?by=nationality&step=${step}&${query}`),
    get(`/api/v1/trends?step=${step}&${query}`),
    get(`/api/v1/incidents?limit=20&${query}`),
  ]);
  const heading = document.createElement("h2");
  heading.textContent = `${kind === "cell" ? w.cell : w.section} ${id}`;
  const close = document.createElement("button");
  close.type = "button";
  close.id = "details-close";
  close.textContent = w.close;
  close.onclick = () => { panel.hidden = true; };
  const total = overall.series[0] ? overall.series[0].total.incidents : 0;
  const summary = document.createElement("p");
  summary.innerHTML = `<strong id="details-total">${numbers.format(total)}</strong> `;
  summary.append(w.incidents.toLowerCase());
  const byCategory = [...categories.series].sort((a, b) => b.total.incidents - a.total.incidents)
    .map((s) => [s.key, strings.categories[s.key] || s.key, s.total.incidents]);
  const byNationality = [...nationalities.series].sort((a, b) => b.total.persons_apprehended - a.total.persons_apprehended)
    .map((s) => [s.key, s.key, s.total.persons_apprehended]);
  const items = document.createElement("ol");
  items.id = "details-incidents";
  for (const f of list.features) {
    const li = document.createElement("li");
    const p = f.properties;
    li.dataset.id = String(f.id);
    li.textContent = `${when.format(new Date(p.occurred_at))} · ${strings.categories[p.category] || p.category} · ${strings.agencies_short[p.agency] || p.agency} · ${p.persons_involved} ${w.persons}`;
    items.append(li);
  }
  const parts = [
    heading, close, summary,
    Object.assign(document.createElement("h3"), { textContent: w.over_time }),
    svgChart(everyPeriod(overall.series[0] ? overall.series[0].points : [], start, end, step)),
    Object.assign(document.createElement("h3"), { textContent: w.by_category }),
    table(byCategory, numbers, "details-categories"),
    Object.assign(document.createElement("h3"), { textContent: w.by_nationality }),
    table(byNationality, numbers, "details-nationalities"),
    Object.assign(document.createElement("h3"), { textContent: w.incidents }),
    items,
  ];
  panel.replaceChildren(...parts);
  panel.hidden = false;
  panel.dataset.place = id;
}
