#!/usr/bin/env python3
"""Every figure of BENCHMARKS.md in one run (started by scripts/bench/run.sh).

Calibration first (the same run's yardsticks): the fixed-response server
driven by loadgen and by wrk, and pgbench's one-INSERT-per-commit ceiling.
Then hookd (release build) on SQLite and PostgreSQL, a fresh database per
run: intake only (workers=0) at 64 and 512 connections, intake with
processing on (4 workers, log handler), bad signatures (loadgen and wrk), and
delivery with the forward handler to a local fixed-202 target at 64 and 512
connections (the backlog when the load stops, in seconds of ingest, and how
long it takes to drain).
CPU comes from /proc/<pid>/stat (utime+stime) deltas over each run: hookd's
per accepted webhook, PostgreSQL's (the run database's backends plus the WAL
writer, background writer and checkpointer) per event. Every intake run is
checked through the database (loadgen --verify-db).
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HZ = os.sysconf("SC_CLK_TCK")
HERE = os.path.dirname(os.path.abspath(__file__))


def ticks(pid):
    """utime + stime of a process, in clock ticks (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (FileNotFoundError, ProcessLookupError):
        return 0


def postgres_ticks():
    """Ticks of every process named postgres, by pid."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() != "postgres":
                    continue
        except OSError:
            continue
        out[int(pid)] = ticks(pid)
    return out


def memory_kib(pid):
    """(VmRSS, VmHWM) in KiB."""
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {seconds}s")


class Postgres:
    def __init__(self, admin_url):
        self.admin_url = admin_url
        base, _, options = admin_url.partition("?")
        self.base = base.rsplit("/", 1)[0]
        self.options = options

    def psql(self, sql, url=None):
        return subprocess.run(
            ["psql", url or self.admin_url, "-Atqc", sql],
            check=True, capture_output=True, text=True,
        ).stdout.strip()

    def url(self, name, sslmode_disable=True):
        opts = "sslmode=disable" if sslmode_disable else self.options
        return f"{self.base}/{name}" + (f"?{opts}" if opts else "")

    def create(self, name):
        self.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.psql(f"CREATE DATABASE {name}")
        return self.url(name)

    def drop(self, name):
        self.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def pids_of(self, name):
        """The run database's backends and the shared writers."""
        rows = self.psql(
            "SELECT pid FROM pg_stat_activity WHERE datname = '%s' OR backend_type IN "
            "('walwriter', 'background writer', 'checkpointer')" % name
        )
        return [int(p) for p in rows.split()]


class Bench:
    def __init__(self, args):
        self.args = args
        self.results = []
        self.pg = Postgres(args.pg_url) if args.pg_url else None
        self.tmp = tempfile.mkdtemp(prefix="hookd-bench-")

    # --- helpers -----------------------------------------------------------
    def loadgen(self, url, connections, mix="unique=100", verify=None, duration=None):
        cmd = [self.args.loadgen, "--url", url, "-c", str(connections),
               "-d", duration or self.args.duration, "--mix", mix, "--json"]
        if verify:
            cmd += ["--verify-db", verify]
        started = time.time()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        pid = proc.pid
        # The generator's own CPU, sampled just before it exits.
        out, _ = proc.communicate()
        result = json.loads(out.strip().splitlines()[-1])
        result["wall"] = time.time() - started
        result["_pid"] = pid
        return result

    def wrk(self, url, connections):
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{self.args.duration}", "--latency",
             "-s", os.path.join(HERE, "post.lua"), url],
            check=True, capture_output=True, text=True,
        ).stdout
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
        return {"rps": rps, "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else None,
                "raw": out}

    def record(self, **row):
        self.results.append(row)
        print(json.dumps(row), flush=True)

    def start_hookd(self, db_url, workers, log, extra_env=None):
        port = free_port()
        env = dict(os.environ)
        env.update({
            "HOOKD__SERVER__BIND": f"127.0.0.1:{port}",
            "HOOKD__DATABASE__URL": db_url,
            "HOOKD__PROCESSING__WORKERS": str(workers),
            "HOOKD__LOG__FORMAT": "json",
        })
        extra_env = dict(extra_env or {})
        config = extra_env.pop("config", None)
        env.update(extra_env)
        command = [self.args.hookd]
        if config:
            path = os.path.join(self.tmp, f"hookd-{port}.toml")
            with open(path, "w") as f:
                f.write(config)
            command += ["serve", "--config", path]
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=log, cwd=self.tmp)
        wait_http(f"http://127.0.0.1:{port}/healthz")
        return proc, port

    # --- calibration -------------------------------------------------------
    def calibration(self):
        server = subprocess.Popen([self.args.loadgen, "--serve-fixed", "127.0.0.1:0"],
                                  stdout=subprocess.PIPE, text=True)
        try:
            line = server.stdout.readline()
            url = re.search(r"(http://\S+)", line).group(1) + "/webhook"
            for connections in (64, 512):
                before = ticks(server.pid)
                r = self.loadgen(url, connections)
                cpu = (ticks(server.pid) - before) / HZ
                self.record(run="fixed-202 server, loadgen", connections=connections,
                            rps=r["rps"], p50_ms=r["p50_ms"], p99_ms=r["p99_ms"],
                            server_cpu_ms_per_request=1000 * cpu / max(r["requests"], 1))
            if shutil.which("wrk"):
                for connections in (64, 512):
                    before = ticks(server.pid)
                    w = self.wrk(url, connections)
                    cpu = (ticks(server.pid) - before) / HZ
                    seconds = float(self.args.duration.rstrip("s"))
                    self.record(run="fixed-202 server, wrk -t1", connections=connections,
                                rps=w["rps"], p99_ms=w["p99_ms"],
                                server_cpu_ms_per_request=1000 * cpu / max(w["rps"] * seconds, 1))
        finally:
            server.terminate()
            server.wait()
        if self.pg:
            name = "hookd_bench_pgbench"
            url = self.pg.create(name)
            subprocess.run(["psql", url, "-q", "-f", os.path.join(HERE, "pgbench-setup.sql")],
                           check=True, capture_output=True)
            seconds = float(self.args.duration.rstrip("s"))
            before = postgres_ticks()
            bench = subprocess.Popen(
                ["pgbench", "-n", "-c", "64", "-j", "2", "-M", "prepared",
                 "-T", str(int(seconds)),
                 "-f", os.path.join(HERE, "pgbench-insert.sql"), url],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            # pgbench's backends exit with it: sample their CPU half a second
            # before the end and scale up to the whole run.
            time.sleep(seconds - 0.5)
            during = postgres_ticks()
            out, _ = bench.communicate()
            tps = float(re.search(r"tps = ([\d.]+) \(without initial", out).group(1))
            pg_cpu = sum(t - before.get(p, 0) for p, t in during.items()) / HZ
            pg_cpu *= seconds / (seconds - 0.5)
            self.record(run="pgbench one INSERT per commit", connections=64, rps=tps,
                        pg_cpu_ms_per_event=1000 * pg_cpu / max(tps * seconds, 1))
            self.pg.drop(name)

    # --- hookd -------------------------------------------------------------
    def database(self, backend, n):
        if backend == "sqlite":
            path = os.path.join(self.tmp, f"run{n}", "hookd.db")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            return f"sqlite://{path}?mode=rwc", path, None
        name = f"hookd_bench_{n}"
        return self.pg.create(name), self.pg.url(name), name

    def backlog(self, verify_url, pg_name):
        sql = "SELECT COUNT(*) FROM events WHERE status IN ('pending','retrying','processing')"
        return int(self.pg.psql(sql, verify_url) if pg_name else
                   subprocess.run(["sqlite3", verify_url, sql], check=True,
                                  capture_output=True, text=True).stdout.strip())

    def hookd_run(self, backend, n, label, workers, connections, mix="unique=100", wrk=False,
                  extra_env=None):
        db_url, verify_url, pg_name = self.database(backend, n)
        log = open(os.path.join(self.tmp, f"hookd-{n}.log"), "w")
        proc, port = self.start_hookd(db_url, workers, log, extra_env)
        url = f"http://127.0.0.1:{port}/webhook"
        try:
            hookd_before = ticks(proc.pid)
            pg_before = postgres_ticks()
            if wrk:
                w = self.wrk(url, connections)
                r = {"rps": w["rps"], "p50_ms": None, "p99_ms": w["p99_ms"],
                     "requests": int(w["rps"] * float(self.args.duration.rstrip("s"))),
                     "statuses": {}}
            else:
                verify = verify_url if mix != "bad=100" else None
                r = self.loadgen(url, connections, mix=mix, verify=verify)
            hookd_cpu = (ticks(proc.pid) - hookd_before) / HZ
            pg_cpu = None
            if pg_name:
                pg_cpu = sum(ticks(p) - pg_before.get(p, 0) for p in self.pg.pids_of(pg_name)) / HZ
            rss, hwm = memory_kib(proc.pid)
            accepted = int(r["statuses"].get("202", 0))
            backlog = drained_s = None
            if workers > 0:
                backlog = self.backlog(verify_url, pg_name)
                started = time.time()
                left = backlog
                while left and time.time() - started < 120:
                    time.sleep(0.2)
                    left = self.backlog(verify_url, pg_name)
                drained_s = round(time.time() - started, 1) if not left else None
            per = accepted if accepted else r["requests"]
            self.record(
                run=f"hookd {backend}: {label}", connections=connections,
                rps=r["rps"], accepted_per_s=accepted / r.get("seconds", 1) if accepted else 0,
                p50_ms=r.get("p50_ms"), p99_ms=r["p99_ms"], statuses=r["statuses"],
                hookd_cpu_ms_per_request=1000 * hookd_cpu / max(per, 1),
                pg_cpu_ms_per_event=(1000 * pg_cpu / max(per, 1)) if pg_cpu is not None else None,
                rss_mib=rss / 1024, peak_rss_mib=hwm / 1024, backlog_at_end=backlog,
                backlog_seconds_of_ingest=(backlog / (accepted / r.get("seconds", 1))
                                           if backlog is not None and accepted else None),
                drained_after_s=drained_s,
                verify=r.get("verify"), verify_ok=r.get("verify_ok"),
            )
        finally:
            proc.terminate()
            proc.wait()
            log.close()
            if pg_name:
                self.pg.drop(pg_name)

    def hookd(self, backend):
        n = {"sqlite": 100, "postgres": 200}[backend]
        self.hookd_run(backend, n + 1, "intake only (workers=0)", 0, 64)
        self.hookd_run(backend, n + 2, "intake only (workers=0)", 0, 512)
        self.hookd_run(backend, n + 3, "intake + processing (4 workers, log handler)", 4, 64)
        self.hookd_run(backend, n + 4, "bad signatures, loadgen", 0, 64, mix="bad=100")
        if shutil.which("wrk"):
            self.hookd_run(backend, n + 5, "bad signatures, wrk -t1", 0, 64, wrk=True)


    def forward(self, backend):
        """Delivery keeping pace: the forward handler to a local fixed-202
        target (loadgen --serve-fixed), at 512 connections."""
        target = subprocess.Popen([self.args.loadgen, "--serve-fixed", "127.0.0.1:0"],
                                  stdout=subprocess.PIPE, text=True)
        try:
            line = target.stdout.readline()
            url = re.search(r"(http://\S+)", line).group(1) + "/in"
            # The load generator's secret and header (hookd's development defaults).
            env = {"config": f"""
[sources.default]
secrets = ["supersecret"]

[sources.default.handler]
kind = "forward"
url = "{url}"
forward_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
{os.environ.get("BENCH_FORWARD_HANDLER", "")}
"""}
            n = {"sqlite": 150, "postgres": 250}[backend]
            for connections in (64, 512):
                n += 1
                self.hookd_run(backend, n, "forward to a fixed-202 target (4 workers)", 4,
                               connections, extra_env=env)
        finally:
            target.terminate()
            target.wait()


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--hookd", required=True)
    p.add_argument("--loadgen", required=True)
    p.add_argument("--pg-url", default=os.environ.get("PG_URL"))
    p.add_argument("--duration", default="10s")
    p.add_argument("--only",
                   default="calibration,sqlite,postgres,forward-sqlite,forward-postgres")
    p.add_argument("--out", default=None, help="write the JSON lines here too")
    args = p.parse_args()
    bench = Bench(args)
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}; "
          f"{os.cpu_count()} cores; load {os.getloadavg()}", flush=True)
    try:
        for part in args.only.split(","):
            if part == "calibration":
                bench.calibration()
            elif part in ("sqlite", "postgres"):
                if part == "postgres" and not bench.pg:
                    print("# postgres skipped: no --pg-url / PG_URL", flush=True)
                    continue
                bench.hookd(part)
            elif part.startswith("forward-"):
                backend = part.removeprefix("forward-")
                if backend == "postgres" and not bench.pg:
                    print("# forward-postgres skipped: no --pg-url / PG_URL", flush=True)
                    continue
                bench.forward(backend)
    finally:
        print(f"# done; load {os.getloadavg()}", flush=True)
        if args.out:
            with open(args.out, "w") as f:
                for row in bench.results:
                    f.write(json.dumps(row) + "\n")
        shutil.rmtree(bench.tmp, ignore_errors=True)
    bad = [r for r in bench.results if r.get("verify_ok") is False]
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
