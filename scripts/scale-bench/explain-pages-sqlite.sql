-- The plans of the listing pages on the filled SQLite file (issue 11):
--   sqlite3 /var/tmp/hookd-scale/big.db < scripts/scale-bench/explain-pages-sqlite.sql
-- The statements as hookd sends them (adapters/src/store/listing.rs), values inlined.
.timer on
-- GET /events?source=github, before: one query. On this file (the fill runs
-- ANALYZE) SQLite walks the key back past the newer events of other sources;
-- on a file hookd made (no sqlite_stat1) it reads all of the source's events
-- through events_source_event_id and sorts them.
EXPLAIN QUERY PLAN SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
WHERE source = 'github' ORDER BY id DESC LIMIT 51;
SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
WHERE source = 'github' ORDER BY id DESC LIMIT 51;
-- Now: one range of events_page_by_source per status, merged.
EXPLAIN QUERY PLAN SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'github' AND status >= 'pending' AND status <= 'pending'
  ORDER BY status DESC, id DESC LIMIT 51) AS range0
UNION ALL SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'github' AND status >= 'processing' AND status <= 'processing'
  ORDER BY status DESC, id DESC LIMIT 51) AS range1
UNION ALL SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'github' AND status >= 'processed' AND status <= 'processed'
  ORDER BY status DESC, id DESC LIMIT 51) AS range2
UNION ALL SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'github' AND status >= 'retrying' AND status <= 'retrying'
  ORDER BY status DESC, id DESC LIMIT 51) AS range3
UNION ALL SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'github' AND status >= 'dead' AND status <= 'dead'
  ORDER BY status DESC, id DESC LIMIT 51) AS range4
ORDER BY id DESC LIMIT 51;
SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'github' AND status >= 'pending' AND status <= 'pending'
  ORDER BY status DESC, id DESC LIMIT 51) AS range0
UNION ALL SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'github' AND status >= 'processing' AND status <= 'processing'
  ORDER BY status DESC, id DESC LIMIT 51) AS range1
UNION ALL SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'github' AND status >= 'processed' AND status <= 'processed'
  ORDER BY status DESC, id DESC LIMIT 51) AS range2
UNION ALL SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'github' AND status >= 'retrying' AND status <= 'retrying'
  ORDER BY status DESC, id DESC LIMIT 51) AS range3
UNION ALL SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'github' AND status >= 'dead' AND status <= 'dead'
  ORDER BY status DESC, id DESC LIMIT 51) AS range4
ORDER BY id DESC LIMIT 51;
-- GET /events?source=stripe&status=processed, before and now.
EXPLAIN QUERY PLAN SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
WHERE source = 'stripe' AND status = 'processed' ORDER BY id DESC LIMIT 51;
SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
WHERE source = 'stripe' AND status = 'processed' ORDER BY id DESC LIMIT 51;
EXPLAIN QUERY PLAN SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'stripe' AND status >= 'processed' AND status <= 'processed'
  ORDER BY status DESC, id DESC LIMIT 51;
SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'stripe' AND status >= 'processed' AND status <= 'processed'
  ORDER BY status DESC, id DESC LIMIT 51;
-- A token restricted to slack and internal, before and now.
EXPLAIN QUERY PLAN SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
WHERE source IN ('slack', 'internal') ORDER BY id DESC LIMIT 51;
SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
WHERE source IN ('slack', 'internal') ORDER BY id DESC LIMIT 51;
EXPLAIN QUERY PLAN SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'internal' AND status >= 'pending' AND status <= 'pending'
  ORDER BY status DESC, id DESC LIMIT 51) AS range0
UNION ALL SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'internal' AND status >= 'processing' AND status <= 'processing'
  ORDER BY status DESC, id DESC LIMIT 51) AS range1
UNION ALL SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'internal' AND status >= 'processed' AND status <= 'processed'
  ORDER BY status DESC, id DESC LIMIT 51) AS range2
UNION ALL SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'internal' AND status >= 'retrying' AND status <= 'retrying'
  ORDER BY status DESC, id DESC LIMIT 51) AS range3
UNION ALL SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'internal' AND status >= 'dead' AND status <= 'dead'
  ORDER BY status DESC, id DESC LIMIT 51) AS range4
UNION ALL SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'slack' AND status >= 'pending' AND status <= 'pending'
  ORDER BY status DESC, id DESC LIMIT 51) AS range5
UNION ALL SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'slack' AND status >= 'processing' AND status <= 'processing'
  ORDER BY status DESC, id DESC LIMIT 51) AS range6
UNION ALL SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'slack' AND status >= 'processed' AND status <= 'processed'
  ORDER BY status DESC, id DESC LIMIT 51) AS range7
UNION ALL SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'slack' AND status >= 'retrying' AND status <= 'retrying'
  ORDER BY status DESC, id DESC LIMIT 51) AS range8
UNION ALL SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'slack' AND status >= 'dead' AND status <= 'dead'
  ORDER BY status DESC, id DESC LIMIT 51) AS range9
ORDER BY id DESC LIMIT 51;
SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'internal' AND status >= 'pending' AND status <= 'pending'
  ORDER BY status DESC, id DESC LIMIT 51) AS range0
UNION ALL SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'internal' AND status >= 'processing' AND status <= 'processing'
  ORDER BY status DESC, id DESC LIMIT 51) AS range1
UNION ALL SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'internal' AND status >= 'processed' AND status <= 'processed'
  ORDER BY status DESC, id DESC LIMIT 51) AS range2
UNION ALL SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'internal' AND status >= 'retrying' AND status <= 'retrying'
  ORDER BY status DESC, id DESC LIMIT 51) AS range3
UNION ALL SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'internal' AND status >= 'dead' AND status <= 'dead'
  ORDER BY status DESC, id DESC LIMIT 51) AS range4
UNION ALL SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'slack' AND status >= 'pending' AND status <= 'pending'
  ORDER BY status DESC, id DESC LIMIT 51) AS range5
UNION ALL SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'slack' AND status >= 'processing' AND status <= 'processing'
  ORDER BY status DESC, id DESC LIMIT 51) AS range6
UNION ALL SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'slack' AND status >= 'processed' AND status <= 'processed'
  ORDER BY status DESC, id DESC LIMIT 51) AS range7
UNION ALL SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'slack' AND status >= 'retrying' AND status <= 'retrying'
  ORDER BY status DESC, id DESC LIMIT 51) AS range8
UNION ALL SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM (
  SELECT id, source, event_id, event_type, status, attempts, received_at, processed_at, last_error, secret_label, conflict FROM events
  WHERE source = 'slack' AND status >= 'dead' AND status <= 'dead'
  ORDER BY status DESC, id DESC LIMIT 51) AS range9
ORDER BY id DESC LIMIT 51;
