// One event: its fields, payload, attempts as a timeline, and Replay.

import { confirmAction } from "../confirm.js";
import { append, badge, h } from "../dom.js";
import { bytes, elapsed, time } from "../format.js";

const REFRESH_MS = 2000;
const UNFINISHED = new Set(["pending", "processing", "retrying"]);

export function eventDetail(root, ctx) {
  ctx.title("Event");
  const body = h("div", { class: "detail" }, h("p", { class: "loading" }, "Loading…"));
  const answer = h("output", { class: "answer", id: "replay-answer", "aria-live": "polite" });
  append(root, h("p", {}, h("a", { href: "/ui/events" }, "← Events")), body);

  let last = "";
  const load = async () => {
    try {
      const { data } = await ctx.api(`/events/${encodeURIComponent(ctx.arg)}`);
      const text = JSON.stringify(data);
      if (!ctx.alive() || text === last) return;
      last = text;
      ctx.title(`Event ${data.event_id}`);
      body.replaceChildren(...content(data, replayButton(data, ctx, answer, load), answer));
    } catch (err) {
      ctx.fail(err, body);
    }
  };
  load();
  // While it is queued or running, follow its attempts.
  ctx.every(REFRESH_MS, () => {
    const status = body.querySelector("[data-status]")?.dataset.status;
    if (UNFINISHED.has(status)) load();
  });
}

function replayButton(event, ctx, answer, reload) {
  if (event.status !== "processed" && event.status !== "dead") return null;
  const button = h("button", { type: "button", class: "primary", id: "replay" }, "Replay…");
  button.addEventListener("click", async () => {
    const question = `Replay the ${event.status} event “${event.event_id}” of ${event.source}? It is queued for a new round of attempts; its history is kept.`;
    if (!(await confirmAction(question, "Replay"))) return;
    button.disabled = true;
    try {
      const { status, data } = await ctx.api(`/events/${encodeURIComponent(event.id)}/replay`, { method: "POST" });
      answer.textContent = `${status}: ${JSON.stringify(data)}`;
      answer.dataset.outcome = "ok";
    } catch (err) {
      if (err.status === 401) return ctx.fail(err, answer);
      answer.textContent = `${err.status} ${err.code}: ${err.detail}`;
      answer.dataset.outcome = "error";
    }
    reload();
  });
  return button;
}

function fields(pairs) {
  return h("dl", { class: "fields" }, pairs.map(([name, value]) => [h("dt", {}, name), h("dd", {}, value ?? "—")]));
}

function content(event, replay, answer) {
  return [
    h("div", { class: "heading" },
      h("h1", {}, "Event ", h("span", { class: "mono" }, event.event_id)),
      h("div", { class: "actions" }, replay, answer)),
    fields([
      ["Status", h("span", { "data-status": event.status }, badge(event.status))],
      ["Source", event.source],
      ["Type", event.type],
      ["Attempts", String(event.attempts)],
      ["Received", h("time", { datetime: event.received_at }, time(event.received_at))],
      ["Processed", event.processed_at ? h("time", { datetime: event.processed_at }, time(event.processed_at)) : null],
      ["Last error", event.last_error ? h("span", { class: "error-text" }, event.last_error) : null],
      ["Conflict", event.conflict ? badge("conflict") : "no"],
      ["Secret label", event.secret_label],
      ["Request id", event.request_id ? h("span", { class: "mono" }, event.request_id) : null],
      ["Content type", event.content_type],
      ["SHA-256", h("span", { class: "mono wrap" }, event.payload_sha256)],
      ["Key", h("span", { class: "mono" }, event.id)],
    ]),
    h("section", { class: "panel" }, h("h2", {}, "Payload"), payload(event)),
    h("section", { class: "panel" }, h("h2", {}, `Attempts (${event.history.length})`), timeline(event.history)),
  ];
}

function payload(event) {
  if (event.payload !== undefined) {
    return h("pre", { class: "payload", tabindex: "0" }, JSON.stringify(event.payload, null, 2));
  }
  const raw = Uint8Array.from(atob(event.payload_base64 ?? ""), (c) => c.charCodeAt(0));
  let text = null;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch {
    text = null;
  }
  return [
    h("p", { class: "help" }, `Not JSON (${bytes(raw.length)}); base64:`),
    h("pre", { class: "payload", tabindex: "0" }, event.payload_base64),
    text === null ? null : [h("p", { class: "help" }, "As UTF-8 text:"), h("pre", { class: "payload", tabindex: "0" }, text)],
  ];
}

function timeline(history) {
  if (!history.length) return h("p", { class: "empty" }, "No attempt yet.");
  return h("ol", { class: "timeline" }, history.map((attempt, i) =>
    h("li", { class: `attempt outcome-${attempt.outcome}` },
      h("div", { class: "attempt-head" },
        // A replay starts a new cycle: its attempts count from 1 again.
        i > 0 && attempt.attempt <= history[i - 1].attempt ? h("span", { class: "cycle" }, "replayed · ") : null,
        h("strong", {}, `#${attempt.attempt}`), " ", badge(attempt.outcome, outcomeKind(attempt.outcome)),
        " ", h("time", { datetime: attempt.started_at }, time(attempt.started_at)),
        " → ", h("time", { datetime: attempt.finished_at }, time(attempt.finished_at)),
        h("span", { class: "help" }, ` (${elapsed(attempt.started_at, attempt.finished_at)})`)),
      h("div", { class: "help" }, "Worker ", h("span", { class: "mono" }, attempt.worker)),
      attempt.error ? h("pre", { class: "error-text" }, attempt.error) : null)));
}

function outcomeKind(outcome) {
  // Attempts end `succeeded`, `retrying` or `dead`: colour them like statuses.
  return outcome === "succeeded" ? "processed" : outcome;
}
