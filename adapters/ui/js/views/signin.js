// Sign-in: paste a dashboard JWT. It is kept in sessionStorage only.

import { append, h } from "../dom.js";

export function signIn(root, { reason, onToken }) {
  const input = h("input", {
    id: "token", name: "token", type: "password", required: true,
    autocomplete: "off", spellcheck: "false", "aria-describedby": "token-help",
  });
  const problem = h("p", { class: "problem", role: "alert", hidden: !reason }, reason ?? "");
  const form = h("form", { class: "signin", novalidate: true },
    h("h1", {}, "Sign in"),
    problem,
    h("label", { for: "token" }, "Token"),
    input,
    h("p", { id: "token-help", class: "help" },
      "A dashboard token, e.g. from ", h("code", {}, "hookd token --sub you --ttl 8h"),
      ". It stays in this tab (sessionStorage) and is forgotten on sign-out."),
    h("button", { type: "submit", class: "primary" }, "Sign in"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = input.value.trim().replace(/^Bearer\s+/i, "");
    if (!/^[\w-]+\.[\w-]+\.[\w-]*$/.test(value)) {
      problem.textContent = "This is not a JWT (three dot-separated base64url parts).";
      problem.hidden = false;
      input.focus();
      return;
    }
    onToken(value);
  });
  append(root, form);
  document.title = "Sign in · hookd";
  input.focus();
}
