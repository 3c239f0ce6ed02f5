// Rejections: refused requests (the quarantine), with filters and pages.

import { withQuery } from "../api.js";
import { append, badge, h, row, table } from "../dom.js";
import { bytes, time } from "../format.js";

const REASONS = ["missing_signature", "bad_signature", "stale", "future", "expired_secret", "unknown_source", "malformed"];
const COLUMNS = ["Received", "Reason", "Source", "Remote address", "Body SHA-256", "Size", "Header names"];
const PAGE_SIZE = 50;

export function rejections(root, ctx) {
  ctx.title("Rejections");
  const filters = { source: ctx.params.get("source") ?? "", reason: ctx.params.get("reason") ?? "" };
  const cursor = ctx.params.get("cursor") ?? "";
  const list = h("div", { class: "list" }, h("p", { class: "loading" }, "Loading…"));
  const pager = h("nav", { class: "pager", "aria-label": "Pages" });
  append(root,
    h("div", { class: "heading" }, h("h1", {}, "Rejections"),
      h("p", { class: "help" }, "Requests hookd refused, newest first. Signatures and bodies are never stored: only their digest, size and header names.")),
    filterForm(filters, ctx), list, pager);
  (async () => {
    try {
      const { data } = await ctx.api(withQuery("/rejections", { ...filters, cursor, limit: PAGE_SIZE }));
      if (!ctx.alive()) return;
      list.replaceChildren(data.items.length
        ? table(COLUMNS, data.items.map(rejectionRow), "Rejections")
        : h("p", { class: "empty" }, "No refused request matches these filters."));
      pager.replaceChildren(
        cursor ? h("a", { href: withQuery("/ui/rejections", filters) }, "← First page") : "",
        data.next_cursor ? h("a", { href: withQuery("/ui/rejections", { ...filters, cursor: data.next_cursor }), rel: "next" }, "Next page →") : "");
    } catch (err) {
      ctx.fail(err, list);
    }
  })();
}

function rejectionRow(item) {
  return row(COLUMNS, [
    h("time", { datetime: item.received_at, title: item.received_at }, time(item.received_at)),
    badge(item.reason, "rejected"),
    item.source,
    item.remote_addr ?? "—",
    h("span", { class: "mono", title: item.body_sha256 }, `${item.body_sha256.slice(0, 12)}…`),
    bytes(item.body_size),
    h("span", { class: "mono small" }, item.header_names.join(", ")),
  ]);
}

function filterForm(filters, ctx) {
  const reason = h("select", { id: "r-reason", name: "reason" },
    h("option", { value: "" }, "any"),
    REASONS.map((value) => h("option", { value, selected: filters.reason === value }, value)));
  const source = h("input", { id: "r-source", name: "source", type: "text", value: filters.source, placeholder: "any", autocomplete: "off" });
  const form = h("form", { class: "filters", role: "search", "aria-label": "Filter rejections" },
    h("div", { class: "field" }, h("label", { for: "r-reason" }, "Reason"), reason),
    h("div", { class: "field" }, h("label", { for: "r-source" }, "Source"), source),
    h("div", { class: "field buttons" },
      h("button", { type: "submit", class: "primary" }, "Apply"),
      h("a", { href: "/ui/rejections", class: "button secondary" }, "Clear")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ctx.navigate(withQuery("/ui/rejections", { reason: reason.value, source: source.value.trim() }));
  });
  return form;
}
