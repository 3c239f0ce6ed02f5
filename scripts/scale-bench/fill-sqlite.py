#!/usr/bin/env python3
"""Fills a migrated hookd SQLite database with N finished events (default
10,000,000) plus 2,000 pending, 1,000 retrying and 3,000 dead ones, with one
attempt row per finished event: batched inserts, 50,000 rows per transaction.
The same shape as fill-postgres.sql (see README.md).

A fill, not intake: no journal and no fsync while it runs (a crash mid-fill
leaves a broken file: fill again), then the file is put back in WAL mode, as
hookd keeps it.

    scripts/scale-bench/fill-sqlite.py /var/tmp/hookd-scale/hookd.db [N]
"""
import hashlib
import os
import sqlite3
import sys
import time
import uuid

path = sys.argv[1]
total = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000_000
batch = 50_000
SOURCES = ["stripe"] * 40 + ["github"] * 25 + ["shopify"] * 15 + ["slack"] * 10 \
    + ["standard"] * 6 + ["internal"] * 4
TYPES = ["invoice.paid", "push", "orders/create", "message", "user.created", "job.done"]
end = int((time.time() - 3600) * 1_000_000)
span = 864_000_000_000  # ten days, in microseconds

db = sqlite3.connect(path, isolation_level=None)
# No journal: pages are written once, to the file (WAL wrote them twice and
# took twice as long).
db.execute("PRAGMA journal_mode = OFF")
db.execute("PRAGMA synchronous = OFF")
db.execute("PRAGMA cache_size = -1000000")
db.execute("PRAGMA foreign_keys = ON")
(seq,) = db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
started = time.time()
for first in range(0, total, batch):
    events, attempts = [], []
    for i in range(first, min(first + batch, total)):
        received = end - (total - i) * span // total
        h = hashlib.md5(str(i).encode()).digest()
        pick = i % 100
        size = 200 + int.from_bytes(h[:2], "big") % 800
        event_type = TYPES[pick % 6]
        from_end = total - i
        status = ("pending" if from_end <= 2000 else "retrying" if from_end <= 3000
                  else "dead" if from_end <= 6000 else "processed")
        payload = ('{"event_id":"evt_%d","type":"%s","data":"%s"}'
                   % (i, event_type, "x" * size)).encode()
        # UUIDv7: 48-bit milliseconds, version 7, variant, then hash bits.
        key = bytearray((received // 1000).to_bytes(6, "big") + h[6:16])
        key[6] = 0x70 | (key[6] & 0x0F)
        key[8] = 0x80 | (key[8] & 0x3F)
        key = bytes(key)
        claimed = None if status == "pending" else received + 5000
        processed = received + 20000 if status == "processed" else None
        error = "HTTP 500" if status in ("retrying", "dead") else None
        seq += 1
        events.append((
            key, SOURCES[pick], "evt_%d" % i, event_type, payload,
            hashlib.sha256(payload).digest(), "application/json", received, status,
            0 if status == "pending" else 1 if status == "processed" else 3,
            received + (3_600_000_000 if status == "retrying" else 300_000_000),
            processed, claimed, error, seq,
        ))
        if status in ("processed", "dead"):
            attempts.append((key, claimed, processed or claimed + 15000,
                             "succeeded" if status == "processed" else "dead", error))
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO events (id, source, event_id, event_type, payload, payload_sha256, "
        "content_type, received_at, status, attempts, next_attempt_at, processed_at, "
        "claimed_at, last_error, secret_label, conflict, dedupe_body, seq) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '0', 0, 0, ?)", events)
    db.executemany(
        "INSERT INTO event_attempts (event_key, attempt, worker, started_at, finished_at, "
        "outcome, error) VALUES (?, 1, 'fill/0', ?, ?, ?, ?)", attempts)
    db.execute("COMMIT")
    done = min(first + batch, total)
    if done % 1_000_000 == 0 or done == total:
        print(f"{time.strftime('%T')} {done} / {total} events "
              f"({time.time() - started:.0f} s)", flush=True)
db.execute("ANALYZE")
db.execute("PRAGMA journal_mode = WAL")
for status, count in db.execute("SELECT status, COUNT(*) FROM events GROUP BY status"):
    print(status, count)
print(f"file size: {os.path.getsize(path) / 2**30:.1f} GiB; filled in "
      f"{time.time() - started:.0f} s")
