// The user interface speaks English, Bosnian (Latin) and Serbian (Cyrillic): one file of
// strings per language in i18n/ (the situation reports read the same files); layer titles
// come from the layer catalog itself.
"use strict";
const LANGUAGES = ["en", "bs", "sr-Cyrl"];

function pickLanguage(search, browserLanguages, remembered = rememberedLanguage()) {
  const asked = new URLSearchParams(search).get("lang");
  if (asked && LANGUAGES.includes(asked)) return asked;
  if (remembered && LANGUAGES.includes(remembered)) return remembered;
  for (const tag of browserLanguages || []) {
    const t = tag.toLowerCase();
    if (t === "sr" || t.startsWith("sr-cyrl") || t === "sr-rs") return "sr-Cyrl";
    if (["bs", "hr", "sr-latn", "cnr"].some((p) => t.startsWith(p))) return "bs";
    if (t.startsWith("en")) return "en";
  }
  return "en";
}

function rememberedLanguage() {
  try {
    return window.localStorage.getItem("lang");
  } catch {
    return null;
  }
}

function rememberLanguage(lang) {
  try {
    window.localStorage.setItem("lang", lang);
  } catch {
    // private windows may refuse; the URL still carries the language
  }
}

const LOCALES = { en: "en-GB", bs: "bs-BA", "sr-Cyrl": "sr-Cyrl-BA" };

function loadStrings(lang) {
  return fetch(`/static/i18n/${lang}.json`).then((r) => r.json());
}
