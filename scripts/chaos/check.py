"""The invariant checker: the driver's answers, the target's deliveries and the
database, after the load has stopped and the queue has drained.

Every violation is counted under a stable name with a few examples; the run
fails when any count is non-zero. What each name means is in RELIABILITY.md.
"""

import collections
import csv
import glob
import os

import db

UNANSWERED = {-1: "refused", -2: "lost", -3: "timed_out"}
# Earlier answers after which a `200 duplicate` is legitimate: the event may
# have been stored by that request.
MAY_HAVE_STORED = {202, 200, 503, -2, -3}


class Violations:
    def __init__(self):
        self.counts = collections.Counter()
        self.examples = collections.defaultdict(list)

    def add(self, name: str, example: str, n: int = 1) -> None:
        self.counts[name] += n
        if len(self.examples[name]) < 5:
            self.examples[name].append(example)

    def as_dict(self) -> dict:
        return {k: {"count": v, "examples": self.examples[k]} for k, v in sorted(self.counts.items())}


def read_answers(run_dir: str) -> list[tuple]:
    rows = []
    for path in sorted(glob.glob(os.path.join(run_dir, "answers-*.csv"))):
        with open(path, newline="") as f:
            for sent, done, event_id, status, retry_after, code, url in csv.reader(f):
                rows.append((float(sent), float(done), event_id, int(status), retry_after, code, int(url)))
    rows.sort()
    return rows


def read_deliveries(run_dir: str) -> list[tuple]:
    with open(os.path.join(run_dir, "deliveries.csv"), newline="") as f:
        return [(float(t), wid, eid, answer, sig) for t, wid, eid, answer, sig in csv.reader(f)]


def percentile(values: list, q: float):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


# How long the circuit breaker may take to notice a target that went down.
NOTICE_SECONDS = 3.0


def check(run_dir: str, db_url: str, meta: dict) -> dict:
    v = Violations()
    answers = read_answers(run_dir)
    deliveries = read_deliveries(run_dir)
    events = {
        row[1]: row
        for row in db.query(
            db_url,
            "SELECT id, event_id, status, attempts, received_at, COALESCE(processed_at, 0) "
            "FROM events WHERE source = 'default'",
        )
    }
    by_key = {row[0]: row for row in events.values()}
    attempts = collections.defaultdict(collections.Counter)
    for key, outcome in db.query(db_url, "SELECT event_key, outcome FROM attempt_history"):
        attempts[key][outcome] += 1

    statuses = collections.Counter()
    per_id = collections.defaultdict(list)
    for row in answers:
        sent, done, event_id, status, retry_after, code, _ = row
        statuses[status] += 1
        per_id[event_id].append(row)
        label = f"{event_id} at {done:.3f}"
        if status == 503 and not retry_after:
            v.add("503_without_retry_after", label)
        elif status >= 500 and status != 503:
            v.add("server_error", f"{label}: {status} {code}")
        elif status > 0 and status not in (200, 202, 503):
            v.add("unexpected_status", f"{label}: {status} {code}")
        elif status < 0 and not meta["hookd_went_down"]:
            v.add("no_answer_while_up", f"{label}: {UNANSWERED[status]}")

    notes = collections.Counter()
    for event_id, rows in per_id.items():
        accepted = [r for r in rows if r[3] == 202]
        if len(accepted) > 1:
            v.add("accepted_twice", event_id)
        if accepted and event_id not in events:
            v.add("accepted_not_stored", event_id)
        for r in rows:
            if r[3] != 200:
                continue
            if event_id not in events:
                v.add("duplicate_not_stored", event_id)
            earlier = [q[3] for q in rows if q is not r and q[0] < r[1] and q[3] in MAY_HAVE_STORED]
            if not earlier:
                v.add("false_duplicate", f"{event_id} at {r[1]:.3f}")
            elif set(earlier) <= {503}:
                notes["stored_despite_503"] += 1
        if event_id in events and not accepted:
            notes["stored_without_202_answer"] += 1

    for event_id in events.keys() - per_id.keys():
        v.add("unknown_event_stored", event_id)

    # Settlement.
    by_status = collections.Counter(row[2] for row in events.values())
    for key, event_id, status, tries, _, _ in events.values():
        if status in ("pending", "processing", "retrying"):
            v.add("not_settled", f"{event_id}: {status}, attempts {tries}")
        elif status == "dead":
            if tries >= meta["max_attempts"]:
                notes["dead_attempts_exhausted"] += 1
            else:
                v.add("dead_unexplained", f"{event_id}: attempts {tries}")

    # Deliveries, matched to the attempt history.
    per_key = collections.defaultdict(list)
    for t, key, event_id, answer, sig in deliveries:
        per_key[key].append((t, answer))
        if key not in by_key:
            v.add("delivery_of_unknown_event", f"{key} ({event_id})")
        elif by_key[key][1] != event_id:
            v.add("delivery_body_mismatch", f"{key}: {event_id}")
        if sig != "ok":
            v.add("bad_signature", key)
    extra = collections.Counter()
    gaps = []
    for key, event_id, status, _, _, _ in events.values():
        got = sorted(per_key.get(key, []))
        history = attempts.get(key, collections.Counter())
        recorded = sum(history.values())
        if status == "processed":
            if not got:
                v.add("processed_without_delivery", event_id)
            if history["succeeded"] != 1:
                v.add("succeeded_not_once", f"{event_id}: {history['succeeded']} successes")
        if len(got) > recorded:
            v.add("unexplained_deliveries", f"{event_id}: {len(got)} deliveries, {recorded} attempts recorded ({dict(history)})", len(got) - recorded)
        for _, answer in got[:-1]:
            extra[answer] += 1
        for (t1, _), (t2, _) in zip(got, got[1:]):
            gaps.append((t2 - t1, event_id))
        if status == "processed" and got and got[-1][1] != "200":
            extra["after_final"] += 1

    # Prompt takeover: with backoff capped at 2 s and a 3 s handler timeout, a
    # redelivery that waited about a whole lease waited for the lease to expire.
    # Only where hookd is killed: there the queue keeps up, so a long gap
    # cannot be a backlog.
    lease = meta["lease_seconds"]
    if meta.get("check_takeover"):
        for gap, event_id in gaps:
            if gap >= 0.9 * lease:
                v.add("takeover_waited_for_lease", f"{event_id}: redelivered after {gap:.1f} s (lease {lease} s)")

    # Outages: intake must come back by itself after each one.
    accepted_times = [r[1] for r in answers if r[3] == 202]
    resume = []
    for window in meta.get("outages", []):
        end = window["end"]
        if end > meta["load_end"] - 1:
            continue
        after = next((t for t in accepted_times if t >= end), None)
        delay = None if after is None else after - end
        resume.append(delay)
        if delay is None or delay > meta["resume_limit_seconds"]:
            v.add("intake_not_resumed", f"{window['kind']} ending {end:.3f}: {delay}")

    # A target that is down: once the breaker has noticed (within ~1.5 s at any
    # volume: NOTICE_SECONDS), it gets what was still in flight, then one
    # probe per cool-down; and no event dies meanwhile.
    for window in meta.get("outages", []):
        if window["kind"] != "target_down":
            continue
        noticed = window["start"] + NOTICE_SECONDS
        seconds = window["end"] - noticed
        during = sum(1 for t, *_ in deliveries if noticed <= t <= window["end"])
        allowed = meta["max_in_flight"] + 1 + int(seconds // meta["breaker_cool_down_seconds"])
        notes["requests_while_target_down"] += sum(1 for t, *_ in deliveries if window["start"] <= t <= window["end"])
        notes["requests_after_breaker_noticed"] += during
        if during > allowed:
            v.add("target_hammered_while_down", f"{during} requests in {seconds:.0f} s (at most {allowed})", during)
        if by_status["dead"]:
            v.add("dead_while_target_down", f"{by_status['dead']} dead events", by_status["dead"])

    shutdown = meta.get("shutdown")
    if shutdown:
        if shutdown["exit_code"] != 0:
            v.add("shutdown_exit_code", str(shutdown["exit_code"]))
        if shutdown["seconds"] is None or shutdown["seconds"] > shutdown["grace"] + 1.0:
            v.add("shutdown_over_grace", f"{shutdown['seconds']} s, grace {shutdown['grace']} s")

    latencies = [
        (row[5] - row[4]) / 1e6 for row in events.values() if row[2] == "processed" and row[5]
    ]
    return {
        "requests": len(answers),
        "statuses": {str(k): n for k, n in sorted(statuses.items())},
        "accepted": statuses[202],
        "duplicates": statuses[200],
        "unavailable": statuses[503],
        "unanswered": sum(n for s, n in statuses.items() if s < 0),
        "events_stored": len(events),
        "events_by_status": dict(by_status),
        "deliveries": len(deliveries),
        "extra_deliveries": sum(extra[a] for a in ("200", "500", "503", "hang")),
        "extra_by_answer": dict(extra),
        "attempt_outcomes": dict(sum(attempts.values(), collections.Counter())),
        "latency_seconds": {
            "p50": percentile(latencies, 0.5),
            "p99": percentile(latencies, 0.99),
            "max": max(latencies, default=None),
        },
        "max_redelivery_gap_seconds": round(max(gaps, default=(0, ""))[0], 2),
        "resume_delays_seconds": [None if d is None else round(d, 2) for d in resume],
        "notes": dict(notes),
        "violations": v.as_dict(),
    }
