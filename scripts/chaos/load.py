#!/usr/bin/env python3
"""The load driver: sustained signed webhooks over keep-alive HTTP/1.1 connections.

Sends `{"event_id": "<prefix>-<n>", ...}` bodies signed with HMAC-SHA256 (hex,
`X-Signature`), mostly new ids plus a share of exact duplicates of ids already
sent. Like a real sender it retries what was not answered definitively: a `503`
after its `Retry-After`, a refused connection or a lost answer after a second.
After `--duration` it sends nothing new and only retries, for `--retry-seconds`.

Records every request as one CSV line:
    sent,done,event_id,status,retry_after,code,url
`status` is the HTTP status, or -1 (connection refused: not sent), -2 (sent,
connection lost before the answer: unknown), -3 (no answer within `--timeout`:
unknown). `code` is the error body's `code` for non-2xx answers.
Prints a JSON summary on stdout at the end.
"""

import argparse
import asyncio
import collections
import hashlib
import heapq
import hmac
import json
import random
import sys
import time
from urllib.parse import urlsplit

REFUSED, LOST, TIMED_OUT = -1, -2, -3


class Driver:
    def __init__(self, args):
        self.args = args
        self.secret = args.secret.encode()
        self.targets = [urlsplit(u) for u in args.url]
        self.rng = random.Random(args.seed)
        self.bodies = {}  # event id -> body, for exact duplicates
        self.sent_ids = []
        self.retries = []  # heap of (due, sequence, event id)
        self.retry_seq = 0
        self.next_n = 0
        self.slot = 0
        self.started = 0.0
        self.stop_new = False
        self.out = open(args.out, "w", buffering=1 << 16)
        self.counts = collections.Counter()
        self.pad = "x" * args.pad

    def new_body(self) -> tuple[str, bytes]:
        event_id = f"{self.args.prefix}-{self.next_n}"
        body = json.dumps(
            {"event_id": event_id, "type": "chaos.test", "n": self.next_n, "pad": self.pad},
            separators=(",", ":"),
        ).encode()
        self.next_n += 1
        self.bodies[event_id] = body
        self.sent_ids.append(event_id)
        return event_id, body

    def next_job(self, now: float):
        """A due retry first, else (while the load runs) a duplicate or a new id."""
        if self.retries and self.retries[0][0] <= now:
            _, _, event_id = heapq.heappop(self.retries)
            return event_id, self.bodies[event_id]
        if self.stop_new:
            return None
        if self.sent_ids and self.rng.random() < self.args.dup:
            event_id = self.rng.choice(self.sent_ids)
            return event_id, self.bodies[event_id]
        return self.new_body()

    async def pace(self) -> None:
        """Open loop at `--rate` (0: as fast as answers come); no burst over 1 s behind."""
        if self.args.rate <= 0 or self.stop_new:
            return
        now = time.monotonic()
        due = self.started + self.slot / self.args.rate
        if now - due > 1.0:
            self.slot = int((now - self.started) * self.args.rate)
            due = now
        self.slot += 1
        if due > now:
            await asyncio.sleep(due - now)

    def retry_later(self, event_id: str, delay: float) -> None:
        self.retry_seq += 1
        heapq.heappush(self.retries, (time.monotonic() + delay, self.retry_seq, event_id))

    async def connection(self, index: int, deadline: float) -> None:
        url = self.targets[index % len(self.targets)]
        host, port, path = url.hostname, url.port or 80, url.path or "/"
        reader = writer = None
        while time.monotonic() < deadline:
            await self.pace()
            now = time.monotonic()
            job = self.next_job(now)
            if job is None:
                if self.stop_new and not self.retries:
                    return
                await asyncio.sleep(0.05)
                continue
            event_id, body = job
            signature = hmac.new(self.secret, body, hashlib.sha256).hexdigest()
            request = (
                f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Content-Type: application/json\r\nX-Signature: {signature}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode() + body
            sent = time.time()
            status, retry_after, code = REFUSED, "", ""
            try:
                if writer is None:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection(host, port), self.args.timeout
                    )
                status = LOST
                writer.write(request)
                status, retry_after, code, close = await asyncio.wait_for(
                    read_response(reader), self.args.timeout
                )
                if close:
                    writer.close()
                    writer = None
            except asyncio.TimeoutError:
                status = TIMED_OUT if status == LOST else REFUSED
            except (OSError, asyncio.IncompleteReadError, ValueError):
                pass
            if status < 0 and writer is not None:
                writer.close()
                writer = None
            self.out.write(
                f"{sent:.6f},{time.time():.6f},{event_id},{status},{retry_after},{code},{index % len(self.targets)}\n"
            )
            self.counts[status] += 1
            if status == 503:
                delay = float(retry_after) if retry_after.isdigit() else 1.0
                self.retry_later(event_id, min(delay, 10.0))
            elif status < 0:
                self.retry_later(event_id, 1.0)
                if status == REFUSED:
                    await asyncio.sleep(0.2)  # the server is down: do not spin
        if writer is not None:
            writer.close()

    async def run(self) -> dict:
        self.started = time.monotonic()
        end_load = self.started + self.args.duration
        deadline = end_load + self.args.retry_seconds
        tasks = [
            asyncio.create_task(self.connection(i, deadline))
            for i in range(self.args.connections)
        ]
        await asyncio.sleep(max(0.0, end_load - time.monotonic()))
        self.stop_new = True
        await asyncio.gather(*tasks)
        self.out.close()
        elapsed = self.args.duration
        return {
            "requests": sum(self.counts.values()),
            "accepted_per_second": round(self.counts[202] / elapsed, 1),
            "statuses": {str(k): v for k, v in sorted(self.counts.items())},
            "ids": self.next_n,
            "unresolved_retries": len(self.retries),
        }


async def read_response(reader) -> tuple[int, str, str, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
    code = ""
    if status not in (200, 202):
        try:
            code = str(json.loads(body).get("code", ""))
        except (ValueError, AttributeError):
            code = "?"
    close = headers.get(b"connection", b"").lower() == b"close"
    return status, headers.get(b"retry-after", b"").decode(), code, close


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", action="append", required=True, help="repeatable")
    parser.add_argument("--secret", required=True)
    parser.add_argument("--rate", type=float, default=0, help="requests/s; 0: max")
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--retry-seconds", type=float, default=30)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--dup", type=float, default=0.05, help="share of duplicates")
    parser.add_argument("--pad", type=int, default=120, help="body padding bytes")
    parser.add_argument("--timeout", type=float, default=15)
    parser.add_argument("--prefix", default="evt")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    summary = asyncio.run(Driver(args).run())
    json.dump(summary, sys.stdout)
    print()


if __name__ == "__main__":
    main()
