// The dashboard's shell: sign-in, navigation between views (History API, so
// every view and its filters have a shareable URL), and what to do when the
// API refuses the token.

import { api, ApiError, claims, token } from "./api.js";
import { append, h } from "./dom.js";
import { time } from "./format.js";
import { signIn } from "./views/signin.js";
import { overview } from "./views/overview.js";
import { events } from "./views/events.js";
import { eventDetail } from "./views/event.js";
import { rejections } from "./views/rejections.js";
import { sources } from "./views/sources.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const who = document.getElementById("who");

/** The view for a path under /ui/, with its argument. */
function route(pathname) {
  const path = pathname.replace(/^\/ui\/?/, "").replace(/\/$/, "");
  if (path === "") return { name: "overview", view: overview };
  if (path === "events") return { name: "events", view: events };
  if (path.startsWith("events/")) {
    return { name: "events", view: eventDetail, arg: decodeURIComponent(path.slice(7)) };
  }
  if (path === "rejections") return { name: "rejections", view: rejections };
  if (path === "sources") return { name: "sources", view: sources };
  return { name: "", view: notFound };
}

function notFound(root) {
  append(root, h("h1", {}, "Not found"), h("p", {}, "This page does not exist. ", h("a", { href: "/ui/" }, "Go to the overview.")));
}

let generation = 0;
let timers = [];

function stopTimers() {
  timers.forEach(clearInterval);
  timers = [];
}

/** Renders the current URL's view (or the sign-in when there is no token). */
function render({ reason, focus = false } = {}) {
  generation += 1;
  const mine = generation;
  stopTimers();
  main.replaceChildren();
  const jwt = token.get();
  nav.hidden = !jwt;
  who.hidden = !jwt;
  if (!jwt) {
    document.title = "Sign in · hookd";
    signIn(main, { reason, onToken: (value) => { token.set(value); render({ focus: true }); } });
    return;
  }
  showWho(jwt);
  const { name, view, arg } = route(location.pathname);
  for (const link of nav.querySelectorAll("a")) {
    if (link.dataset.view === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const ctx = {
    arg,
    params: new URLSearchParams(location.search),
    api,
    /** False once another view replaced this one: drop late answers. */
    alive: () => mine === generation,
    /** Runs `fn` every `ms` while this view is shown. */
    every(ms, fn) {
      if (mine === generation) timers.push(setInterval(fn, ms));
    },
    navigate,
    /** Handles an API failure: back to sign-in on 401, else explains it in `where`. */
    fail(err, where) {
      if (!(err instanceof ApiError)) throw err;
      if (mine !== generation) return;
      // Asking again will not change a 4xx: stop polling (a 5xx may pass).
      if (err.status >= 400 && err.status < 500) stopTimers();
      if (err.status === 401) {
        token.clear();
        render({ reason: `hookd refused the token: ${err.detail}` });
        return;
      }
      where.replaceChildren(explain(err));
    },
    title(text) {
      document.title = `${text} · hookd`;
    },
  };
  view(main, ctx);
  if (focus) main.focus();
}

/** A readable explanation of an API error, naming a missing scope. */
function explain(err) {
  const box = h("div", { class: "problem", role: "alert" });
  if (err.code === "insufficient_scope") {
    const scope = /`([^`]+)`/.exec(err.detail)?.[1] ?? "another scope";
    append(box,
      h("h2", {}, "Your token cannot see this"),
      h("p", {}, "This view needs a token with the scope ", h("code", {}, scope), "."),
      h("p", {}, "Ask for one, e.g. ", h("code", {}, `hookd token --sub you --scope ${scope}`),
        ", then sign out and sign in with it."));
  } else if (err.code === "source_not_allowed") {
    append(box, h("h2", {}, "Not allowed for this token"), h("p", {}, err.detail));
  } else if (err.status === 0) {
    append(box, h("h2", {}, "hookd is not answering"), h("p", {}, err.detail));
  } else {
    append(box,
      h("h2", {}, `The API answered ${err.status}`),
      h("p", {}, h("code", {}, err.code), ": ", err.detail));
  }
  return box;
}

function showWho(jwt) {
  const payload = claims(jwt);
  const name = document.getElementById("who-name");
  const sub = typeof payload?.sub === "string" ? payload.sub : "signed in";
  const exp = typeof payload?.exp === "number" ? ` · until ${time(new Date(payload.exp * 1000).toISOString())}` : "";
  name.textContent = `${sub}${exp}`;
}

function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  render({ focus: !replace });
}

// Links inside the page change the view without reloading it.
document.addEventListener("click", (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = event.target.closest("a[href]");
  if (!link || link.target || link.origin !== location.origin || !link.pathname.startsWith("/ui/")) return;
  event.preventDefault();
  if (link.href !== location.href) navigate(link.href);
});

window.addEventListener("popstate", () => render());

document.getElementById("sign-out").addEventListener("click", () => {
  token.clear();
  render({ reason: "Signed out. The token was removed from this tab." });
});

render();
