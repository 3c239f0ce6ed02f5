// Events: filters kept in the URL, keyset pagination, new events appearing
// without a reload (the first page is polled), and bulk replay of dead events.

import { withQuery } from "../api.js";
import { confirmAction } from "../confirm.js";
import { append, badge, h, row, table } from "../dom.js";
import { fromLocalInput, time, toLocalInput } from "../format.js";

const POLL_MS = 3000;
const PAGE_SIZE = 50;
const STATUSES = ["pending", "processing", "retrying", "processed", "dead"];
// `limit` is kept in the URL too, like the filters, and passed on by the pager.
const FILTERS = ["status", "source", "type", "event_id", "received_after", "received_before", "limit"];
const COLUMNS = ["Event id", "Source", "Type", "Status", "Attempts", "Received", "Processed", "Conflict"];

export function events(root, ctx) {
  ctx.title("Events");
  const filters = Object.fromEntries(FILTERS.map((key) => [key, ctx.params.get(key) ?? ""]));
  const cursor = ctx.params.get("cursor") ?? "";
  const list = h("div", { class: "list" }, h("p", { class: "loading" }, "Loading…"));
  const pager = h("nav", { class: "pager", "aria-label": "Pages" });
  append(root,
    h("div", { class: "heading" }, h("h1", {}, "Events"),
      h("p", { class: "help" }, cursor ? "An older page: new events show on the first page." : `Newest first; new events appear every ${POLL_MS / 1000} s.`)),
    filterForm(filters, ctx),
    bulkReplay(filters, ctx),
    list,
    pager);

  let shown = null;
  let last = "";
  const load = async () => {
    try {
      const { data } = await ctx.api(withQuery("/events", { limit: PAGE_SIZE, ...filters, cursor }));
      const text = JSON.stringify(data);
      if (!ctx.alive() || text === last) return;
      last = text;
      const fresh = shown ? data.items.filter((item) => !shown.has(item.id)) : [];
      shown = new Set(data.items.map((item) => item.id));
      // Keep the keyboard focus on the same event across a refresh.
      const focused = document.activeElement?.closest?.("tr[data-id]")?.dataset.id;
      list.replaceChildren(data.items.length
        ? table(COLUMNS, data.items.map((item) => eventRow(item, fresh.includes(item))), "Events")
        : h("p", { class: "empty" }, "No event matches these filters."));
      if (focused) list.querySelector(`tr[data-id="${CSS.escape(focused)}"] a`)?.focus();
      if (fresh.length) announce(`${fresh.length} new event${fresh.length === 1 ? "" : "s"}`);
      pager.replaceChildren(
        cursor ? h("a", { href: withQuery("/ui/events", filters) }, "← First page") : "",
        data.next_cursor ? h("a", { href: withQuery("/ui/events", { ...filters, cursor: data.next_cursor }), rel: "next" }, "Next page →") : "");
    } catch (err) {
      ctx.fail(err, list);
    }
  };
  load();
  if (!cursor) ctx.every(POLL_MS, load);
}

function eventRow(item, isNew) {
  return row(COLUMNS, [
    h("a", { href: `/ui/events/${encodeURIComponent(item.id)}`, class: "mono" }, item.event_id),
    item.source,
    item.type ?? "—",
    badge(item.status),
    item.attempts,
    h("time", { datetime: item.received_at, title: item.received_at }, time(item.received_at)),
    item.processed_at ? h("time", { datetime: item.processed_at, title: item.processed_at }, time(item.processed_at)) : "—",
    item.conflict ? badge("conflict") : "—",
  ], { class: isNew ? "new" : null, "data-id": item.id });
}

let quiet = 0;

/** Says it briefly (a polite live region, so screen readers hear it too). */
function announce(text) {
  const notice = document.getElementById("notice");
  notice.textContent = text;
  clearTimeout(quiet);
  quiet = setTimeout(() => { notice.textContent = ""; }, 4000);
}

function field(label, control) {
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control);
}

function filterForm(filters, ctx) {
  const status = h("select", { id: "f-status", name: "status" },
    h("option", { value: "" }, "any"),
    STATUSES.map((value) => h("option", { value, selected: filters.status === value }, value)));
  const text = (id, name, placeholder) =>
    h("input", { id, name, type: "text", value: filters[name], placeholder, autocomplete: "off" });
  const after = h("input", { id: "f-after", name: "received_after", type: "datetime-local", value: toLocalInput(filters.received_after) });
  const before = h("input", { id: "f-before", name: "received_before", type: "datetime-local", value: toLocalInput(filters.received_before) });
  const form = h("form", { class: "filters", role: "search", "aria-label": "Filter events" },
    field("Status", status),
    field("Source", text("f-source", "source", "any")),
    field("Type", text("f-type", "type", "any")),
    field("Event id", text("f-event-id", "event_id", "any")),
    field("Received after", after),
    field("Received before", before),
    h("div", { class: "field buttons" },
      h("button", { type: "submit", class: "primary" }, "Apply"),
      h("a", { href: "/ui/events", class: "button secondary" }, "Clear")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    ctx.navigate(withQuery("/ui/events", {
      status: data.get("status"),
      source: data.get("source").trim(),
      type: data.get("type").trim(),
      event_id: data.get("event_id").trim(),
      received_after: fromLocalInput(data.get("received_after")),
      received_before: fromLocalInput(data.get("received_before")),
    }));
  });
  return form;
}

/** Re-queues every dead event matching the filters (not the event id: the API has no such bulk filter). */
function bulkReplay(filters, ctx) {
  const output = h("output", { class: "answer", "aria-live": "polite" });
  const scope = [
    filters.source ? `of the source “${filters.source}”` : "of every source",
    filters.type ? `with the type “${filters.type}”` : "",
    filters.received_after ? `received from ${time(filters.received_after)}` : "",
    filters.received_before ? `received before ${time(filters.received_before)}` : "",
  ].filter(Boolean).join(", ");
  const button = h("button", { type: "button", class: "secondary", id: "bulk-replay" }, "Replay dead events…");
  button.addEventListener("click", async () => {
    const question = `Replay every dead event ${scope}? Each one is queued for a new round of attempts.`;
    if (!(await confirmAction(question, "Replay dead events"))) return;
    button.disabled = true;
    try {
      const { data } = await ctx.api("/events/replay", {
        method: "POST",
        body: {
          status: "dead",
          source: filters.source || undefined,
          type: filters.type || undefined,
          received_after: filters.received_after || undefined,
          received_before: filters.received_before || undefined,
        },
      });
      output.textContent = `Queued ${data.requeued} dead event${data.requeued === 1 ? "" : "s"} for replay.`;
    } catch (err) {
      if (err.status === 401) return ctx.fail(err, output);
      output.textContent = `Not replayed: ${err.status} ${err.code}: ${err.detail}`;
    } finally {
      button.disabled = false;
    }
  });
  return h("details", { class: "bulk" },
    h("summary", {}, "Bulk replay"),
    h("p", {}, `Re-queue every dead event ${scope}`, filters.event_id ? " (the event id filter does not apply)." : "."),
    button, " ", output);
}
