-- One chunk of the fill (see fill-postgres.sh): events :first … :last of
-- :total, received over the ten days before the last hour, in key order.
-- Sources are skewed (stripe 40 %, github 25 %, shopify 15 %, …), payloads
-- 200–1000 bytes. The last 6,000 of the whole fill are unfinished or dead:
-- 2,000 pending, 1,000 retrying (due in an hour), 3,000 dead. None of these
-- sources is configured in the benchmark, so its workers leave them alone.
SET synchronous_commit = off;
BEGIN;
WITH series AS (
    SELECT i,
           -- received_at, microseconds: evenly over ten days, ending an hour ago
           (EXTRACT(EPOCH FROM now() - interval '1 hour') * 1000000)::int8
               - ((:total - i)::int8 * 864000000000 / :total) AS received,
           md5(i::text) AS h,
           i % 100 AS pick,
           :total - i AS from_end
    FROM generate_series(:first, :last) AS i
), shaped AS (
    SELECT i, received, h, from_end,
           CASE WHEN pick < 40 THEN 'stripe' WHEN pick < 65 THEN 'github'
                WHEN pick < 80 THEN 'shopify' WHEN pick < 90 THEN 'slack'
                WHEN pick < 96 THEN 'standard' ELSE 'internal' END AS source,
           (ARRAY['invoice.paid','push','orders/create','message','user.created','job.done'])
               [1 + pick % 6] AS event_type,
           200 + (('x' || substr(h, 1, 4))::bit(16)::int % 800) AS size,
           CASE WHEN from_end <= 2000 THEN 'pending' WHEN from_end <= 3000 THEN 'retrying'
                WHEN from_end <= 6000 THEN 'dead' ELSE 'processed' END AS status
    FROM series
), rows AS (
    SELECT *, convert_to(format('{"event_id":"evt_%s","type":"%s","data":"%s"}',
                                i, event_type, repeat('x', size)), 'UTF8') AS payload
    FROM shaped
), inserted AS (
INSERT INTO events (id, source, event_id, event_type, payload, payload_sha256, content_type,
                    received_at, status, attempts, next_attempt_at, processed_at, claimed_at,
                    last_error, secret_label, conflict, dedupe_body)
SELECT (lpad(to_hex(received / 1000), 12, '0') || '7' || substr(h, 1, 3) || '8'
            || substr(h, 4, 15))::uuid,
       source, 'evt_' || i, event_type, payload, sha256(payload), 'application/json',
       received, status,
       CASE status WHEN 'pending' THEN 0 WHEN 'processed' THEN 1 ELSE 3 END,
       CASE status WHEN 'retrying' THEN received + 3600000000 ELSE received + 300000000 END,
       CASE status WHEN 'processed' THEN received + 20000 END,
       CASE status WHEN 'pending' THEN NULL ELSE received + 5000 END,
       CASE status WHEN 'processed' THEN NULL WHEN 'pending' THEN NULL ELSE 'HTTP 500' END,
       '0', FALSE, FALSE
FROM rows
RETURNING id, status, claimed_at, processed_at, last_error
)
-- One attempt row per finished event, as processing would have written.
INSERT INTO event_attempts (event_key, attempt, worker, started_at, finished_at, outcome, error)
SELECT id, 1, 'fill/0', claimed_at, COALESCE(processed_at, claimed_at + 15000),
       CASE status WHEN 'processed' THEN 'succeeded' ELSE 'dead' END, last_error
FROM inserted WHERE status IN ('processed', 'dead');
COMMIT;
