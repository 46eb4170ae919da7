#!/usr/bin/env bash
# Analytics latency on PostgreSQL over a large fixture (issue 12; method and results: BENCHMARKS.md).
#
#   bench/analytics.sh                                  10,000,000 payments, 10,000 merchants, 1,000,000 payers
#   BENCH_PAYMENTS=1000000 bench/analytics.sh           a smaller fixture
#
# The fixture is the analytics rollups as the subscriber would have built them from that many trade.paid events over 90
# China days ending 2026-11-30, built set-based (generate_series, INSERT … SELECT … GROUP BY), never through the API.
# It lives in a PostgreSQL 15 cluster under $BENCH_ANALYTICS_DIR (default /tmp/qianbao-analytics) that is kept between runs:
# a second run with the same BENCH_PAYMENTS reuses it. The server (Release) migrates the database, then the script times
# BENCH_CALLS calls of GET /admin/v1/merchants/{id}/analytics for 30 days (2026-11-01..30, random merchants) and
# BENCH_KPI_CALLS of GET /admin/v1/analytics/kpis for the same range, one at a time, and prints p50/p95/max of each
# (curl's time_total: the whole request on loopback). Ends with RESULT merchant_p95_ms=.. kpis_p95_ms=..
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

BENCH_PAYMENTS=${BENCH_PAYMENTS:-10000000}
BENCH_MERCHANTS=${BENCH_MERCHANTS:-10000}
BENCH_PAYERS=${BENCH_PAYERS:-1000000}
BENCH_CALLS=${BENCH_CALLS:-200}
BENCH_KPI_CALLS=${BENCH_KPI_CALLS:-20}
BENCH_ANALYTICS_DIR=${BENCH_ANALYTICS_DIR:-/tmp/qianbao-analytics}
BENCH_SKIP_BUILD=${BENCH_SKIP_BUILD:-0}
PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
PSQL=$([ -x "$PG_BINDIR/psql" ] && echo "$PG_BINDIR/psql" || command -v psql)
SERVER_DLL=src/Qianbao.Server/bin/Release/net10.0/Qianbao.Server.dll
KEY=bench-operator-key

log() { printf '==> %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$(( (RANDOM % 30000) + 20000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
    done
    return 1
}

SERVER_PID=""
cleanup() {
    set +e
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    as_pg "$PG_BINDIR/pg_ctl" stop -D "$BENCH_ANALYTICS_DIR/data" -m fast -w >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$BENCH_SKIP_BUILD" != 1 ]; then
    log "building the server (Release)"
    dotnet build src/Qianbao.Server/Qianbao.Server.csproj -c Release -nologo -v q >/tmp/qianbao-analytics-build.log 2>&1 \
        || { cat /tmp/qianbao-analytics-build.log >&2; die "build failed"; }
fi

mkdir -p "$BENCH_ANALYTICS_DIR"
chmod 755 "$BENCH_ANALYTICS_DIR"
[ "$(id -u)" -eq 0 ] && chown postgres: "$BENCH_ANALYTICS_DIR"
if [ ! -f "$BENCH_ANALYTICS_DIR/data/PG_VERSION" ]; then
    as_pg "$PG_BINDIR/initdb" -D "$BENCH_ANALYTICS_DIR/data" --auth=trust -U postgres --encoding=UTF8 --no-locale --no-sync >/dev/null
    cat >>"$BENCH_ANALYTICS_DIR/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$BENCH_ANALYTICS_DIR'
shared_buffers = 256MB
max_connections = 100
max_wal_size = 4GB
EOF
fi
PG_PORT=$(free_port) || die "no free port"
as_pg "$PG_BINDIR/pg_ctl" start -D "$BENCH_ANALYTICS_DIR/data" -l "$BENCH_ANALYTICS_DIR/server.log" -w -t 120 -o "-p $PG_PORT" >/dev/null
sql() { "$PSQL" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "${DB:-analytics}" -v ON_ERROR_STOP=1 -qAt "$@"; }
DB=postgres sql -c "SELECT 1 FROM pg_database WHERE datname = 'analytics'" | grep -q 1 || DB=postgres sql -c "CREATE DATABASE analytics"

PORT=$(free_port) || die "no free port"
mkdir -p "$BENCH_ANALYTICS_DIR/server"
(
    export Qianbao__DataDir="$BENCH_ANALYTICS_DIR/server" Qianbao__OperatorKey=$KEY Logging__LogLevel__Default=Warning Qianbao__Security__Relaxed=true \
        ConnectionStrings__Postgres="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=analytics"
    exec dotnet "$SERVER_DLL" --urls "http://127.0.0.1:$PORT"
) >"$BENCH_ANALYTICS_DIR/qianbao.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null || { cat "$BENCH_ANALYTICS_DIR/qianbao.log" >&2; die "server did not start"; }

FIXTURE="$BENCH_PAYMENTS/$BENCH_MERCHANTS/$BENCH_PAYERS"
if [ "$(sql -c "SELECT to_regclass('bench_fixture') IS NOT NULL" )" = t ] && [ "$(sql -c "SELECT spec FROM bench_fixture")" = "$FIXTURE" ]; then
    log "reusing the fixture $FIXTURE"
else
    log "building the fixture: $BENCH_PAYMENTS payments, $BENCH_MERCHANTS merchants, $BENCH_PAYERS payers (set-based)"
    start=$(date +%s)
    # Day 20332 is 2026-09-01 (China days since 1970-01-01); 90 days of hours from its first China hour.
    sql <<EOF
SET maintenance_work_mem = '512MB'; SET work_mem = '256MB';
DROP TABLE IF EXISTS bench_fixture, bench_payments, bench_ids, bench_payer_ids;
TRUNCATE analytics_seen, analytics_merchant_hours, analytics_campaign_hours, analytics_merchant_payers, analytics_payer_days,
    analytics_platform_days, analytics_users, analytics_active_days, analytics_cashback_days;
CREATE UNLOGGED TABLE bench_payments AS
SELECT i, (i % $BENCH_MERCHANTS)::int AS m, ((i * 7919) % $BENCH_PAYERS)::int AS p,
       (20332 * 24 - 8 + (i * 2654435761) % (90 * 24))::bigint AS hour_no, (100 + (i * 40503) % 10000)::bigint AS amount
FROM generate_series(1::bigint, $BENCH_PAYMENTS::bigint) AS i;
CREATE UNLOGGED TABLE bench_ids AS SELECT m, md5('m' || m)::uuid AS id FROM generate_series(0, $BENCH_MERCHANTS - 1) AS m;
-- The merchants themselves (the operator route answers 404 for an unknown one): bare rows, clearly fake.
DELETE FROM merchants WHERE licence_no LIKE 'BENCH-%';
INSERT INTO merchants (id, name, licence_no, legal_person, contact_phone, fee_bps, status, created_at_us, verified_at_us)
SELECT id, 'bench ' || m, 'BENCH-' || m, 'bench', '-', 60, 'verified', 0, 0 FROM bench_ids;
CREATE UNLOGGED TABLE bench_payer_ids AS SELECT p, md5('p' || p)::uuid AS id FROM generate_series(0, $BENCH_PAYERS - 1) AS p;
INSERT INTO analytics_merchant_hours (merchant_id, hour_no, gmv_minor, orders)
SELECT i.id, hour_no, SUM(amount), COUNT(*) FROM bench_payments b JOIN bench_ids i USING (m) GROUP BY i.id, hour_no;
INSERT INTO analytics_campaign_hours (merchant_id, campaign_id, hour_no, orders, discount_minor, gmv_minor)
SELECT i.id, md5('c' || (b.i / 10 % 100))::uuid, hour_no, COUNT(*), SUM(50), SUM(amount)
FROM bench_payments b JOIN bench_ids i USING (m) WHERE b.i % 10 = 0 GROUP BY 1, 2, 3;
INSERT INTO analytics_merchant_payers (merchant_id, payer_id, first_day, last_day, orders)
SELECT i.id, q.id, MIN((hour_no + 8) / 24), MAX((hour_no + 8) / 24), COUNT(*)
FROM bench_payments b JOIN bench_ids i USING (m) JOIN bench_payer_ids q USING (p) GROUP BY i.id, q.id;
INSERT INTO analytics_payer_days (merchant_id, day, payer_id, orders, gender, age_band, province)
SELECT i.id, (hour_no + 8) / 24, q.id, COUNT(*), 1 + b.p % 2, 1 + b.p % 6, 11 + b.p % 30
FROM bench_payments b JOIN bench_ids i USING (m) JOIN bench_payer_ids q USING (p) GROUP BY 1, 2, 3, 5, 6, 7;
INSERT INTO analytics_platform_days (day, kind, count, volume_minor)
SELECT (hour_no + 8) / 24, 'payment', COUNT(*), SUM(amount) FROM bench_payments GROUP BY 1;
INSERT INTO analytics_active_days (day, user_id) SELECT DISTINCT (hour_no + 8) / 24, q.id FROM bench_payments b JOIN bench_payer_ids q USING (p);
INSERT INTO analytics_users (user_id, registered_day) SELECT q.id, MIN((hour_no + 8) / 24) FROM bench_payments b JOIN bench_payer_ids q USING (p) GROUP BY q.id;
DROP TABLE bench_payments, bench_payer_ids;
CREATE TABLE bench_fixture (spec text NOT NULL);
INSERT INTO bench_fixture VALUES ('$FIXTURE');
VACUUM ANALYZE;
EOF
    log "fixture built in $(( $(date +%s) - start )) s"
fi

measure() { # name url-template calls → p50 p95 max (ms)
    local name=$1 calls=$3 i id out
    : >"$BENCH_ANALYTICS_DIR/$name.times"
    for i in $(seq 1 "$calls"); do
        id=$(sql -c "SELECT id FROM bench_ids WHERE m = $(( (RANDOM * 32768 + RANDOM) % BENCH_MERCHANTS ))")
        out=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT${2//\{id\}/$id}")
        [ "${out%% *}" = 200 ] || die "$name answered ${out%% *}"
        echo "${out#* }" >>"$BENCH_ANALYTICS_DIR/$name.times"
    done
    sort -g "$BENCH_ANALYTICS_DIR/$name.times" | awk -v n="$name" '{ t[NR] = $1 * 1000 } END {
        p50 = t[int((NR - 1) * 0.50) + 1]; p95 = t[int((NR - 1) * 0.95) + 1];
        printf "%s calls=%d p50_ms=%.1f p95_ms=%.1f max_ms=%.1f\n", n, NR, p50, p95, t[NR] }'
}
# A few calls first: the server's first requests pay for JIT and connection set-up.
for _ in 1 2 3; do curl -s -o /dev/null -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT/admin/v1/analytics/kpis?from=2026-11-01&to=2026-11-30"; done
M=$(measure merchant "/admin/v1/merchants/{id}/analytics?from=2026-11-01&to=2026-11-30" "$BENCH_CALLS")
K=$(measure kpis "/admin/v1/analytics/kpis?from=2026-11-01&to=2026-11-30" "$BENCH_KPI_CALLS")
echo "$M"; echo "$K"
echo "RESULT payments=$BENCH_PAYMENTS merchant_p95_ms=$(echo "$M" | sed 's/.*p95_ms=\([0-9.]*\).*/\1/') kpis_p95_ms=$(echo "$K" | sed 's/.*p95_ms=\([0-9.]*\).*/\1/')"
