#!/usr/bin/env bash
# Ledger throughput side by side with pgbench, in one run on one machine (method: BENCHMARKS.md).
#
#   bench/run.sh                     full run, a few minutes
#   BENCH_DURATION_S=5 PGBENCH_DURATION_S=5 HTTP_DURATION_S=5 BENCH_ACCOUNTS=2000 bench/run.sh    quick run
#
# Steps: builds bench/Qianbao.Bench and the server in Release; starts a throwaway PostgreSQL 15 (temp dir,
# free loopback port, fsync=on, synchronous_commit=on, shared_buffers=256MB, max_connections=300; as the
# postgres user when run as root); runs pgbench TPC-B-like as the reference; runs the ledger load through
# LedgerExecutor on PostgreSQL (uniform, then hot, each on a fresh database) and on SQLite (uniform); then
# the HTTP load against the real server process on SQLite and on PostgreSQL. Every run checks the ledger
# and its acknowledged transfers; the script exits non-zero if any check fails. Prints a table and ends with
#   RESULT pg_uniform_ratio=<x> pg_hot_ratio=<y> http_pg_ratio=.. http_sqlite_ratio=.. http_pg_coupon_ratio=..
#          growth_ratio=.. history_p95_ms=.. p99_ms=<w> http_pg_p99_ms=.. sqlite_uniform_ratio=<z> http_pg_payment_ratio=..
#          http_pg_relaxed_ratio=.. http_sqlite_relaxed_ratio=.. http_floor_ratio=..
#   (issue 13's fields first, in its order. http_pg and http_sqlite: the secure path on (PIN, identity, tier limits);
#   *_relaxed: account security off; payment: the buyer's QR payment of a trade the merchant precreated through the signed
#   gateway before the window (HTTP_PAYMENT_TRADES); coupon: the same with a coupon applied and points redeemed)
# (ratios to the pgbench tps of the same run; p99_ms: the PostgreSQL uniform ledger run's; http_pg_p99_ms: the secure
# HTTP transfer's on PostgreSQL; http_floor: the same clients and request against a server that only parses and answers).
#
# Knobs (environment):
#   BENCH_DURATION_S=20 BENCH_WARMUP_S=2 BENCH_ACCOUNTS=10000 BENCH_CLIENTS=256 BENCH_SEED=1
#   BENCH_BATCH_SIZE_MAX / BENCH_BATCH_WINDOW_US   executor settings (default: the server's defaults)
#   BENCH_PG_OPTIONS   appended to the ledger runs' PostgreSQL connection string, e.g. ";Max Auto Prepare=20"
#   PGBENCH_SCALE=64 PGBENCH_CLIENTS=16 PGBENCH_THREADS=2 PGBENCH_DURATION_S=30
#   HTTP_DURATION_S=15 HTTP_CLIENTS=64 HTTP_USERS=200 HTTP_PAYMENT_TRADES=0 BENCH_SKIP_HTTP=0
#   PG_BINDIR=/usr/lib/postgresql/15/bin BENCH_SKIP_BUILD=0
#   BENCH_GROWTH_USERS=1000000 BENCH_GROWTH_TRANSFERS=10000000   the growth step (issue 13): the secure HTTP transfer load on a
#                                  database grown to that many users and transfers vs on an empty one (growth_ratio), and
#                                  GET /v1/transactions (first page and a deep page) by 50 readers while transfers run
#                                  (history_p95_ms); either 0 skips it. The grown database is built once into a template in a
#                                  kept cluster under BENCH_GROWTH_DIR (/tmp/qianbao-growth) and reused while the fixture
#                                  code and the sizes are unchanged (new migrations upgrade a copy of it; a changed one rebuilds). BENCH_GROWTH_READERS=50 (people whose history
#                                  is read) BENCH_GROWTH_READER_TRANSFERS=100000 (their history among themselves)
#   BENCH_GROWTH_READS_ALONE_S=10  the history readers alone first (no transfers): pages/s and CPU per page (server + cluster)
#   BENCH_GROWTH_HISTORY_ONLY=1    of the growth step only the history run (no empty/grown transfer rates: growth_ratio n/a)
#   BENCH_ONLY=growth              run only the growth step (no pgbench: the table's ratios to pgbench read n/a)
#   BENCH_CAMPAIGN_PEOPLE=100000   the campaign step (issue 11): a set-based in-app campaign send beside a raw COPY of as
#                                  many inbox rows; 1000000 for the issue's benchmark, 0 skips it
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

BENCH_DURATION_S=${BENCH_DURATION_S:-20}
BENCH_WARMUP_S=${BENCH_WARMUP_S:-2}
BENCH_ACCOUNTS=${BENCH_ACCOUNTS:-10000}
BENCH_CLIENTS=${BENCH_CLIENTS:-256}
BENCH_SEED=${BENCH_SEED:-1}
BENCH_PG_OPTIONS=${BENCH_PG_OPTIONS:-}
PGBENCH_SCALE=${PGBENCH_SCALE:-64}
PGBENCH_CLIENTS=${PGBENCH_CLIENTS:-16}
PGBENCH_THREADS=${PGBENCH_THREADS:-2}
PGBENCH_DURATION_S=${PGBENCH_DURATION_S:-30}
HTTP_DURATION_S=${HTTP_DURATION_S:-15}
HTTP_CLIENTS=${HTTP_CLIENTS:-64}
HTTP_USERS=${HTTP_USERS:-200}
BENCH_SKIP_HTTP=${BENCH_SKIP_HTTP:-0}
BENCH_SKIP_BUILD=${BENCH_SKIP_BUILD:-0}
BENCH_CAMPAIGN_PEOPLE=${BENCH_CAMPAIGN_PEOPLE:-100000}
PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
BENCH_GROWTH_USERS=${BENCH_GROWTH_USERS:-1000000}
BENCH_GROWTH_TRANSFERS=${BENCH_GROWTH_TRANSFERS:-10000000}
BENCH_GROWTH_READERS=${BENCH_GROWTH_READERS:-50}
BENCH_GROWTH_READER_TRANSFERS=${BENCH_GROWTH_READER_TRANSFERS:-100000}
BENCH_GROWTH_DIR=${BENCH_GROWTH_DIR:-/tmp/qianbao-growth}
BENCH_GROWTH_READS_ALONE_S=${BENCH_GROWTH_READS_ALONE_S:-10}
BENCH_GROWTH_HISTORY_ONLY=${BENCH_GROWTH_HISTORY_ONLY:-0}
BENCH_ONLY=${BENCH_ONLY:-}

BENCH_DLL=bench/Qianbao.Bench/bin/Release/net10.0/Qianbao.Bench.dll
SERVER_DLL=src/Qianbao.Server/bin/Release/net10.0/Qianbao.Server.dll

log() { printf '==> %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ -x "$PG_BINDIR/initdb" ] || die "PostgreSQL server binaries not found in $PG_BINDIR (apt-get install postgresql, or set PG_BINDIR)"
command -v pgbench >/dev/null 2>&1 || [ -x "$PG_BINDIR/pgbench" ] || die "pgbench not found"
PGBENCH=$([ -x "$PG_BINDIR/pgbench" ] && echo "$PG_BINDIR/pgbench" || command -v pgbench)
PSQL=$([ -x "$PG_BINDIR/psql" ] && echo "$PG_BINDIR/psql" || command -v psql)

# --- throwaway state, cleaned up however the script ends -------------------------------------
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
TMP=$(mktemp -d /tmp/qianbao-bench-XXXXXX)
chmod 755 "$TMP"
PGDATA_DIR="$TMP/pg"
SERVER_PID=""
PG_STARTED=0
GROWTH_PG_STARTED=0
cleanup() {
    set +e
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    if [ "$PG_STARTED" -eq 1 ]; then
        as_pg "$PG_BINDIR/pg_ctl" stop -D "$PGDATA_DIR/data" -m immediate -w >/dev/null 2>&1
    fi
    # The growth cluster is kept (its template is reused): stopped cleanly.
    if [ "$GROWTH_PG_STARTED" -eq 1 ]; then
        as_pg "$PG_BINDIR/pg_ctl" stop -D "$BENCH_GROWTH_DIR/data" -m fast -w >/dev/null 2>&1
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$(( (RANDOM % 30000) + 20000 ))
        # Nothing answers a connect: the port is free (a small race with other processes remains).
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
    done
    return 1
}

load() { cut -d' ' -f1-3 /proc/loadavg; }

# --- build ------------------------------------------------------------------------------------
if [ "$BENCH_SKIP_BUILD" != 1 ]; then
    log "building bench/Qianbao.Bench and the server (Release)"
    dotnet build bench/Qianbao.Bench/Qianbao.Bench.csproj -c Release -nologo -v q >"$TMP/build.log" 2>&1 \
        || { cat "$TMP/build.log" >&2; die "build failed"; }
fi
[ -f "$BENCH_DLL" ] && [ -f "$SERVER_DLL" ] || die "missing $BENCH_DLL or $SERVER_DLL"
LOAD_START=$(load)

# --- PostgreSQL -------------------------------------------------------------------------------
mkdir -p "$PGDATA_DIR"
[ "$(id -u)" -eq 0 ] && chown postgres: "$PGDATA_DIR"
as_pg "$PG_BINDIR/initdb" -D "$PGDATA_DIR/data" --auth=trust -U postgres --encoding=UTF8 --no-locale --no-sync >"$TMP/initdb.log" 2>&1 \
    || { cat "$TMP/initdb.log" >&2; die "initdb failed"; }
cat >>"$PGDATA_DIR/data/postgresql.conf" <<EOF

# --- Qianbao benchmark cluster ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PGDATA_DIR'
fsync = on
synchronous_commit = on
full_page_writes = on
shared_buffers = 256MB
max_connections = 300
EOF
for attempt in 1 2 3; do
    PG_PORT=$(free_port) || die "no free port"
    PG_STARTED=1
    if as_pg "$PG_BINDIR/pg_ctl" start -D "$PGDATA_DIR/data" -l "$PGDATA_DIR/server.log" -w -t 60 -o "-p $PG_PORT" >/dev/null 2>&1; then
        break
    fi
    [ "$attempt" -eq 3 ] && { cat "$PGDATA_DIR/server.log" >&2; die "PostgreSQL did not start"; }
done
log "PostgreSQL $("$PG_BINDIR/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT ($PGDATA_DIR)"
pg_cs() { echo "Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=$1"; }
createdb() { "$PSQL" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qAtc "CREATE DATABASE $1" >/dev/null; }
# Each measurement starts from a clean checkpoint, so none pays for the writes of the one before it.
checkpoint() { "$PSQL" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qAtc "CHECKPOINT" >/dev/null; }

# --- reference: pgbench -----------------------------------------------------------------------
PGBENCH_TPS="" PGBENCH_LAT=""
if [ "$BENCH_ONLY" != growth ]; then
createdb pgbench
log "pgbench -i -s $PGBENCH_SCALE"
"$PGBENCH" -h 127.0.0.1 -p "$PG_PORT" -U postgres -i -s "$PGBENCH_SCALE" -q pgbench >"$TMP/pgbench-init.log" 2>&1 \
    || { cat "$TMP/pgbench-init.log" >&2; die "pgbench -i failed"; }
checkpoint
log "pgbench -b tpcb-like -c $PGBENCH_CLIENTS -j $PGBENCH_THREADS -M prepared -T $PGBENCH_DURATION_S"
"$PGBENCH" -h 127.0.0.1 -p "$PG_PORT" -U postgres -b tpcb-like -c "$PGBENCH_CLIENTS" -j "$PGBENCH_THREADS" -M prepared \
    -T "$PGBENCH_DURATION_S" pgbench >"$TMP/pgbench.log" 2>&1 || { cat "$TMP/pgbench.log" >&2; die "pgbench failed"; }
grep -E '^(latency average|tps)' "$TMP/pgbench.log" >&2 || true
PGBENCH_TPS=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$TMP/pgbench.log")
[ -n "$PGBENCH_TPS" ] || { cat "$TMP/pgbench.log" >&2; die "could not read pgbench tps"; }
PGBENCH_LAT=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$TMP/pgbench.log")
fi

# --- Qianbao runs -------------------------------------------------------------------------------
FAILED=()
ROWS=()
summary_field() { sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p" <<<"$1"; }

# run_ledger NAME ENGINE CONNECTION WORKLOAD
run_ledger() {
    local name=$1 engine=$2 connection=$3 workload=$4 out rc=0 extra=()
    [ -n "${BENCH_BATCH_SIZE_MAX:-}" ] && extra+=(--batch-size-max "$BENCH_BATCH_SIZE_MAX")
    [ -n "${BENCH_BATCH_WINDOW_US:-}" ] && extra+=(--batch-window-us "$BENCH_BATCH_WINDOW_US")
    [ "$engine" = postgres ] && checkpoint
    log "ledger $name: $engine, $workload, $BENCH_CLIENTS clients, $BENCH_ACCOUNTS accounts, ${BENCH_DURATION_S}s"
    dotnet "$BENCH_DLL" ledger --engine "$engine" --connection "$connection" --workload "$workload" \
        --accounts "$BENCH_ACCOUNTS" --clients "$BENCH_CLIENTS" --duration-s "$BENCH_DURATION_S" --warmup-s "$BENCH_WARMUP_S" \
        --seed "$BENCH_SEED" "${extra[@]}" >"$TMP/$name.log" 2>&1 || rc=$?
    sed -n '/^ledger /,$p' "$TMP/$name.log" | grep -v '^SUMMARY' >&2 || true
    out=$(grep '^SUMMARY' "$TMP/$name.log" || true)
    if [ "$rc" -ne 0 ] || [ -z "$out" ] || [ "$(summary_field "$out" ok)" != true ]; then
        cat "$TMP/$name.log" >&2
        FAILED+=("$name")
    fi
    eval "R_${name//-/_}=\$out"
    ROWS+=("$name")
}

if [ "$BENCH_ONLY" = growth ]; then BENCH_SKIP_HTTP=1 BENCH_CAMPAIGN_PEOPLE=0; else
createdb qb_uniform
run_ledger pg-uniform postgres "$(pg_cs qb_uniform)$BENCH_PG_OPTIONS" uniform
createdb qb_hot
run_ledger pg-hot postgres "$(pg_cs qb_hot)$BENCH_PG_OPTIONS" hot
mkdir -p "$TMP/sqlite"
run_ledger sqlite-uniform sqlite "$TMP/sqlite/ledger.db" uniform
fi

# run_http NAME [POSTGRES_DATABASE] [secure] [SCENARIO]
# SCENARIO: transfer (default), payment (the merchant precreates the trades through the gateway before the measured window,
# HTTP_PAYMENT_TRADES of them, 0 = (warm-up + window) × 800; the window measures the buyer paying them by QR), or
# marketing-payment (the same with a coupon applied and points redeemed on every payment).
# secure: account security on (codes, device login, PIN on every transfer, identity and class II limits in the ledger);
# otherwise Qianbao:Security:Relaxed=true, the path as it was before account security.
run_http() {
    local name=$1 database=${2:-} secure=${3:-} scenario=${4:-transfer} port out rc=0 key=bench-operator-key relaxed=true secure_flag=""
    [ "$secure" = secure ] && relaxed=false && secure_flag=--secure
    port=$(free_port) || die "no free port"
    [ -n "$database" ] && checkpoint
    mkdir -p "$TMP/$name"
    log "http $name: starting the server on 127.0.0.1:$port"
    (
        export Qianbao__DataDir="$TMP/$name" Qianbao__Auth__PasswordIterations=1000 Qianbao__Sandbox__ConfirmDelayMs=10 \
            Qianbao__OperatorKey=$key Logging__LogLevel__Default=Warning Qianbao__Security__Relaxed=$relaxed \
            Qianbao__Security__NewDeviceStepUpHours=0 Qianbao__Security__LoginsPerAddressPerMinuteMax=100000 \
            Qianbao__Gateway__RequestsPerSecondMax=1000000 Qianbao__Gateway__RequestsPerSecondPerAddressMax=1000000
        # (The payment rows' one merchant app precreates from one address faster than the gateway's default flow control, 200/s
        # per app, allows: lifted as the login limit is, or the rows measure the limiter.)
        [ -n "$database" ] && export ConnectionStrings__Postgres="$(pg_cs "$database")"
        exec dotnet "$SERVER_DLL" --urls "http://127.0.0.1:$port"
    ) >"$TMP/$name-server.log" 2>&1 &
    SERVER_PID=$!
    dotnet "$BENCH_DLL" http --url "http://127.0.0.1:$port" --clients "$HTTP_CLIENTS" --users "$HTTP_USERS" \
        --duration-s "$HTTP_DURATION_S" --warmup-s "$BENCH_WARMUP_S" --seed "$BENCH_SEED" --operator-key "$key" $secure_flag --scenario "$scenario" \
        --payment-trades "${HTTP_PAYMENT_TRADES:-0}" >"$TMP/$name.log" 2>&1 &
    local bench_pid=$!
    # The setup filled the tables from empty in about a minute, before autovacuum's first pass: ANALYZE during the warm-up, as
    # pgbench -i does after its load, so the window plans with statistics as a live database has them (session 13).
    if [ -n "$database" ]; then
        until grep -q "setup took" "$TMP/$name.log" 2>/dev/null || ! kill -0 "$bench_pid" 2>/dev/null; do sleep 0.2; done
        "$PSQL" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$database" -qAtc "ANALYZE" >/dev/null || true
    fi
    wait "$bench_pid" || rc=$?
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    sed -n '/^http /,$p' "$TMP/$name.log" | grep -v '^SUMMARY' >&2 || true
    out=$(grep '^SUMMARY' "$TMP/$name.log" || true)
    if [ "$rc" -ne 0 ] || [ -z "$out" ] || [ "$(summary_field "$out" ok)" != true ]; then
        cat "$TMP/$name.log" "$TMP/$name-server.log" >&2
        FAILED+=("$name")
    fi
    eval "R_${name//-/_}=\$out"
    ROWS+=("$name")
}

# The HTTP floor: the same clients and transfer request against a process that only parses it and answers (no auth, no
# database): the most any HTTP row can reach on these cores with this load generator.
FLOOR_LINE=""
if [ "$BENCH_SKIP_HTTP" != 1 ]; then
    log "http-floor (load average $(load))"
    rc=0
    dotnet "$BENCH_DLL" http-floor --clients "$HTTP_CLIENTS" --duration-s "$HTTP_DURATION_S" --warmup-s "$BENCH_WARMUP_S" >"$TMP/floor.log" 2>&1 || rc=$?
    grep -v '^SUMMARY' "$TMP/floor.log" >&2 || true
    FLOOR_LINE=$(grep '^SUMMARY' "$TMP/floor.log" || true)
    if [ "$rc" -ne 0 ] || [ "$(summary_field "$FLOOR_LINE" ok)" != true ]; then FAILED+=(http-floor); fi
fi

if [ "$BENCH_SKIP_HTTP" != 1 ]; then
    run_http http-sqlite
    run_http http-sqlite-secure "" secure
    createdb qb_http
    run_http http-postgres qb_http
    createdb qb_http_secure
    run_http http-pg-secure qb_http_secure secure
    createdb qb_http_pay
    run_http http-pg-pay qb_http_pay secure payment
    createdb qb_http_coupon
    run_http http-pg-coupon qb_http_coupon secure marketing-payment
fi

# --- campaign send (issue 11): set-based in-app send vs a raw COPY of as many inbox rows -------
CAMPAIGN_LINE=""
if [ "$BENCH_CAMPAIGN_PEOPLE" -gt 0 ]; then
    createdb qb_campaign
    checkpoint
    log "campaign: $BENCH_CAMPAIGN_PEOPLE people (load average $(load))"
    rc=0
    dotnet "$BENCH_DLL" campaign --connection "$(pg_cs qb_campaign)" --people "$BENCH_CAMPAIGN_PEOPLE" >"$TMP/campaign.log" 2>&1 || rc=$?
    grep -v '^SUMMARY' "$TMP/campaign.log" >&2 || true
    CAMPAIGN_LINE=$(grep '^SUMMARY' "$TMP/campaign.log" || true)
    if [ "$rc" -ne 0 ] || [ "$(summary_field "$CAMPAIGN_LINE" checks)" != ok ]; then FAILED+=(campaign); fi
fi

# --- growth (issue 13): the secure transfer load on a grown database vs an empty one, and the history while it runs ----
# A kept cluster under $BENCH_GROWTH_DIR (configured as the throwaway one above, plus max_wal_size=4GB for the build) holds
# the grown database as a template named by a hash of the fixture code, the sizes and the keys, and of the PostgreSQL
# migrations it has (new migrations upgrade a copy of an older template, the way a deployment would); each run copies it (CREATE DATABASE … TEMPLATE, a file copy) and measures on the copy, after an empty database on the same
# cluster. Rows: growth-empty (transfers alone, empty), growth-grown (transfers alone, grown), growth-history (transfers
# while 50 clients read GET /v1/transactions, grown).
GROWTH_LINE="" GROWTH_GROWN_LINE="" GROWTH_EMPTY_LINE="" GROWTH_BUILD_S="" GROWTH_COPY_S="" GROWTH_TEMPLATE=""
if [ "$BENCH_GROWTH_USERS" -gt 0 ] && [ "$BENCH_GROWTH_TRANSFERS" -gt 0 ]; then
    mkdir -p "$BENCH_GROWTH_DIR"
    chmod 755 "$BENCH_GROWTH_DIR"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$BENCH_GROWTH_DIR"
    # The server's personal-data keys for the grown databases (the filler users are sealed with them): made once, kept.
    if [ ! -f "$BENCH_GROWTH_DIR/keys" ]; then
        (umask 077; echo "k1:$(head -c 32 /dev/urandom | base64) $(head -c 32 /dev/urandom | base64)" >"$BENCH_GROWTH_DIR/keys")
    fi
    read -r GROWTH_DATA_KEYS GROWTH_INDEX_KEY <"$BENCH_GROWTH_DIR/keys"
    if [ ! -f "$BENCH_GROWTH_DIR/data/PG_VERSION" ]; then
        as_pg "$PG_BINDIR/initdb" -D "$BENCH_GROWTH_DIR/data" --auth=trust -U postgres --encoding=UTF8 --no-locale --no-sync >"$TMP/growth-initdb.log" 2>&1 \
            || { cat "$TMP/growth-initdb.log" >&2; die "initdb (growth) failed"; }
        cat >>"$BENCH_GROWTH_DIR/data/postgresql.conf" <<EOF

# --- Qianbao growth benchmark cluster (bench/run.sh) ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$BENCH_GROWTH_DIR'
fsync = on
synchronous_commit = on
full_page_writes = on
shared_buffers = 256MB
max_connections = 300
max_wal_size = 4GB
EOF
    fi
    GPG_PORT=$(free_port) || die "no free port"
    GROWTH_PG_STARTED=1
    as_pg "$PG_BINDIR/pg_ctl" start -D "$BENCH_GROWTH_DIR/data" -l "$BENCH_GROWTH_DIR/server.log" -w -t 300 -o "-p $GPG_PORT" >/dev/null \
        || { tail -20 "$BENCH_GROWTH_DIR/server.log" >&2; die "the growth cluster did not start"; }
    gsql() { "$PSQL" -h 127.0.0.1 -p "$GPG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAtc "$1"; }
    gcs() { echo "Host=127.0.0.1;Port=$GPG_PORT;Username=postgres;Database=$1"; }
    # The template's name: the fixture (code, sizes, keys) and the migrations it has. A template of the same fixture whose
    # migrations are all still present unchanged is upgraded (copied, migrated by the server as a deployment would be)
    # instead of rebuilt; anything else rebuilds. Each template's migrations are listed in <template>.migrations.
    GROWTH_FIXTURE_KEY=$({ cat bench/Qianbao.Bench/GrowthFixture.cs
                   echo "$BENCH_GROWTH_USERS $BENCH_GROWTH_TRANSFERS $BENCH_GROWTH_READERS $BENCH_GROWTH_READER_TRANSFERS"
                   cat "$BENCH_GROWTH_DIR/keys"; } | sha256sum | cut -c1-12)
    GROWTH_MIGRATIONS=$(cd src/Qianbao.Server/Storage/Migrations/Postgres && sha256sum -- *.sql | sort)
    GROWTH_TEMPLATE="growth_${GROWTH_FIXTURE_KEY}_$(echo "$GROWTH_MIGRATIONS" | sha256sum | cut -c1-8)"
    # start_growth_server NAME DATABASE: a secure server with the growth keys on the growth cluster (sets SERVER_PID, GROWTH_URL)
    start_growth_server() {
        local port
        port=$(free_port) || die "no free port"
        mkdir -p "$TMP/$1"
        (
            export Qianbao__DataDir="$TMP/$1" Qianbao__Auth__PasswordIterations=1000 Qianbao__Sandbox__ConfirmDelayMs=10 \
                Qianbao__OperatorKey=bench-operator-key Logging__LogLevel__Default=Warning Qianbao__Security__Relaxed=false \
                Qianbao__Security__NewDeviceStepUpHours=0 Qianbao__Security__LoginsPerAddressPerMinuteMax=100000 \
                Qianbao__Security__DataKeys="$GROWTH_DATA_KEYS" Qianbao__Security__IndexKey="$GROWTH_INDEX_KEY" \
                ConnectionStrings__Postgres="$(gcs "$2")"
            exec dotnet "$SERVER_DLL" --urls "http://127.0.0.1:$port"
        ) >"$TMP/$1-server.log" 2>&1 &
        SERVER_PID=$!
        GROWTH_URL="http://127.0.0.1:$port"
    }
    stop_server() { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }
    # An upgradable older template: same fixture, every migration it has still present and unchanged.
    GROWTH_OLDER=""
    if [ -z "$(gsql "SELECT 1 FROM pg_database WHERE datname = '$GROWTH_TEMPLATE'")" ]; then
        for older in $(gsql "SELECT datname FROM pg_database WHERE datname LIKE 'growth\\_${GROWTH_FIXTURE_KEY}\\_%'"); do
            [ -f "$BENCH_GROWTH_DIR/$older.migrations" ] || continue
            if [ -z "$(comm -23 "$BENCH_GROWTH_DIR/$older.migrations" <(echo "$GROWTH_MIGRATIONS"))" ]; then GROWTH_OLDER=$older; break; fi
        done
    fi
    if [ -n "$GROWTH_OLDER" ]; then
        log "growth fixture: upgrading $GROWTH_OLDER to $GROWTH_TEMPLATE (new migrations: $(comm -13 "$BENCH_GROWTH_DIR/$GROWTH_OLDER.migrations" <(echo "$GROWTH_MIGRATIONS") | awk '{print $2}' | sort | tr "\n" " "); load average $(load))"
        upgrade_start=$(date +%s)
        gsql "DROP DATABASE IF EXISTS growth_build" >/dev/null
        gsql "CREATE DATABASE growth_build TEMPLATE $GROWTH_OLDER" >/dev/null
        start_growth_server growth-upgrade growth_build
        for _ in $(seq 1 600); do curl -fsS "$GROWTH_URL/healthz" >/dev/null 2>&1 && break; sleep 1; done
        curl -fsS "$GROWTH_URL/healthz" >/dev/null 2>&1 || { stop_server; cat "$TMP/growth-upgrade-server.log" >&2; die "the growth upgrade's server did not start"; }
        stop_server
        gsql "CHECKPOINT" >/dev/null
        gsql "ALTER DATABASE growth_build RENAME TO $GROWTH_TEMPLATE" >/dev/null
        echo "$GROWTH_MIGRATIONS" >"$BENCH_GROWTH_DIR/$GROWTH_TEMPLATE.migrations"
        echo $(( $(cat "$BENCH_GROWTH_DIR/$GROWTH_OLDER.build-seconds" 2>/dev/null || echo 0) + $(date +%s) - upgrade_start )) \
            >"$BENCH_GROWTH_DIR/$GROWTH_TEMPLATE.build-seconds"
        log "growth fixture: upgraded in $(( $(date +%s) - upgrade_start ))s"
        gsql "DROP DATABASE $GROWTH_OLDER" >/dev/null
        rm -f "$BENCH_GROWTH_DIR/$GROWTH_OLDER.migrations" "$BENCH_GROWTH_DIR/$GROWTH_OLDER.build-seconds"
    elif [ -z "$(gsql "SELECT 1 FROM pg_database WHERE datname = '$GROWTH_TEMPLATE'")" ]; then
        # One grown database at a time: an older template (other migrations, code or sizes) and a half-built one go.
        for old in $(gsql "SELECT datname FROM pg_database WHERE datname LIKE 'growth%'"); do gsql "DROP DATABASE $old" >/dev/null; done
        log "growth fixture: building $GROWTH_TEMPLATE ($BENCH_GROWTH_USERS users, $BENCH_GROWTH_TRANSFERS transfers; load average $(load))"
        build_start=$(date +%s)
        gsql "CREATE DATABASE growth_build" >/dev/null
        # The readers are real people of the API (secure registration, PIN, identity, card, top-up); the server migrates first.
        start_growth_server growth-build growth_build
        dotnet "$BENCH_DLL" growth-readers --url "$GROWTH_URL" --operator-key bench-operator-key --readers "$BENCH_GROWTH_READERS" \
            >"$TMP/growth-readers.log" 2>&1 || { stop_server; cat "$TMP/growth-readers.log" "$TMP/growth-build-server.log" >&2; die "growth-readers failed"; }
        stop_server
        dotnet "$BENCH_DLL" growth-fixture --connection "$(gcs growth_build)" --users "$BENCH_GROWTH_USERS" --transfers "$BENCH_GROWTH_TRANSFERS" \
            --reader-transfers "$BENCH_GROWTH_READER_TRANSFERS" --data-keys "$GROWTH_DATA_KEYS" --index-key "$GROWTH_INDEX_KEY" \
            >"$TMP/growth-fixture.log" 2>&1 || { cat "$TMP/growth-fixture.log" >&2; die "growth-fixture failed"; }
        grep -v '^SUMMARY' "$TMP/growth-fixture.log" >&2 || true
        gsql "CHECKPOINT" >/dev/null
        gsql "ALTER DATABASE growth_build RENAME TO $GROWTH_TEMPLATE" >/dev/null
        echo $(( $(date +%s) - build_start )) >"$BENCH_GROWTH_DIR/$GROWTH_TEMPLATE.build-seconds"
        echo "$GROWTH_MIGRATIONS" >"$BENCH_GROWTH_DIR/$GROWTH_TEMPLATE.migrations"
    else
        log "growth fixture: reusing $GROWTH_TEMPLATE in $BENCH_GROWTH_DIR"
    fi
    GROWTH_BUILD_S=$(cat "$BENCH_GROWTH_DIR/$GROWTH_TEMPLATE.build-seconds" 2>/dev/null || echo "?")

    # The empty database, on the same cluster, just before: the secure transfer load alone.
    if [ "$BENCH_GROWTH_HISTORY_ONLY" != 1 ]; then
    gsql "DROP DATABASE IF EXISTS growth_empty" >/dev/null
    gsql "CREATE DATABASE growth_empty" >/dev/null
    gsql "CHECKPOINT" >/dev/null
    log "growth: secure transfers on an empty database (load average $(load))"
    start_growth_server growth-empty growth_empty
    rc=0
    dotnet "$BENCH_DLL" http --url "$GROWTH_URL" --clients "$HTTP_CLIENTS" --users "$HTTP_USERS" --duration-s "$HTTP_DURATION_S" \
        --warmup-s "$BENCH_WARMUP_S" --seed "$BENCH_SEED" --operator-key bench-operator-key --secure >"$TMP/growth-empty.log" 2>&1 || rc=$?
    stop_server
    sed -n '/^http /,$p' "$TMP/growth-empty.log" | grep -v '^SUMMARY' >&2 || true
    GROWTH_EMPTY_LINE=$(grep '^SUMMARY' "$TMP/growth-empty.log" || true)
    if [ "$rc" -ne 0 ] || [ "$(summary_field "$GROWTH_EMPTY_LINE" ok)" != true ]; then cat "$TMP/growth-empty.log" >&2; FAILED+=(growth-empty); fi
    gsql "DROP DATABASE growth_empty" >/dev/null
    fi

    # The grown database: a copy of the template; transfers alone first (the rate), then again with the history readers.
    gsql "DROP DATABASE IF EXISTS growth_run" >/dev/null
    copy_start=$(date +%s.%N)
    gsql "CREATE DATABASE growth_run TEMPLATE $GROWTH_TEMPLATE" >/dev/null
    GROWTH_COPY_S=$(awk -v a="$copy_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    gsql "CHECKPOINT" >/dev/null
    log "growth: secure transfers on the grown database (copied in ${GROWTH_COPY_S}s; load average $(load))"
    start_growth_server growth-grown growth_run
    if [ "$BENCH_GROWTH_HISTORY_ONLY" != 1 ]; then
    rc=0
    dotnet "$BENCH_DLL" http --url "$GROWTH_URL" --clients "$HTTP_CLIENTS" --users "$HTTP_USERS" --duration-s "$HTTP_DURATION_S" \
        --warmup-s "$BENCH_WARMUP_S" --seed "$BENCH_SEED" --operator-key bench-operator-key --secure >"$TMP/growth-grown.log" 2>&1 || rc=$?
    sed -n '/^http /,$p' "$TMP/growth-grown.log" | grep -v '^SUMMARY' >&2 || true
    GROWTH_GROWN_LINE=$(grep '^SUMMARY' "$TMP/growth-grown.log" || true)
    if [ "$rc" -ne 0 ] || [ "$(summary_field "$GROWTH_GROWN_LINE" ok)" != true ]; then cat "$TMP/growth-grown.log" "$TMP/growth-grown-server.log" >&2; FAILED+=(growth-grown); fi
    fi
    log "growth: secure transfers with 50 history readers on the grown database (load average $(load))"
    rc=0
    dotnet "$BENCH_DLL" growth --url "$GROWTH_URL" --clients "$HTTP_CLIENTS" --users "$HTTP_USERS" --duration-s "$HTTP_DURATION_S" \
        --warmup-s "$BENCH_WARMUP_S" --seed "$((BENCH_SEED + 1))" --operator-key bench-operator-key --secure --readers "$BENCH_GROWTH_READERS" \
        --history-clients 50 --reads-alone-s "$BENCH_GROWTH_READS_ALONE_S" --server-pid "$SERVER_PID" \
        --postgres-pid "$(head -1 "$BENCH_GROWTH_DIR/data/postmaster.pid")" >"$TMP/growth-history.log" 2>&1 || rc=$?
    stop_server
    sed -n '/^growth /,$p' "$TMP/growth-history.log" | grep -v '^SUMMARY' >&2 || true
    GROWTH_LINE=$(grep '^SUMMARY' "$TMP/growth-history.log" || true)
    if [ "$rc" -ne 0 ] || [ "$(summary_field "$GROWTH_LINE" ok)" != true ]; then cat "$TMP/growth-history.log" "$TMP/growth-grown-server.log" >&2; FAILED+=(growth-history); fi
    gsql "DROP DATABASE growth_run" >/dev/null
    R_growth_empty=$GROWTH_EMPTY_LINE R_growth_grown=$GROWTH_GROWN_LINE R_growth_history=$GROWTH_LINE
    if [ "$BENCH_GROWTH_HISTORY_ONLY" != 1 ]; then ROWS+=(growth-empty growth-grown growth-history); else ROWS+=(growth-history); fi
    as_pg "$PG_BINDIR/pg_ctl" stop -D "$BENCH_GROWTH_DIR/data" -m fast -w >/dev/null 2>&1 && GROWTH_PG_STARTED=0
fi
LOAD_END=$(load)

# --- table --------------------------------------------------------------------------------------
growth_ratio() { awk -v a="$(summary_field "${GROWTH_GROWN_LINE:-}" tps)" -v b="$(summary_field "${GROWTH_EMPTY_LINE:-}" tps)" 'BEGIN { if (a == "" || b == "" || b <= 0) print "n/a"; else printf "%.2f", a / b }'; }
ratio() { awk -v a="${1:-0}" -v b="$PGBENCH_TPS" 'BEGIN { if (a == "" || b <= 0) print "n/a"; else printf "%.2f", a / b }'; }
{
    echo
    echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); load average at start $LOAD_START, at end $LOAD_END"
    echo "Reference: pgbench tpcb-like scale $PGBENCH_SCALE, $PGBENCH_CLIENTS clients, ${PGBENCH_DURATION_S}s: $PGBENCH_TPS tps (latency average ${PGBENCH_LAT:-?} ms)"
    echo "Ledger: $BENCH_CLIENTS closed-loop clients, $BENCH_ACCOUNTS accounts, ${BENCH_DURATION_S}s after ${BENCH_WARMUP_S}s warm-up; HTTP: $HTTP_CLIENTS clients, $HTTP_USERS users, ${HTTP_DURATION_S}s"
    echo "Executor: BatchSizeMax=${BENCH_BATCH_SIZE_MAX:-default} BatchWindowUs=${BENCH_BATCH_WINDOW_US:-default}${BENCH_PG_OPTIONS:+; PostgreSQL options $BENCH_PG_OPTIONS}"
    echo "cpu us/transfer: this process + PostgreSQL processes, over the measured window (steadier than transfers/s on a shared machine)"
    echo
    printf '| %-15s | %12s | %8s | %8s | %10s | %15s | %10s | %5s |\n' workload transfers/s "p50 ms" "p99 ms" "mean batch" "cpu us/transfer" "vs pgbench" check
    printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' "-----------------" "-------------:" "---------:" "---------:" "-----------:" "----------------:" "-----------:" ":-----:"
    [ -n "$PGBENCH_TPS" ] && printf '| %-15s | %12s | %8s | %8s | %10s | %15s | %10s | %5s |\n' pgbench-tpcb "$(printf %.1f "$PGBENCH_TPS")" "" "" "" "" "1.00" ""
    for name in "${ROWS[@]}"; do
        var="R_${name//-/_}"
        s=${!var}
        ok=$(summary_field "$s" ok)
        cpu=""
        [ -n "$(summary_field "$s" cpu_us_bench)" ] && cpu="$(summary_field "$s" cpu_us_bench) + $(summary_field "$s" cpu_us_pg)"
        printf '| %-15s | %12s | %8s | %8s | %10s | %15s | %10s | %5s |\n' "$name" "$(summary_field "$s" tps)" "$(summary_field "$s" p50_ms)" \
            "$(summary_field "$s" p99_ms)" "$(summary_field "$s" mean_batch)" "$cpu" "$(ratio "$(summary_field "$s" tps)")" "${ok:-fail}"
    done
    echo
    if [ -n "$FLOOR_LINE" ]; then
        echo "HTTP floor (the same $HTTP_CLIENTS clients and request; the server only parses it and answers 201, no auth, no database):" \
            "$(summary_field "$FLOOR_LINE" tps) requests/s ($(ratio "$(summary_field "$FLOOR_LINE" tps)") × pgbench), p99 $(summary_field "$FLOOR_LINE" p99_ms) ms," \
            "CPU per request $(summary_field "$FLOOR_LINE" cpu_us_server) µs server + $(summary_field "$FLOOR_LINE" cpu_us_client) µs load generator"
        echo
    fi
    if [ -n "$GROWTH_LINE" ]; then
        echo "Growth ($BENCH_GROWTH_USERS users, $BENCH_GROWTH_TRANSFERS transfers; template $GROWTH_TEMPLATE in $BENCH_GROWTH_DIR, built in ${GROWTH_BUILD_S}s, copied in ${GROWTH_COPY_S}s):" \
            "secure transfers $(summary_field "$GROWTH_GROWN_LINE" tps)/s grown vs $(summary_field "$GROWTH_EMPTY_LINE" tps)/s empty, growth_ratio $(growth_ratio);" \
            "GET /v1/transactions by 50 readers while transfers run ($(summary_field "$GROWTH_LINE" tps)/s): first page p95 $(summary_field "$GROWTH_LINE" history_first_p95_ms) ms," \
            "deep page p95 $(summary_field "$GROWTH_LINE" history_deep_p95_ms) ms, both p95 $(summary_field "$GROWTH_LINE" history_p95_ms) ms ($(summary_field "$GROWTH_LINE" history_reads) reads," \
            "$(summary_field "$GROWTH_LINE" history_pages_per_s) pages/s); reads alone $(summary_field "$GROWTH_LINE" alone_pages_per_s) pages/s, p95" \
            "$(summary_field "$GROWTH_LINE" alone_p95_ms) ms, CPU per page $(summary_field "$GROWTH_LINE" cpu_us_server_per_page) µs server +" \
            "$(summary_field "$GROWTH_LINE" cpu_us_pg_per_page) µs PostgreSQL"
        echo
    fi
    if [ -n "$CAMPAIGN_LINE" ]; then
        echo "Campaign ($(summary_field "$CAMPAIGN_LINE" campaign_people) people, $(summary_field "$CAMPAIGN_LINE" recipients) recipients):" \
            "set-based send $(summary_field "$CAMPAIGN_LINE" recipients_per_s) recipients/s (send alone $(summary_field "$CAMPAIGN_LINE" send_only_per_s)/s)," \
            "raw COPY $(summary_field "$CAMPAIGN_LINE" copy_rows_per_s) rows/s, ratio $(summary_field "$CAMPAIGN_LINE" ratio)"
        echo
    fi
}

if [ "${#FAILED[@]}" -gt 0 ]; then
    log "FAILED checks: ${FAILED[*]}"
fi
# The issue's fields first, in its order (http_pg_ratio and http_sqlite_ratio with the secure path on), then the others.
echo "RESULT pg_uniform_ratio=$(ratio "$(summary_field "${R_pg_uniform:-}" tps)") pg_hot_ratio=$(ratio "$(summary_field "${R_pg_hot:-}" tps)")\
 http_pg_ratio=$(ratio "$(summary_field "${R_http_pg_secure:-}" tps)") http_sqlite_ratio=$(ratio "$(summary_field "${R_http_sqlite_secure:-}" tps)")\
 http_pg_coupon_ratio=$(ratio "$(summary_field "${R_http_pg_coupon:-}" tps)") growth_ratio=$(growth_ratio)\
 history_p95_ms=$(summary_field "${GROWTH_LINE:-}" history_p95_ms) p99_ms=$(summary_field "${R_pg_uniform:-}" p99_ms)\
 http_pg_p99_ms=$(summary_field "${R_http_pg_secure:-}" p99_ms) sqlite_uniform_ratio=$(ratio "$(summary_field "${R_sqlite_uniform:-}" tps)")\
 http_pg_payment_ratio=$(ratio "$(summary_field "${R_http_pg_pay:-}" tps)") http_pg_relaxed_ratio=$(ratio "$(summary_field "${R_http_postgres:-}" tps)")\
 http_sqlite_relaxed_ratio=$(ratio "$(summary_field "${R_http_sqlite:-}" tps)") http_floor_ratio=$(ratio "$(summary_field "${FLOOR_LINE:-}" tps)")"
[ "${#FAILED[@]}" -eq 0 ]
