#!/usr/bin/env python3
"""Prints bench.py's JSON lines (--out FILE) as the Markdown table BENCHMARKS.md uses."""

import json
import sys


def fmt(value, digits=0, suffix=""):
    if value is None:
        return "–"
    return f"{value:,.{digits}f}{suffix}"


def main(path):
    rows = [json.loads(line) for line in open(path)]
    print("| run | conns | req/s | p50 / p99 ms | hookd CPU ms/req | PG CPU ms/event | RSS MiB | check |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        cpu = r.get("hookd_cpu_ms_per_request", r.get("server_cpu_ms_per_request"))
        check = "–"
        if r.get("verify_ok") is not None:
            check = "every 202 stored once" if r["verify_ok"] else "**FAILED**"
        if r.get("backlog_at_end") is not None:
            check += f"; backlog at end {r['backlog_at_end']:,}"
            if r["backlog_at_end"] and r.get("backlog_seconds_of_ingest") is not None:
                check += f" ({r['backlog_seconds_of_ingest']:.1f} s of ingest"
                drained = r.get("drained_after_s")
                check += f", drained {drained} s later)" if drained is not None else ")"
        print(f"| {r['run']} | {r['connections']} | {fmt(r['rps'])} | "
              f"{fmt(r.get('p50_ms'), 1)} / {fmt(r.get('p99_ms'), 1)} | {fmt(cpu, 3)} | "
              f"{fmt(r.get('pg_cpu_ms_per_event'), 3)} | {fmt(r.get('rss_mib'), 0)} | {check} |")


if __name__ == "__main__":
    main(sys.argv[1])
