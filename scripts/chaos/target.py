#!/usr/bin/env python3
"""The recording target: receives hookd's `forward` deliveries and records each one.

One CSV line per delivery, written when the request has been read:
    time,webhook_id,event_id,answer,signature
`answer` is what the target does: `200`, `500` (a retryable refusal), `hang`
(holds the request past hookd's handler timeout, then closes it unanswered) or
`503` (the target is down: SIGUSR1 toggles that).
`signature` is `ok` when the Standard Webhooks signature verifies with the
forward secret, else `bad`.

Prints `listening <port>` on stdout once it accepts connections; stops on SIGTERM.
"""

import argparse
import asyncio
import base64
import hashlib
import hmac
import random
import re
import signal
import sys
import time

EVENT_ID = re.compile(rb'"event_id"\s*:\s*"([^"\\]*)"')


def verify(secret: bytes, headers: dict, body: bytes) -> bool:
    """Standard Webhooks: v1,<base64 HMAC-SHA256 of "{id}.{ts}.{body}">."""
    msg_id = headers.get(b"webhook-id", b"")
    ts = headers.get(b"webhook-timestamp", b"")
    sent = headers.get(b"webhook-signature", b"")
    mac = hmac.new(secret, msg_id + b"." + ts + b"." + body, hashlib.sha256).digest()
    expected = b"v1," + base64.b64encode(mac)
    return any(hmac.compare_digest(expected, s) for s in sent.split(b" ") if s)


class Target:
    def __init__(self, args):
        self.secret = base64.b64decode(args.secret.removeprefix("whsec_"))
        self.fail = args.fail
        self.hang = args.hang
        self.hang_seconds = args.hang_seconds
        self.rng = random.Random(args.seed)
        self.out = open(args.out, "a", buffering=1 << 16)
        self.count = 0
        self.down = False

    def toggle_down(self) -> None:
        self.down = not self.down

    def decide(self) -> str:
        if self.down:
            return "503"
        roll = self.rng.random()
        if roll < self.hang:
            return "hang"
        if roll < self.hang + self.fail:
            return "500"
        return "200"

    def record(self, headers: dict, body: bytes, answer: str) -> None:
        match = EVENT_ID.search(body)
        event_id = match.group(1).decode() if match else ""
        webhook_id = headers.get(b"webhook-id", b"").decode(errors="replace")
        sig = "ok" if verify(self.secret, headers, body) else "bad"
        self.out.write(f"{time.time():.6f},{webhook_id},{event_id},{answer},{sig}\n")
        self.count += 1


class Connection(asyncio.Protocol):
    """A minimal HTTP/1.1 server connection: Content-Length bodies, keep-alive."""

    def __init__(self, target: Target):
        self.target = target
        self.buffer = b""
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].split(b"\r\n")
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get(b"content-length", b"0"))
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            answer = self.target.decide()
            self.target.record(headers, body, answer)
            if answer == "hang":
                # Past hookd's handler timeout; hookd gives up and closes first.
                loop = asyncio.get_running_loop()
                loop.call_later(self.target.hang_seconds, self.transport.close)
                self.buffer = b""
                return
            status = {
                "200": b"200 OK",
                "500": b"500 Internal Server Error",
                "503": b"503 Service Unavailable",
            }[answer]
            self.transport.write(
                b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\n\r\n"
            )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--secret", required=True, help="the whsec_ forward secret")
    parser.add_argument("--fail", type=float, default=0.0, help="share answered 500")
    parser.add_argument("--hang", type=float, default=0.0, help="share held unanswered")
    parser.add_argument("--hang-seconds", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    target = Target(args)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: Connection(target), "127.0.0.1", args.port, backlog=1024
    )
    port = server.sockets[0].getsockname()[1]
    print(f"listening {port}", flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, target.toggle_down)
    await stop.wait()
    server.close()
    target.out.flush()
    target.out.close()
    print(f"recorded {target.count} deliveries", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
