-- The plans of the counting and retention queries on the filled table:
--   psql postgres://…/hookd_scale_big -f scripts/scale-bench/explain-postgres.sql
\timing on
-- GET /stats, gauges: the maintained counters.
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT source, status, CAST(SUM(events) AS BIGINT) AS events FROM event_counters
WHERE TRUE GROUP BY source, status HAVING SUM(events) <> 0;
-- The oldest waiting event: the partial index of unfinished events.
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT MIN(received_at) AS oldest FROM events
WHERE status IN ('pending', 'retrying', 'processing') AND status <> 'processing';
-- GET /sources.
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT source, secret_label, CAST(SUM(events) AS BIGINT) AS events,
       CAST(SUM(CASE WHEN conflict THEN events ELSE 0 END) AS BIGINT) AS conflicts,
       MAX(last_received_at) AS last
FROM event_counters GROUP BY source, secret_label HAVING SUM(events) > 0;
-- Before: what /stats and /sources ran (grouping the whole table).
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT source, status, COUNT(id) FROM events GROUP BY source, status;
-- Retention, processed (the old end of the primary key), rolled back.
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
DELETE FROM events WHERE id IN (
    SELECT id FROM events WHERE status = 'processed'
      AND processed_at < (EXTRACT(EPOCH FROM now() - interval '9 days') * 1000000)::int8
      -- the smallest UUIDv7 of the cutoff's millisecond, as hookd computes it
      AND id < (lpad(to_hex((EXTRACT(EPOCH FROM now() - interval '9 days') * 1000)::int8), 12, '0')
                || '70008000000000000000')::uuid
    ORDER BY id LIMIT 1000)
  AND status = 'processed'
  AND processed_at < (EXTRACT(EPOCH FROM now() - interval '9 days') * 1000000)::int8
RETURNING id;
ROLLBACK;
-- Retention, dead (events_dead).
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT id FROM events WHERE status = 'dead'
  AND claimed_at < (EXTRACT(EPOCH FROM now() - interval '1 minute') * 1000000)::int8
ORDER BY claimed_at LIMIT 1000;
