// The login page: the password goes to /api/login, which answers with a session cookie that
// scripts cannot read. Then back to the page that was wanted (the fragment survived the
// redirect here).

import { initialLanguage, setLanguage, t } from "./i18n.js";

const REASONS = { 401: "login.failed", 403: "login.refused", 429: "login.slow" };

async function submit(event) {
  event.preventDefault();
  const error = document.getElementById("login-error");
  const button = event.target.querySelector("button[type=submit]");
  button.disabled = true;
  error.hidden = true;
  try {
    const r = await fetch("api/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        user: document.getElementById("login-user").value.trim(),
        password: document.getElementById("login-password").value,
      }),
    });
    if (r.ok) {
      location.replace("./" + location.hash);
      return;
    }
    const body = await r.json().catch(() => ({}));
    error.textContent = t(REASONS[r.status] || "login.error", { reason: body.detail || r.statusText });
  } catch (err) {
    error.textContent = t("login.error", { reason: err.message });
  }
  error.hidden = false;
  button.disabled = false;
}

async function main() {
  await setLanguage(initialLanguage());
  const select = document.getElementById("lang");
  select.value = initialLanguage();
  select.addEventListener("change", () => setLanguage(select.value));
  document.getElementById("login-form").addEventListener("submit", submit);
  document.body.dataset.ready = "true";
}

main();
