-- The table pgbench-insert.sql writes: a key, a unique text id and a
-- ~1 KiB payload, like the core of hookd's `events` row.
DROP TABLE IF EXISTS bench_insert;
CREATE TABLE bench_insert (
    id uuid PRIMARY KEY,
    event_id text NOT NULL UNIQUE,
    payload bytea NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
