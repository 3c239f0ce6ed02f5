-- pgbench's one-INSERT-per-commit ceiling, the calibration point for
-- hookd's PostgreSQL intake (issue 12): each transaction stores one ~1 KiB
-- row under a unique key, as a request without group commit would.
-- Table: see pgbench-setup.sql. Run by scripts/bench/run.sh.
INSERT INTO bench_insert (id, event_id, payload)
VALUES (gen_random_uuid(), gen_random_uuid()::text, convert_to(repeat('x', 1024), 'UTF8'))
ON CONFLICT DO NOTHING;
