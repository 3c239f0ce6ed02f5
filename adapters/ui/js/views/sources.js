// Sources: scheme, secrets (labels only, never values), and how much each
// secret is still used, so an operator sees when an old one can go.

import { append, badge, h, row, table } from "../dom.js";
import { ago, time } from "../format.js";

const COLUMNS = ["Secret label", "Configured", "Not after", "Expired", "Events", "Last used"];

export function sources(root, ctx) {
  ctx.title("Sources");
  const list = h("div", { class: "sources" }, h("p", { class: "loading" }, "Loading…"));
  append(root,
    h("div", { class: "heading" }, h("h1", {}, "Sources"),
      h("p", { class: "help" }, "Each source's secrets by label, with the events each verified. A secret no longer used can be removed.")),
    list);
  (async () => {
    try {
      const { data } = await ctx.api("/sources");
      if (!ctx.alive()) return;
      list.replaceChildren(...(data.items.length
        ? data.items.map(sourcePanel)
        : [h("p", { class: "empty" }, "No source is visible to this token.")]));
    } catch (err) {
      ctx.fail(err, list);
    }
  })();
}

function sourcePanel(source) {
  return h("section", { class: "panel source" },
    h("h2", {}, source.name, " ", badge(source.scheme, "scheme")),
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
