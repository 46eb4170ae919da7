#!/usr/bin/env bash
# Two builds side by side: alternating runs of the bench's `http` workload against the server of another checkout (A,
# built in Release) and of this one (B), on one throwaway PostgreSQL cluster, printing rate, p99 and CPU per operation of
# the server process and of all PostgreSQL processes (counted after setup). For "what did this change do" on a noisy machine.
# usage: bench/ab.sh OTHER_CHECKOUT [rounds] [scenario] [secure|relaxed]
#   e.g. git worktree add /tmp/base <commit> && (cd /tmp/base && dotnet build src/Qianbao.Server -c Release) && bench/ab.sh /tmp/base 2
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
OTHER=$(cd "$1" && pwd); ROUNDS=${2:-2}; SCENARIO=${3:-transfer}; SECURITY=${4:-secure}
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
T=$(mktemp -d /tmp/ab-XXXX); chown postgres: $T 2>/dev/null
runpg() { su postgres -c "$*" 2>/dev/null || bash -c "$*"; }
runpg "$BIN/initdb -D $T/data --auth=trust -U postgres --no-sync" >/dev/null
printf "listen_addresses='127.0.0.1'\nunix_socket_directories='$T'\nshared_buffers=256MB\nmax_connections=300\n" >> $T/data/postgresql.conf
PORT=$((30000 + RANDOM % 20000))
runpg "$BIN/pg_ctl start -D $T/data -l $T/pg.log -w -o '-p $PORT'" >/dev/null
BENCH=$REPO/bench/Qianbao.Bench/bin/Release/net10.0/Qianbao.Bench.dll
ticks() { cat /proc/$1/stat 2>/dev/null | awk '{print $14+$15}'; }
pgticks() { local s=0 t; for p in $(pgrep -x postgres); do t=$(ticks $p); s=$((s + ${t:-0})); done; echo $s; }
one() { # name server_dll
  local name=$1 server=$2 db=qb_$RANDOM$RANDOM port=$((20000 + RANDOM % 9000)) relaxed=true flag=""
  [ "$SECURITY" = secure ] && relaxed=false && flag=--secure
  mkdir -p $T/$db
  $BIN/psql -h 127.0.0.1 -p $PORT -U postgres -qAtc "CREATE DATABASE $db" postgres; $BIN/psql -h 127.0.0.1 -p $PORT -U postgres -qAtc "CHECKPOINT" postgres
  ( export Qianbao__DataDir=$T/$db Qianbao__Auth__PasswordIterations=1000 Qianbao__Sandbox__ConfirmDelayMs=10 Qianbao__OperatorKey=k Logging__LogLevel__Default=Warning \
      Qianbao__Security__Relaxed=$relaxed Qianbao__Security__NewDeviceStepUpHours=0 Qianbao__Security__LoginsPerAddressPerMinuteMax=100000 \
      ConnectionStrings__Postgres="Host=127.0.0.1;Port=$PORT;Username=postgres;Database=$db"
    exec dotnet $server --urls http://127.0.0.1:$port ) > $T/$name.server.log 2>&1 &
  local spid=$!
  dotnet $BENCH http --url http://127.0.0.1:$port --clients 64 --users 200 --duration-s 12 --warmup-s 2 --seed 1 --operator-key k $flag --scenario $SCENARIO > $T/$name.log 2>&1 &
  local bpid=$!
  until grep -q "setup took" $T/$name.log 2>/dev/null || ! kill -0 $bpid 2>/dev/null; do sleep 0.2; done
  local s0=$(ticks $spid) p0=$(pgticks)
  wait $bpid
  local s1=$(ticks $spid) p1=$(pgticks)
  kill $spid; wait $spid 2>/dev/null
  local created=$(sed -n 's/.*answers *\([0-9]*\) created.*/\1/p' $T/$name.log) tps=$(sed -n 's/.* tps=\([0-9.]*\).*/\1/p' $T/$name.log)
  local p99=$(sed -n 's/.* p99_ms=\([0-9.]*\).*/\1/p' $T/$name.log) hz=$(getconf CLK_TCK)
  echo "$name tps=$tps p99_ms=$p99 created=$created cpu_us_server=$(( (s1-s0)*1000000/hz/(created>0?created:1) )) cpu_us_pg=$(( (p1-p0)*1000000/hz/(created>0?created:1) )) load=$(cut -d' ' -f1 /proc/loadavg)"
}
for round in $(seq "$ROUNDS"); do
  one A $OTHER/src/Qianbao.Server/bin/Release/net10.0/Qianbao.Server.dll
  one B $REPO/src/Qianbao.Server/bin/Release/net10.0/Qianbao.Server.dll
done
runpg "$BIN/pg_ctl stop -D $T/data -m fast" >/dev/null
rm -rf $T
