#!/usr/bin/env bash
# The compose integration run: builds and starts the project's own, unchanged
# Dockerfile and docker-compose.yml (`up --build -d`, secrets in a generated
# env file of random values), then checks from the host, through 127.0.0.1
# only, what a deployment relies on:
#   hookd starts only after PostgreSQL is healthy, and becomes healthy itself;
#   the README's flow: 202, 200 duplicate, 401, a JWT from `hookd token` for
#   GET /events; the event gets `processed`;
#   `restart hookd` keeps the data;
#   PostgreSQL stopped -> 503 + Retry-After; started again -> hookd recovers
#   by itself (same container, not restarted);
#   `down` then `up` keeps the events (named volume);
#   hookd runs as a non-root user; the image size is reported.
# Exits non-zero on the first failure; removes its containers, network and
# volume on exit (the built image stays, so a second run is quick; KEEP=1
# leaves the whole stack up for a look).
# Needs: docker, docker-compose (or `docker compose`), curl, openssl, python3.
# Where no image registry is reachable, run scripts/docker-local-bases.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."

PROJECT="${SMOKE_PROJECT:-hookdsmoke}"
WAIT="${SMOKE_WAIT_SECONDS:-120}"
if command -v docker-compose >/dev/null; then compose_cmd=(docker-compose); else compose_cmd=(docker compose); fi
work="$(mktemp -d /tmp/hookd-smoke.XXXXXX)"
env_file="$work/.env"
passed=0

say() { printf '[compose-smoke] %s\n' "$*"; }
fail() { printf '[compose-smoke] FAIL: %s\n' "$*" >&2; exit 1; }
ok() { passed=$((passed + 1)); say "ok: $*"; }
compose() { "${compose_cmd[@]}" -p "$PROJECT" --env-file "$env_file" "$@"; }
container() { compose ps -q "$1"; }
health() { docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$(container "$1")"; }
json() { python3 -c 'import json,sys; v=json.load(sys.stdin)
for k in sys.argv[1:]: v=v[int(k)] if isinstance(v,list) else v[k]
print(v)' "$@"; }

cleanup() {
  local status=$?
  if [[ "${KEEP:-0}" == 1 ]]; then
    say "KEEP=1: stack left up; env file $env_file; remove with: ${compose_cmd[*]} -p $PROJECT --env-file $env_file down -v"
    return
  fi
  if [[ $status != 0 && -f "$env_file" ]]; then
    say "logs of the failed run (last 40 lines):"
    compose logs --no-color --tail 40 2>&1 | sed 's/^/    /' >&2 || true
  fi
  [[ -f "$env_file" ]] && compose down -v --remove-orphans >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

for tool in docker curl openssl python3; do
  command -v "$tool" >/dev/null || fail "$tool is not installed"
done
docker info >/dev/null 2>&1 || fail "the Docker engine is not running"

# --- an env file of strong random secrets, and a free loopback port ----------
random_hex() { openssl rand -hex 32; }
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
umask 077
cat >"$env_file" <<ENV
POSTGRES_PASSWORD=$(random_hex)
HOOKD_JWT_SECRET=$(random_hex)
HOOKD_WEBHOOK_SECRET=$(random_hex)
HOOKD_PORT=$port
ENV
umask 022
webhook_secret="$(sed -n 's/^HOOKD_WEBHOOK_SECRET=//p' "$env_file")"
base="http://127.0.0.1:$port"
say "project $PROJECT, hookd published on $base, secrets in a 0600 env file"

wait_healthy() { # SERVICE
  local deadline=$((SECONDS + WAIT))
  until [[ "$(health "$1")" == healthy ]]; do
    ((SECONDS < deadline)) || fail "$1 not healthy after ${WAIT}s (status: $(health "$1"))"
    sleep 1
  done
}

# request METHOD PATH [curl args…]: sets $status, $body and $headers.
request() {
  local method=$1 path=$2
  shift 2
  status="$(curl -sS --max-time 30 -o "$work/body" -D "$work/headers" -w '%{http_code}' \
    -X "$method" "$base$path" "$@" || true)"
  body="$(cat "$work/body" 2>/dev/null || true)"
  headers="$(cat "$work/headers" 2>/dev/null || true)"
}
sign() { printf '%s' "$1" | openssl dgst -sha256 -hmac "$webhook_secret" | awk '{print $NF}'; }
post_webhook() { # PAYLOAD [SIGNATURE]
  request POST /webhook -H 'Content-Type: application/json' \
    -H "X-Signature: ${2:-$(sign "$1")}" --data-binary "$1"
}
expect() { # STATUS WHAT
  [[ "$status" == "$1" ]] || fail "$2: expected $1, got $status $body"
  ok "$2: $status"
}

# --- build and start ------------------------------------------------------------------
t0="$(date +%s)"
say "docker-compose up --build -d (the first build compiles hookd in release mode: long)"
compose up --build -d >"$work/up.log" 2>&1 || { tail -30 "$work/up.log" >&2; fail "compose up"; }
say "up in $(($(date +%s) - t0))s"

# Start order, from the engine's own event log: postgres healthy, then hookd started.
order="$(docker events --since "$t0" --until "$(($(date +%s) + 2))" \
  --filter "label=com.docker.compose.project=$PROJECT" \
  --format '{{index .Actor.Attributes "com.docker.compose.service"}} {{.Action}}' |
  grep -E '^(postgres health_status: healthy|hookd start)$' || true)"
[[ "$(head -1 <<<"$order")" == "postgres health_status: healthy" ]] && grep -qx 'hookd start' <<<"$order" ||
  fail "hookd started before postgres was healthy: $(tr '\n' ';' <<<"$order")"
ok "hookd started only after postgres was healthy"
wait_healthy hookd
ok "hookd healthy (its HEALTHCHECK is \`hookd healthcheck\`)"

# --- the README's flow ---------------------------------------------------------------------
payload='{"event_id":"evt_smoke_1","type":"invoice.paid","data":{"amount":42}}'
post_webhook "$payload"
expect 202 "signed webhook accepted"
id="$(json id <<<"$body")"
post_webhook "$payload"
expect 200 "the same again is a duplicate"
[[ "$(json status <<<"$body")" == duplicate && "$(json id <<<"$body")" == "$id" ]] || fail "duplicate body: $body"
post_webhook '{"event_id":"evt_forged","type":"invoice.paid"}' "$(printf '%064d' 0)"
expect 401 "wrong signature refused"
[[ "$(json code <<<"$body")" == invalid_signature ]] || fail "401 body: $body"

token="$(compose exec -T hookd hookd token --sub compose-smoke --ttl 10m | tr -d '\r')"
[[ "$token" == *.*.* ]] || fail "hookd token printed no JWT"
auth=(-H "Authorization: Bearer $token")
request GET /events
expect 401 "GET /events without a token"
request GET /events "${auth[@]}"
expect 200 "GET /events with a JWT from \`hookd token\` in the container"
[[ "$(json items 0 event_id <<<"$body")" == evt_smoke_1 ]] || fail "GET /events: $body"

event_status() { request GET "/events/$id" "${auth[@]}"; json status <<<"$body" 2>/dev/null || echo "$status"; }
deadline=$((SECONDS + 60))
until [[ "$(event_status)" == processed ]]; do
  ((SECONDS < deadline)) || fail "event not processed within 60s (now: $(event_status))"
  sleep 1
done
ok "the event is processed"

# --- restart hookd: the data stays ----------------------------------------------------------
compose restart hookd >/dev/null 2>&1
wait_healthy hookd
state="$(event_status)"
[[ "$state" == processed ]] || fail "after restart the event is: $state"
ok "restart hookd: the event is still there, processed"

# --- PostgreSQL stopped: 503 + Retry-After; started: recovers without a hookd restart ----
hookd_started="$(docker inspect -f '{{.State.StartedAt}}' "$(container hookd)")"
compose stop postgres >/dev/null 2>&1
post_webhook '{"event_id":"evt_during_outage","type":"invoice.paid"}'
expect 503 "PostgreSQL stopped: webhook"
retry_after="$(tr -d '\r' <<<"$headers" | sed -n 's/^[Rr]etry-[Aa]fter: *//p')"
[[ "$retry_after" =~ ^[0-9]+$ ]] || fail "no Retry-After on the 503: $headers"
ok "PostgreSQL stopped: 503 $(json code <<<"$body") with Retry-After: $retry_after"
request GET /readyz
expect 503 "PostgreSQL stopped: /readyz"
compose start postgres >/dev/null 2>&1
wait_healthy postgres
deadline=$((SECONDS + 60))
until post_webhook '{"event_id":"evt_smoke_2","type":"invoice.paid"}' && [[ "$status" == 202 ]]; do
  ((SECONDS < deadline)) || fail "no recovery within 60s after postgres came back: $status $body"
  sleep 1
done
ok "PostgreSQL back: 202 again"
[[ "$(docker inspect -f '{{.State.StartedAt}}' "$(container hookd)")" == "$hookd_started" ]] ||
  fail "hookd was restarted during the outage"
ok "hookd recovered by itself (same container, not restarted)"

# --- down, then up: the named volume keeps the events ---------------------------------------
compose down >/dev/null 2>&1
compose up -d >/dev/null 2>&1
wait_healthy hookd
request GET "/events?limit=10" "${auth[@]}"
expect 200 "GET /events after down + up"
python3 -c 'import json,sys; ids={e["event_id"] for e in json.load(sys.stdin)["items"]}
sys.exit(0 if {"evt_smoke_1","evt_smoke_2"} <= ids else 1)' <<<"$body" ||
  fail "events lost across down + up: $body"
ok "down + up: both events kept in the named volume"

# --- who runs it, and how big it is ------------------------------------------------------------
uid="$(docker top "$(container hookd)" -o pid,uid,comm | awk '$3 == "hookd" {print $2}')"
[[ -n "$uid" && "$uid" != 0 ]] || fail "hookd runs as uid '${uid:-?}'"
ok "hookd runs as uid $uid ($(compose exec -T hookd id -un | tr -d '\r')), not root"
image="$(docker inspect -f '{{.Image}}' "$(container hookd)")"
image_mb="$(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.1f", $1 / 1000000}')"
binary_mb="$(compose exec -T hookd stat -c %s /usr/local/bin/hookd | awk '{printf "%.1f", $1 / 1000000}')"
say "image size: ${image_mb} MB (hookd binary ${binary_mb} MB)"

say "PASSED: $passed checks"
