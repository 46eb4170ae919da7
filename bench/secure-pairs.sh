#!/usr/bin/env bash
# What account security costs per transfer: alternating relaxed and secure HTTP runs (the bench's `http` workload, with
# and without --secure) on one throwaway PostgreSQL cluster and on SQLite, printing transfers/s and the CPU time of the
# server process and of all PostgreSQL processes per transfer made after setup. Build Release first (bench/run.sh does).
# usage: bench/secure-pairs.sh [rounds] [security|marketing]
#   security (default): relaxed vs secure transfers, on PostgreSQL and SQLite
#   marketing: what marketing costs per payment: secure QR payments on PostgreSQL (the merchant precreates each trade
#   through the gateway) without and with a coupon applied and points redeemed on every payment
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${1:-2}
MODE=${2:-security}
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
T=$(mktemp -d /tmp/pair-XXXX); chown postgres: $T 2>/dev/null
runpg() { su postgres -c "$*" 2>/dev/null || bash -c "$*"; }
runpg "$BIN/initdb -D $T/data --auth=trust -U postgres --no-sync" >/dev/null
printf "listen_addresses='127.0.0.1'\nunix_socket_directories='$T'\nshared_buffers=256MB\nmax_connections=300\n" >> $T/data/postgresql.conf
PORT=$((30000 + RANDOM % 20000))
runpg "$BIN/pg_ctl start -D $T/data -l $T/pg.log -w -o '-p $PORT'" >/dev/null
SERVER=$REPO/src/Qianbao.Server/bin/Release/net10.0/Qianbao.Server.dll
BENCH=$REPO/bench/Qianbao.Bench/bin/Release/net10.0/Qianbao.Bench.dll
ticks() { cat /proc/$1/stat 2>/dev/null | awk '{print $14+$15}'; }
pgticks() { local s=0 t; for p in $(pgrep -x postgres); do t=$(ticks $p); s=$((s + ${t:-0})); done; echo $s; }
one() { # name engine secure [scenario]
  local name=$1 engine=$2 secure=$3 scenario=${4:-transfer} db=qb_$RANDOM$RANDOM port=$((20000 + RANDOM % 9000)) relaxed=true flag=""
  [ $secure = 1 ] && relaxed=false && flag=--secure
  mkdir -p $T/$db
  local cs=""; [ $engine = pg ] && { $BIN/psql -h 127.0.0.1 -p $PORT -U postgres -qAtc "CREATE DATABASE $db" postgres; cs="Host=127.0.0.1;Port=$PORT;Username=postgres;Database=$db"; $BIN/psql -h 127.0.0.1 -p $PORT -U postgres -qAtc "CHECKPOINT" postgres; }
  ( export Qianbao__DataDir=$T/$db Qianbao__Auth__PasswordIterations=1000 Qianbao__Sandbox__ConfirmDelayMs=10 Qianbao__OperatorKey=k Logging__LogLevel__Default=Warning \
      Qianbao__Security__Relaxed=$relaxed Qianbao__Security__NewDeviceStepUpHours=0 Qianbao__Security__LoginsPerAddressPerMinuteMax=100000
    [ -n "$cs" ] && export ConnectionStrings__Postgres="$cs"
    exec dotnet $SERVER --urls http://127.0.0.1:$port ) > $T/$name.server.log 2>&1 &
  local spid=$!
  dotnet $BENCH http --url http://127.0.0.1:$port --clients 64 --users 200 --duration-s 12 --warmup-s 2 --seed 1 --operator-key k $flag --scenario $scenario > $T/$name.log 2>&1 &
  local bpid=$!
  until grep -q "setup took" $T/$name.log 2>/dev/null || ! kill -0 $bpid 2>/dev/null; do sleep 0.2; done
  local s0=$(ticks $spid) p0=$(pgticks)
  wait $bpid
  local s1=$(ticks $spid) p1=$(pgticks)
  kill $spid; wait $spid 2>/dev/null
  local created=$(sed -n 's/.*answers *\([0-9]*\) created.*/\1/p' $T/$name.log)
  local tps=$(sed -n 's/.* tps=\([0-9.]*\).*/\1/p' $T/$name.log)
  local p99=$(sed -n 's/.* p99_ms=\([0-9.]*\).*/\1/p' $T/$name.log)
  local hz=$(getconf CLK_TCK)
  echo "$name tps=$tps p99_ms=$p99 created=$created cpu_us_server=$(( (s1-s0)*1000000/hz/(created>0?created:1) )) cpu_us_pg=$(( (p1-p0)*1000000/hz/(created>0?created:1) ))"
}
for round in $(seq "$ROUNDS"); do
  if [ "$MODE" = marketing ]; then
    one pg-payment pg 1 payment; one pg-marketing pg 1 marketing-payment
  else
    one pg-relaxed pg 0; one pg-secure pg 1
    one sqlite-relaxed sqlite 0; one sqlite-secure sqlite 1
  fi
done
runpg "$BIN/pg_ctl stop -D $T/data -m fast" >/dev/null
