// The login page: a password for a session cookie (HttpOnly, set by the service), then back
// to the page that sent the user here — a path of this site only.
"use strict";

function nextPage(search) {
  const next = new URLSearchParams(search).get("next") || "/";
  return next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : "/";
}

const LANG = pickLanguage(window.location.search, navigator.languages);
document.documentElement.lang = LANG;

loadStrings(LANG).then((all) => {
  const strings = all.login;
  for (const el of document.querySelectorAll("[data-i18n]")) {
    el.textContent = strings[el.dataset.i18n];
  }
  document.title = strings.title;
  const form = document.getElementById("login");
  const refused = document.getElementById("refused");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const response = await fetch("/api/v1/session", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: data.get("username"), password: data.get("password") }),
    });
    if (response.status === 201) {
      window.location.assign(nextPage(window.location.search));
      return;
    }
    refused.textContent = response.status === 429 ? strings.too_many : strings.refused;
    refused.hidden = false;
  });
  document.body.dataset.login = "ready";
});
