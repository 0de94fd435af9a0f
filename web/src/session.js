// A credential that is no longer good (a session ended, a user disabled) sends the page to
// the login page, which brings the user back here afterwards.
"use strict";

function toLogin() {
  const here = window.location.pathname + window.location.search;
  window.location.assign(`/login?next=${encodeURIComponent(here)}`);
}

function checked(response) {
  if (response.status === 401) toLogin();
  return response;
}
