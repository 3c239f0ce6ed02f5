-- The plans of the counting and retention queries on the filled SQLite file:
--   sqlite3 /var/tmp/hookd-scale/big.db < scripts/scale-bench/explain-sqlite.sql
.timer on
EXPLAIN QUERY PLAN SELECT source, status, CAST(SUM(events) AS BIGINT) AS events FROM event_counters
WHERE TRUE GROUP BY source, status HAVING SUM(events) <> 0;
EXPLAIN QUERY PLAN SELECT MIN(received_at) AS oldest FROM events
WHERE status IN ('pending', 'retrying', 'processing') AND status <> 'processing';
EXPLAIN QUERY PLAN SELECT id FROM events WHERE status = 'processed' AND processed_at < 0
  AND id < X'01A1F88F000070008000000000000000' ORDER BY id LIMIT 1000;
EXPLAIN QUERY PLAN SELECT id FROM events WHERE status = 'dead' AND claimed_at < 0
  ORDER BY claimed_at LIMIT 1000;
-- The queries themselves.
SELECT source, status, CAST(SUM(events) AS BIGINT) AS events FROM event_counters
WHERE TRUE GROUP BY source, status HAVING SUM(events) <> 0;
SELECT MIN(received_at) AS oldest FROM events
WHERE status IN ('pending', 'retrying', 'processing') AND status <> 'processing';
-- Before: what /stats and /sources ran (grouping the whole table).
SELECT source, status, COUNT(id) FROM events GROUP BY source, status;
