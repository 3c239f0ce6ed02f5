"""The scenarios: which backend, how many replicas, what the target does, and
the fault injector that runs beside the load."""

import dataclasses
import os
import re
import socket
import subprocess
import time
from typing import Callable
from urllib.parse import urlsplit

import db

# Processing settings of every run: short backoff so retries converge within
# the drain deadline; a lease well above the handler timeout.
PROCESSING = {
    "workers": 4,
    "batch_size": 32,
    "lease_seconds": 30,
    "handler_timeout_seconds": 3,
    "max_attempts": 10,
    "backoff_base_ms": 200,
    "backoff_factor": 2,
    "backoff_cap_seconds": 2,
    "poll_interval_ms": 500,
    "shutdown_grace_seconds": 5,
}


@dataclasses.dataclass
class Scenario:
    name: str
    title: str
    postgres: bool
    inject: Callable
    replicas: int = 1
    target_fail: float = 0.0
    target_hang: float = 0.0
    hookd_goes_down: bool = False
    settings: dict = dataclasses.field(default_factory=lambda: dict(PROCESSING))
    # Most requests/s this scenario's deliveries can keep pace with (None: no
    # limit); the load is capped to it unless --rate is given.
    max_rate: float | None = None


def inject_kills(instances, timeline, stop, rng, env, db_url, allow_restart, duration):
    """SIGKILL the first instance every 5–10 s and start it again at once."""
    victim = instances[0]
    while not stop.wait(rng.uniform(5, 10)):
        killed = time.time()
        victim.sigkill()
        victim.start()
        victim.wait_ready()
        timeline.outage("kill", killed, time.time())


def inject_db_outage(instances, timeline, stop, rng, env, db_url, allow_restart, duration):
    """Terminate hookd's connections every 2–4 s; halfway, refuse connections
    to the database for 3 s (`ALLOW_CONNECTIONS false`); restart the cluster
    twice (at a third and two thirds of the load) unless `allow_restart` is false."""
    started = time.time()
    restarts = [started + duration / 3, started + 2 * duration / 3] if allow_restart else []
    refuse_at = started + duration / 2
    name = urlsplit(db_url).path.lstrip("/")
    # Only this run's database: other hookd instances may share the cluster.
    terminate = ("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                 f"WHERE application_name = 'hookd' AND datname = '{name}'")
    while not stop.wait(rng.uniform(2, 4)):
        for hookd in instances:
            hookd.check_alive()
        t0 = time.time()
        if restarts and t0 >= restarts[0]:
            restarts.pop(0)
            restart_cluster(env)
            timeline.outage("pg_restart", t0, time.time())
        elif refuse_at and t0 >= refuse_at:
            refuse_at = None
            db.psql(env.pg_url, f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
            try:
                db.psql(env.pg_url, terminate)
                time.sleep(3)
            finally:
                db.psql(env.pg_url, f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
            timeline.outage("refuse_connections", t0, time.time())
        else:
            db.psql(env.pg_url, terminate)
            timeline.outage("terminate", t0, time.time())


def restart_cluster(env) -> None:
    version, cluster = env.pg_cluster.split("/")
    port = urlsplit(env.pg_url).port or 5432
    conf = f"/etc/postgresql/{version}/{cluster}/postgresql.conf"
    if not os.path.exists(conf) or not re.search(rf"^port\s*=\s*{port}\b", open(conf).read(), re.M):
        raise RuntimeError(f"CHAOS_PG_CLUSTER={env.pg_cluster} does not serve port {port}: refusing to restart it")
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, "restart"],
                   check=True, capture_output=True, timeout=120)
    for _ in range(60):
        if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", str(port), "-q"]).returncode == 0:
            return
        time.sleep(0.5)
    raise RuntimeError("PostgreSQL did not come back after the restart")


def inject_sigterm(instances, timeline, stop, rng, env, db_url, allow_restart, duration):
    """Halfway: a client connection stalled mid-headers, then SIGTERM; time the
    exit. Then start hookd again so the load goes on and the queue drains."""
    if stop.wait(duration / 2):
        return
    hookd = instances[0]
    stalled = socket.create_connection(("127.0.0.1", hookd.port))
    stalled.sendall(b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl")
    time.sleep(0.2)
    grace = hookd_grace(hookd)
    t0 = time.time()
    code, seconds = hookd.sigterm(timeout=grace + 60)
    stalled.close()
    timeline.shutdown = {"exit_code": code, "seconds": None if seconds is None else round(seconds, 2), "grace": grace}
    hookd.start()
    hookd.wait_ready()
    timeline.outage("sigterm", t0, time.time())
    inject_nothing(instances, timeline, stop, rng, env, db_url, allow_restart, duration)


def hookd_grace(hookd) -> float:
    for line in open(hookd.config_path):
        if line.startswith("shutdown_grace_seconds"):
            return float(line.split("=")[1])
    return 15.0


def inject_target_down(instances, timeline, stop, rng, env, db_url, allow_restart, duration):
    """A quarter into the load the target goes down (503 to everything) for a
    minute (half the load in a short run), then comes back."""
    if stop.wait(duration / 4):
        return
    t0 = time.time()
    env.target.toggle_down()
    stop.wait(min(60.0, duration / 2))
    env.target.toggle_down()
    timeline.outage("target_down", t0, time.time())
    inject_nothing(instances, timeline, stop, rng, env, db_url, allow_restart, duration)


def inject_nothing(instances, timeline, stop, rng, env, db_url, allow_restart, duration):
    """No fault from outside; only watch that hookd stays up."""
    while not stop.wait(1):
        for hookd in instances:
            hookd.check_alive()


SCENARIOS = {
    s.name: s
    for s in [
        Scenario("kill-sqlite", "SIGKILL every 5-10 s and restart, SQLite", False, inject_kills, hookd_goes_down=True),
        Scenario("kill-postgres", "SIGKILL every 5-10 s and restart, PostgreSQL", True, inject_kills,
                 hookd_goes_down=True),
        Scenario("replicas", "two replicas on one PostgreSQL, one SIGKILLed repeatedly", True, inject_kills,
                 replicas=2, hookd_goes_down=True),
        Scenario("db-outage", "PostgreSQL connections terminated every 2-4 s, refused for 3 s, cluster restarted twice", True,
                 inject_db_outage),
        # A hang holds one of the destination's 32 slots (max_in_flight, the
        # default) for the 3 s handler timeout: with 1 % of attempts hanging
        # and 20 % retried, deliveries keep pace with at most ~800 new events/s,
        # whatever the intake can take. Above that the backlog outlives the
        # drain wait (the limit doing its job), so the load stays below it.
        Scenario("target-faults", "target answers 500 to 20 %, hangs past the timeout for 1 %", False,
                 inject_nothing, target_fail=0.20, target_hang=0.01, max_rate=600),
        Scenario("target-down", "the target answers 503 to everything for a minute (short: half the load)", False,
                 inject_target_down),
        Scenario("sigterm", "SIGTERM under load with a stalled client connection", False, inject_sigterm,
                 hookd_goes_down=True),
    ]
}
