#!/usr/bin/env bash
# GET /v1/transactions of two builds side by side on the kept growth fixture (issue 13): alternating, for each build a fresh copy
# of the grown template, its server, then `Qianbao.Bench growth` with the readers alone first (pages/s, p95, CPU per page of the
# server process and of the growth cluster only) and then with the secure transfer load running (p95, pages/s).
# usage: bench/history-ab.sh OTHER_CHECKOUT [rounds]   (OTHER_CHECKOUT: a checkout whose server is built in Release; "-" runs
#        only this one). Needs the fixture built by `BENCH_ONLY=growth bench/run.sh` with the same BENCH_GROWTH_* settings.
#   e.g. git worktree add /tmp/base <commit> && (cd /tmp/base && dotnet build src/Qianbao.Server -c Release) && bench/history-ab.sh /tmp/base 2
# Settings: BENCH_GROWTH_DIR, BENCH_GROWTH_USERS, BENCH_GROWTH_TRANSFERS, BENCH_GROWTH_READERS, BENCH_GROWTH_READER_TRANSFERS
# (as for run.sh), HISTORY_ALONE_S (10), HISTORY_WARMUP_S (2: the readers alone before their window; longer leaves the new
# server's tier-up JIT out), HISTORY_LOAD_S (10), HTTP_CLIENTS (64), HTTP_USERS (200), HISTORY_AB_TEMPLATE_A (A's
# grown template when it should not be B's, e.g. the one without B's new migration; default: B's).
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
OTHER=${1:--}; ROUNDS=${2:-2}
BENCH_GROWTH_DIR=${BENCH_GROWTH_DIR:-/tmp/qianbao-growth}
BENCH_GROWTH_USERS=${BENCH_GROWTH_USERS:-1000000}
BENCH_GROWTH_TRANSFERS=${BENCH_GROWTH_TRANSFERS:-10000000}
BENCH_GROWTH_READERS=${BENCH_GROWTH_READERS:-50}
BENCH_GROWTH_READER_TRANSFERS=${BENCH_GROWTH_READER_TRANSFERS:-100000}
HISTORY_ALONE_S=${HISTORY_ALONE_S:-10}; HISTORY_WARMUP_S=${HISTORY_WARMUP_S:-2}; HISTORY_LOAD_S=${HISTORY_LOAD_S:-10}; HTTP_CLIENTS=${HTTP_CLIENTS:-64}; HTTP_USERS=${HTTP_USERS:-200}
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
BENCH_DLL=$REPO/bench/Qianbao.Bench/bin/Release/net10.0/Qianbao.Bench.dll
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
die() { echo "history-ab: $*" >&2; exit 1; }
[ -f "$BENCH_GROWTH_DIR/keys" ] && [ -f "$BENCH_GROWTH_DIR/data/PG_VERSION" ] || die "no growth fixture in $BENCH_GROWTH_DIR (run BENCH_ONLY=growth bench/run.sh first)"
read -r DATA_KEYS INDEX_KEY <"$BENCH_GROWTH_DIR/keys"
# The template as bench/run.sh names it: growth_<fixture code, sizes and keys>_<this checkout's PostgreSQL migrations>.
FIXTURE_KEY=$({ cat bench/Qianbao.Bench/GrowthFixture.cs
               echo "$BENCH_GROWTH_USERS $BENCH_GROWTH_TRANSFERS $BENCH_GROWTH_READERS $BENCH_GROWTH_READER_TRANSFERS"
               cat "$BENCH_GROWTH_DIR/keys"; } | sha256sum | cut -c1-12)
TEMPLATE="growth_${FIXTURE_KEY}_$(cd src/Qianbao.Server/Storage/Migrations/Postgres && sha256sum -- *.sql | sort | sha256sum | cut -c1-8)"
# A's server on a template of its own (HISTORY_AB_TEMPLATE_A, e.g. the one before a new index), else on B's.
TEMPLATE_A=${HISTORY_AB_TEMPLATE_A:-$TEMPLATE}
PORT=$((30000 + RANDOM % 20000))
T=$(mktemp -d /tmp/history-ab-XXXX); chmod 755 "$T"
as_pg "$BIN/pg_ctl" start -D "$BENCH_GROWTH_DIR/data" -l "$BENCH_GROWTH_DIR/server.log" -w -t 300 -o "-p $PORT" >/dev/null || die "the growth cluster did not start"
trap 'as_pg "$BIN/pg_ctl" stop -D "$BENCH_GROWTH_DIR/data" -m fast -w >/dev/null 2>&1; rm -rf "$T"' EXIT
gsql() { "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAtc "$1"; }
for t in "$TEMPLATE" "$TEMPLATE_A"; do
    [ -n "$(gsql "SELECT 1 FROM pg_database WHERE datname = '$t'")" ] || die "template $t not in $BENCH_GROWTH_DIR (other migrations or sizes? run BENCH_ONLY=growth bench/run.sh)"
done
POSTMASTER=$(head -1 "$BENCH_GROWTH_DIR/data/postmaster.pid")
one() {
    local name=$1 dll=$2 template=$3 port=$((20000 + RANDOM % 9000))
    gsql "DROP DATABASE IF EXISTS history_ab" >/dev/null; gsql "CREATE DATABASE history_ab TEMPLATE $template" >/dev/null; gsql "CHECKPOINT" >/dev/null
    mkdir -p "$T/$name"
    ( export Qianbao__DataDir="$T/$name" Qianbao__Auth__PasswordIterations=1000 Qianbao__Sandbox__ConfirmDelayMs=10 \
          Qianbao__OperatorKey=bench-operator-key Logging__LogLevel__Default=Warning Qianbao__Security__Relaxed=false \
          Qianbao__Security__NewDeviceStepUpHours=0 Qianbao__Security__LoginsPerAddressPerMinuteMax=100000 \
          Qianbao__Security__DataKeys="$DATA_KEYS" Qianbao__Security__IndexKey="$INDEX_KEY" \
          ConnectionStrings__Postgres="Host=127.0.0.1;Port=$PORT;Username=postgres;Database=history_ab"
      exec dotnet "$dll" --urls "http://127.0.0.1:$port" ) >"$T/$name.server.log" 2>&1 &
    local spid=$!
    dotnet "$BENCH_DLL" growth --url "http://127.0.0.1:$port" --clients "$HTTP_CLIENTS" --users "$HTTP_USERS" --duration-s "$HISTORY_LOAD_S" \
        --warmup-s 2 --seed 2 --operator-key bench-operator-key --secure --readers "$BENCH_GROWTH_READERS" --history-clients 50 \
        --reads-alone-s "$HISTORY_ALONE_S" --reads-warmup-s "$HISTORY_WARMUP_S" --server-pid "$spid" --postgres-pid "$POSTMASTER" >"$T/$name.log" 2>&1
    kill "$spid"; wait "$spid" 2>/dev/null
    local s; s=$(grep '^SUMMARY' "$T/$name.log") || { cat "$T/$name.log" "$T/$name.server.log" >&2; die "$name: no SUMMARY"; }
    f() { echo "$s" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
    printf '%-5s alone: %7s pages/s p95 %7s ms cpu/page %6s us server + %6s us pg | with transfers: history p95 %7s ms %7s pages/s, %6s transfers/s | ok=%s load=%s\n' \
        "$name" "$(f alone_pages_per_s)" "$(f alone_p95_ms)" "$(f cpu_us_server_per_page)" "$(f cpu_us_pg_per_page)" "$(f history_p95_ms)" \
        "$(f history_pages_per_s)" "$(f tps)" "$(f ok)" "$(cut -d' ' -f1 /proc/loadavg)"
    gsql "DROP DATABASE history_ab" >/dev/null
}
for round in $(seq "$ROUNDS"); do
    [ "$OTHER" != - ] && one A "$(cd "$OTHER" && pwd)/src/Qianbao.Server/bin/Release/net10.0/Qianbao.Server.dll" "$TEMPLATE_A"
    one B "$REPO/src/Qianbao.Server/bin/Release/net10.0/Qianbao.Server.dll" "$TEMPLATE"
done
