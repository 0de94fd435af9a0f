// User-interface strings in English, Bosnian (Latin) and Serbian (Cyrillic); layer titles
// come from the layer catalog itself.
"use strict";
const STRINGS = {
  en: { layers: "Layers", incidents: "incidents" },
  bs: { layers: "Slojevi", incidents: "incidenata" },
  "sr-Cyrl": { layers: "Слојеви", incidents: "инцидената" },
};

function pickLanguage(search, browserLanguages) {
  const asked = new URLSearchParams(search).get("lang");
  if (asked && STRINGS[asked]) return asked;
  for (const tag of browserLanguages || []) {
    const t = tag.toLowerCase();
    if (t === "sr" || t.startsWith("sr-cyrl") || t === "sr-rs") return "sr-Cyrl";
    if (["bs", "hr", "sr-latn", "cnr"].some((p) => t.startsWith(p))) return "bs";
    if (t.startsWith("en")) return "en";
  }
  return "en";
}
