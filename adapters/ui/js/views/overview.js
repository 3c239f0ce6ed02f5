// Overview: GET /stats, refreshed every few seconds.

import { withQuery } from "../api.js";
import { arrivalsChart } from "../chart.js";
import { append, badge, h, row, table } from "../dom.js";
import { duration } from "../format.js";

const REFRESH_MS = 5000;

export function overview(root, ctx) {
  ctx.title("Overview");
  const body = h("div", { class: "overview" }, h("p", { class: "loading" }, "Loading…"));
  append(root,
    h("div", { class: "heading" }, h("h1", {}, "Overview"), h("p", { class: "help" }, "Refreshed every 5 s.")),
    body);
  const load = async () => {
    try {
      const { data } = await ctx.api("/stats");
      if (ctx.alive()) body.replaceChildren(...content(data));
    } catch (err) {
      ctx.fail(err, body);
    }
  };
  load();
  ctx.every(REFRESH_MS, load);
}

function card(label, value, link) {
  const number = h("span", { class: "value" }, value);
  return h("div", { class: "card" },
    h("span", { class: "label" }, label),
    link ? h("a", { href: link }, number) : number);
}

function content(stats) {
  const lastHour = stats.per_minute.reduce((sum, p) => sum + p.events, 0);
  const statusColumns = ["Status", "Events"];
  const sourceColumns = ["Source", "Events"];
  return [
    h("div", { class: "cards" },
      card("Queue (pending + retrying)", stats.queue_depth),
      card("Oldest pending", duration(stats.oldest_pending_age_seconds)),
      card("Dead", stats.dead, withQuery("/ui/events", { status: "dead" })),
      card("Arrived in the last hour", lastHour)),
    h("section", { class: "panel" },
      h("h2", {}, "Arrivals per minute, last hour"),
      arrivalsChart(stats.per_minute)),
    h("div", { class: "split" },
      h("section", { class: "panel" }, h("h2", {}, "By status"),
        table(statusColumns, Object.entries(stats.by_status).map(([status, count]) =>
          row(statusColumns, [h("a", { href: withQuery("/ui/events", { status }) }, badge(status)), count])),
        "Events by status")),
      h("section", { class: "panel" }, h("h2", {}, "By source"),
        table(sourceColumns, Object.entries(stats.by_source).map(([source, count]) =>
          row(sourceColumns, [h("a", { href: withQuery("/ui/events", { source }) }, source), count])),
        "Events by source"))),
  ];
}
