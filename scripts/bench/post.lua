-- wrk: POST a fixed ~1 KiB body (calibration against the fixed-response
-- server only: hookd would answer these 401, their signature is not real).
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["x-signature"] = string.rep("0", 64)
wrk.body = '{"event_id":"evt_wrk","type":"invoice.paid","pad":"' .. string.rep("x", 960) .. '"}'
