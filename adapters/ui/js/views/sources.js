// Sources: scheme, secrets (labels only, never values), and how much each
// secret is still used, so an operator sees when an old one can go; and each
// source's destination: its circuit breaker and delivery limits.

import { append, badge, h, row, table } from "../dom.js";
import { ago, time } from "../format.js";

const COLUMNS = ["Secret label", "Configured", "Not after", "Expired", "Events", "Last used"];

export function sources(root, ctx) {
  ctx.title("Sources");
  const list = h("div", { class: "sources" }, h("p", { class: "loading" }, "Loading…"));
  append(root,
    h("div", { class: "heading" }, h("h1", {}, "Sources"),
      h("p", { class: "help" }, "Each source's delivery state, and its secrets by label with the events each verified. A secret no longer used can be removed.")),
    list);
  (async () => {
    try {
      const [{ data }, { data: destinations }] = await Promise.all([ctx.api("/sources"), ctx.api("/destinations")]);
      if (!ctx.alive()) return;
      const delivery = new Map(destinations.items.map((d) => [d.source, d]));
      list.replaceChildren(...(data.items.length
        ? data.items.map((source) => sourcePanel(source, delivery.get(source.name)))
        : [h("p", { class: "empty" }, "No source is visible to this token.")]));
    } catch (err) {
      ctx.fail(err, list);
    }
  })();
}

/** The destination's breaker and limits, in one line. */
function deliveryLine(d) {
  if (!d) return h("p", { class: "delivery" }, "Delivery: not known to this process.");
  const state = d.state === "closed" ? badge("delivering", "processed")
    : d.state === "open" ? badge("paused", "dead") : badge("probing", "retrying");
  return h("p", { class: "delivery" }, "Delivery: ", state,
    d.paused_until ? [" until ", h("time", { datetime: d.paused_until }, time(d.paused_until))] : "",
    ` · ${d.in_flight} of ${d.max_in_flight} in flight`,
    d.rate_per_second ? ` · at most ${d.rate_per_second}/s` : "",
    d.times_opened ? ` · paused ${d.times_opened}× since start, ${d.deferred} attempts deferred` : "");
}

function sourcePanel(source, destination) {
  return h("section", { class: "panel source" },
    h("h2", {}, source.name, " ", badge(source.scheme, "scheme")),
    deliveryLine(destination),
    h("p", {},
      h("a", { href: `/ui/events?source=${encodeURIComponent(source.name)}` }, "Events"), " · ",
      h("a", { href: `/ui/rejections?source=${encodeURIComponent(source.name)}` }, "Rejections"), " · ",
      source.conflicts ? badge(`${source.conflicts} conflict${source.conflicts === 1 ? "" : "s"}`, "conflict") : "no conflicts"),
    table(COLUMNS, source.secrets.map((secret) => row(COLUMNS, [
      secret.label ?? "(none)",
      secret.configured ? "yes" : "no (seen in stored events only)",
      secret.not_after ? h("time", { datetime: secret.not_after }, time(secret.not_after)) : "—",
      secret.expired ? badge("expired", "dead") : "no",
      secret.events,
      secret.last_received_at
        ? h("time", { datetime: secret.last_received_at, title: time(secret.last_received_at) }, ago(secret.last_received_at))
        : "never",
    ])), `Secrets of ${source.name}`));
}
