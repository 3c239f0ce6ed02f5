#!/usr/bin/env python3
"""The chaos suite: runs the real hookd binary under sustained load while a
fault injector breaks things, then checks the invariants (check.py).

    chaos.py [--short] [--rate N] [scenario ...]

Scenarios: kill-sqlite, kill-postgres, replicas, db-outage, target-faults,
sigterm (default: all). See RELIABILITY.md for what each injects and checks.

Environment:
  HOOKD_BIN            the hookd binary (default $CARGO_TARGET_DIR/release/hookd)
  CHAOS_PG_URL         the PostgreSQL server (default postgres://postgres@127.0.0.1:5432/postgres);
                       each run creates and drops its own database chaos_<random>
  CHAOS_PG_CLUSTER     the cluster db-outage restarts, as "VERSION/NAME" (default: the only
                       version in /etc/postgresql, cluster "main"); it must serve CHAOS_PG_URL
  CHAOS_OUT            where runs are kept (default /var/tmp/hookd-chaos)
"""

import argparse
import json
import os
import random
import sys
import threading
import time
import traceback

import check
import db
from scenarios import SCENARIOS, Scenario, inject_kills
from processes import Hookd, Target, run_load, measure_max_ingest

SECRET = "chaos-webhook-secret-0123456789abcdef"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenarios", nargs="*", default=list(SCENARIOS))
    parser.add_argument("--short", action="store_true", help="~15 s of load per scenario (CI)")
    parser.add_argument("--duration", type=float, help="seconds of load (default 60, short 15)")
    parser.add_argument("--rate", type=float, help="requests/s (default: --load-share of the measured max)")
    parser.add_argument("--load-share", type=float, default=0.5)
    parser.add_argument("--drain-seconds", type=float, help="wait for the queue to drain (default 120, short 60)")
    parser.add_argument("--no-pg-restart", action="store_true", help="db-outage: terminate connections only")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL databases")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    unknown = [s for s in args.scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; known: {list(SCENARIOS)}")
    duration = args.duration or (15.0 if args.short else 60.0)
    args.drain_seconds = args.drain_seconds or (60.0 if args.short else 120.0)
    args.measure_seconds = 3.0 if args.short else 5.0
    env = Environment.from_env()
    out_root = os.environ.get("CHAOS_OUT", "/var/tmp/hookd-chaos")
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    results = []
    for name in args.scenarios:
        scenario = SCENARIOS[name]
        run_dir = os.path.join(out_root, f"{stamp}-{name}")
        os.makedirs(run_dir, exist_ok=True)
        print(f"== {name}: {scenario.title} ({run_dir})", flush=True)
        try:
            summary = run_scenario(scenario, run_dir, env, args, duration)
            print_summary(summary)
        except Exception as err:  # a run that could not finish fails, the others still run
            traceback.print_exc()
            summary = failed_run(scenario, duration, f"{type(err).__name__}: {err}")
        results.append(summary)
    print_table(results)
    with open(os.path.join(out_root, f"{stamp}-results.json"), "w") as f:
        json.dump(results, f, indent=2)
    failed = [r["scenario"] for r in results if r["violations"]]
    if failed:
        print(f"CHAOS FAILED: invariants violated in {', '.join(failed)}", file=sys.stderr)
        return 1
    print("CHAOS PASSED")
    return 0


class Environment:
    def __init__(self, binary: str, pg_url: str, pg_cluster: str):
        self.binary = binary
        self.pg_url = pg_url
        self.pg_cluster = pg_cluster

    @classmethod
    def from_env(cls) -> "Environment":
        target_dir = os.environ.get("CARGO_TARGET_DIR", "target")
        binary = os.environ.get("HOOKD_BIN", os.path.join(target_dir, "release", "hookd"))
        if not os.access(binary, os.X_OK):
            sys.exit(f"hookd binary not found at {binary}: set HOOKD_BIN or build it")
        pg_url = os.environ.get("CHAOS_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
        cluster = os.environ.get("CHAOS_PG_CLUSTER")
        if not cluster:
            versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else ["15"]
            cluster = f"{versions[-1]}/main"
        return cls(binary, pg_url, cluster)


def run_scenario(scenario: Scenario, run_dir: str, env: Environment, args, duration: float) -> dict:
    rng = random.Random(args.seed)
    if scenario.postgres:
        db_url = db.create_postgres(env.pg_url) + "?sslmode=disable"
    else:
        db_url = f"sqlite://{run_dir}/hookd.db?mode=rwc"
    forward_secret = "whsec_Y2hhb3MtZm9yd2FyZC1zZWNyZXQtMDEyMzQ1Njc4OWFi"
    target = Target(run_dir, forward_secret, scenario.target_fail, scenario.target_hang,
                    hang_seconds=scenario.settings["handler_timeout_seconds"] + 2, seed=args.seed)
    instances = [
        Hookd(env.binary, run_dir, i, db_url, SECRET, target.url, forward_secret, scenario.settings)
        for i in range(scenario.replicas)
    ]
    timeline = Timeline()
    env.target = target
    try:
        # One after the other: two replicas migrating an empty database at once
        # fail (a duplicate key in pg_type), see RELIABILITY.md.
        for hookd in instances:
            hookd.start()
            hookd.wait_ready()
        urls = [h.webhook_url for h in instances]
        rate = args.rate or args.load_share * measure_max_ingest(run_dir, urls, SECRET, args.measure_seconds)
        if not args.rate and scenario.max_rate and rate > scenario.max_rate:
            print(f"   load capped at {scenario.max_rate:.0f} requests/s: what this scenario's "
                  "deliveries can keep pace with", flush=True)
            rate = scenario.max_rate
        print(f"   load: {rate:.0f} requests/s for {duration:.0f} s", flush=True)
        load_start = time.time()
        stop = threading.Event()
        injector = threading.Thread(
            target=guarded(scenario.inject, timeline),
            args=(instances, timeline, stop, rng, env, db_url, not args.no_pg_restart and not args.short, duration),
        )
        injector.start()
        load = run_load(run_dir, urls, SECRET, rate, duration, seed=args.seed)
        time.sleep(max(0.0, load_start + duration - time.time()))
        stop.set()
        injector.join()
        for hookd in instances:
            hookd.check_alive()
        load_summary = load.wait()
        load_end = load_start + duration
        drained, drain_seconds = wait_drained(db_url, args.drain_seconds)
        exits = [hookd.stop() for hookd in instances]
        target.stop()
        meta = {
            "scenario": scenario.name,
            "max_attempts": scenario.settings["max_attempts"],
            "hookd_went_down": scenario.hookd_goes_down,
            "outages": timeline.outages,
            "shutdown": timeline.shutdown,
            "load_end": load_end,
            "resume_limit_seconds": 15,
            "lease_seconds": scenario.settings["lease_seconds"],
            "check_takeover": scenario.inject is inject_kills,
            # hookd's defaults for a destination (README, "Delivery limits").
            "max_in_flight": 32 * scenario.replicas,
            "breaker_cool_down_seconds": 30,
        }
        result = check.check(run_dir, db_url, meta)
        if not drained:
            result["violations"].setdefault("not_drained", {"count": 1, "examples": [f"{args.drain_seconds} s"]})
        unexpected = [e for h in instances for e in h.unexpected_exits]
        if unexpected:
            result["violations"]["hookd_exited_by_itself"] = {"count": len(unexpected), "examples": unexpected[:5]}
        if timeline.errors:
            result["violations"]["injector_failed"] = {"count": len(timeline.errors), "examples": timeline.errors}
        if any(code != 0 for code in exits):
            result["violations"]["final_stop_exit_code"] = {"count": 1, "examples": [str(exits)]}
        result.update({
            "scenario": scenario.name,
            "backend": "postgres" if scenario.postgres else "sqlite",
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(load_start)),
            "duration_seconds": duration,
            "rate_target": round(rate),
            "rate_offered": round(load_summary["requests"] / duration),
            "drain_seconds": round(drain_seconds, 1),
            "faults": timeline.counts(),
            "timeline": timeline.outages,
            "shutdown": timeline.shutdown,
            "run_dir": run_dir,
            "load": load_summary,
        })
        with open(os.path.join(run_dir, "summary.json"), "w") as f:
            json.dump(result, f, indent=2)
        return result
    finally:
        for hookd in instances:
            hookd.kill()
        target.stop()
        if scenario.postgres and not args.keep:
            try:
                db.drop_postgres(db_url, env.pg_url)
            except Exception as err:  # the cluster may be down after a failed restart
                print(f"   could not drop {db_url}: {err}", file=sys.stderr)


class Timeline:
    """What the injector did, with wall-clock times, for the checker."""

    def __init__(self):
        self.outages = []
        self.shutdown = None
        self.errors = []

    def outage(self, kind: str, start: float, end: float) -> None:
        self.outages.append({"kind": kind, "start": start, "end": end})

    def counts(self) -> dict:
        counts = {}
        for window in self.outages:
            counts[window["kind"]] = counts.get(window["kind"], 0) + 1
        return counts


def guarded(inject, timeline: Timeline):
    """Runs an injector, keeping its failure (e.g. hookd did not come back)
    for the report instead of losing it in a thread."""

    def run(*args):
        try:
            inject(*args)
        except Exception as err:
            timeline.errors.append(f"{type(err).__name__}: {err}")
            print(f"   injector failed: {err}", file=sys.stderr, flush=True)

    return run


def wait_drained(db_url: str, deadline_seconds: float) -> tuple[bool, float]:
    started = time.time()
    while time.time() - started < deadline_seconds:
        left = db.scalar(db_url, "SELECT count(*) FROM events WHERE status IN ('pending', 'processing', 'retrying')")
        if left == 0:
            return True, time.time() - started
        time.sleep(0.5)
    return False, time.time() - started


def failed_run(scenario: Scenario, duration: float, error: str) -> dict:
    """The table row of a scenario that could not run to the end."""
    return {
        "scenario": scenario.name, "backend": "postgres" if scenario.postgres else "sqlite",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "duration_seconds": duration,
        "requests": 0, "accepted": 0, "duplicates": 0, "unavailable": 0, "unanswered": 0, "extra_deliveries": 0,
        "violations": {"run_failed": {"count": 1, "examples": [error]}},
    }


def print_summary(s: dict) -> None:
    print(f"   requests {s['requests']} (offered {s['rate_offered']}/s), answers {s['statuses']}")
    print(f"   stored {s['events_stored']} {s['events_by_status']}, drained in {s['drain_seconds']} s")
    print(f"   deliveries {s['deliveries']}, extra {s['extra_deliveries']} {s['extra_by_answer']}, "
          f"attempts {s['attempt_outcomes']}")
    print(f"   max redelivery gap {s['max_redelivery_gap_seconds']} s")
    print(f"   faults {s['faults']}, resume delays {s['resume_delays_seconds']}, latency {s['latency_seconds']}")
    if s["notes"]:
        print(f"   notes {s['notes']}")
    for name, v in s["violations"].items():
        print(f"   VIOLATION {name}: {v['count']} e.g. {v['examples'][:3]}")
    if not s["violations"]:
        print("   invariants hold")


def print_table(results: list) -> None:
    print()
    print("| date | scenario | backend | load s | requests | 202 | 200 | 503 | unanswered | extra deliveries | violations |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for s in results:
        violations = ", ".join(f"{k} {v['count']}" for k, v in s["violations"].items()) or "none"
        print(f"| {s['date']} | {s['scenario']} | {s['backend']} | {s['duration_seconds']:.0f} | {s['requests']} "
              f"| {s['accepted']} | {s['duplicates']} | {s['unavailable']} | {s['unanswered']} "
              f"| {s['extra_deliveries']} | {violations} |")


if __name__ == "__main__":
    sys.exit(main())
