"""The processes of a chaos run: hookd instances, the recording target and
the load driver(s)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
# Driver processes: one Python process cannot saturate hookd alone.
LOAD_PROCESSES = int(os.environ.get("CHAOS_LOAD_PROCESSES", "2"))
CONNECTIONS_PER_PROCESS = 16


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hookd:
    """One hookd instance on a fixed port, restartable."""

    def __init__(self, binary, run_dir, index, db_url, secret, target_url, forward_secret, settings):
        self.binary = binary
        self.index = index
        self.port = free_port()
        self.webhook_url = f"http://127.0.0.1:{self.port}/webhook"
        self.log_path = os.path.join(run_dir, f"hookd-{index}.log")
        self.config_path = os.path.join(run_dir, f"hookd-{index}.toml")
        self.proc = None
        # Exits nobody asked for (a crash, or an exit on a database error).
        self.unexpected_exits = []
        processing = "\n".join(f"{k} = {v}" for k, v in settings.items() if k != "header_read_timeout_seconds")
        with open(self.config_path, "w") as f:
            f.write(f"""environment = "development"
[server]
bind = "127.0.0.1:{self.port}"
header_read_timeout_seconds = {settings.get("header_read_timeout_seconds", 30)}
[database]
url = "{db_url}"
acquire_timeout_seconds = 2
[sources.default]
secret = "{secret}"
[sources.default.handler]
kind = "forward"
url = "{target_url}"
forward_secret = "{forward_secret}"
[processing]
{processing}
[log]
format = "json"
level = "info"
""")

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKD") and k != "RUST_LOG"}
        log = open(self.log_path, "a")
        log.write(f"--- start {time.time():.3f}\n")
        log.flush()
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--config", self.config_path],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
        log.close()

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hookd {self.index} exited with {self.proc.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"hookd {self.index} not ready after {timeout} s; see {self.log_path}")

    def check_alive(self) -> None:
        """Notes an exit nobody asked for, and starts the instance again."""
        if self.proc.poll() is not None:
            self.unexpected_exits.append(f"hookd {self.index} exited with {self.proc.returncode} at {time.time():.3f}")
            self.start()
            self.wait_ready()

    def sigkill(self) -> None:
        if self.proc.poll() is not None:
            self.unexpected_exits.append(f"hookd {self.index} exited with {self.proc.returncode} before a kill")
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def sigterm(self, timeout: float) -> tuple[int | None, float | None]:
        """SIGTERM; the exit code and seconds to exit, or (None, None) when it
        did not exit within `timeout` (then it is killed)."""
        started = time.time()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
            return code, time.time() - started
        except subprocess.TimeoutExpired:
            self.sigkill()
            return None, None

    def stop(self) -> int | None:
        code, _ = self.sigterm(60)
        return code

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.sigkill()


class Target:
    def __init__(self, run_dir, forward_secret, fail, hang, hang_seconds, seed):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "target.py"), "--out", os.path.join(run_dir, "deliveries.csv"),
             "--secret", forward_secret, "--fail", str(fail), "--hang", str(hang),
             "--hang-seconds", str(hang_seconds), "--seed", str(seed)],
            stdout=subprocess.PIPE, text=True,
        )
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "listening":
            raise RuntimeError("the recording target did not start")
        self.url = f"http://127.0.0.1:{line[1]}/in"

    def toggle_down(self) -> None:
        """The target goes down (answers 503 to everything) or comes back."""
        self.proc.send_signal(signal.SIGUSR1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)


class LoadRun:
    def __init__(self, procs):
        self.procs = procs

    def wait(self) -> dict:
        merged = {"requests": 0, "accepted_per_second": 0.0, "statuses": {}, "ids": 0, "unresolved_retries": 0}
        for proc in self.procs:
            out, _ = proc.communicate()
            if proc.returncode != 0:
                raise RuntimeError(f"load driver failed with {proc.returncode}")
            part = json.loads(out)
            for key in ("requests", "accepted_per_second", "ids", "unresolved_retries"):
                merged[key] += part[key]
            for status, n in part["statuses"].items():
                merged["statuses"][status] = merged["statuses"].get(status, 0) + n
        return merged


def run_load(run_dir, urls, secret, rate, duration, seed, prefix="l", retry_seconds=30.0) -> LoadRun:
    procs = []
    for i in range(LOAD_PROCESSES):
        args = [sys.executable, os.path.join(HERE, "load.py"), "--secret", secret,
                "--rate", str(rate / LOAD_PROCESSES), "--duration", str(duration),
                "--retry-seconds", str(retry_seconds), "--connections", str(CONNECTIONS_PER_PROCESS),
                "--prefix", f"{prefix}{i}", "--seed", str(seed + i),
                "--out", os.path.join(run_dir, f"answers-{prefix}{i}.csv")]
        for url in urls:
            args += ["--url", url]
        procs.append(subprocess.Popen(args, stdout=subprocess.PIPE, text=True))
    return LoadRun(procs)


def measure_max_ingest(run_dir, urls, secret, seconds=5.0) -> float:
    """202s per second with the driver running flat out against this setup."""
    summary = run_load(run_dir, urls, secret, 0, seconds, seed=0, prefix="m", retry_seconds=5).wait()
    print(f"   measured max ingest: {summary['accepted_per_second']:.0f} accepted/s "
          f"({LOAD_PROCESSES} driver processes)", flush=True)
    return summary["accepted_per_second"]
