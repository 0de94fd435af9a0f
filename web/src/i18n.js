// The user interface speaks English, Bosnian (Latin) and Serbian (Cyrillic): one file of
// strings per language in i18n/ (the situation reports read the same files); layer titles
// come from the layer catalog itself.
"use strict";
const LANGUAGES = ["en", "bs", "sr-Cyrl"];

function pickLanguage(search, browserLanguages) {
  const asked = new URLSearchParams(search).get("lang");
  if (asked && LANGUAGES.includes(asked)) return asked;
  for (const tag of browserLanguages || []) {
    const t = tag.toLowerCase();
    if (t === "sr" || t.startsWith("sr-cyrl") || t === "sr-rs") return "sr-Cyrl";
    if (["bs", "hr", "sr-latn", "cnr"].some((p) => t.startsWith(p))) return "bs";
    if (t.startsWith("en")) return "en";
  }
  return "en";
}

function loadStrings(lang) {
  return fetch(`/static/i18n/${lang}.json`).then((r) => r.json());
}
