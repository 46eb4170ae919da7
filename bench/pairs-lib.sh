# Shared by bench/secure-pairs.sh and bench/ab.sh (sourced): a throwaway PostgreSQL cluster and one measured HTTP run.
# After `pairs_start`, `pairs_one NAME SERVER_DLL ENGINE(pg|sqlite) SECURE(0|1) [SCENARIO]` starts that server, runs the
# bench's `http` workload against it and prints rate, p99 and the CPU per operation of the server process and of all
# PostgreSQL processes, counted after the workload's setup (created operations include the warm-up, as the CPU window does).
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
BENCH_DLL=${BENCH_DLL:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/bench/Qianbao.Bench/bin/Release/net10.0/Qianbao.Bench.dll}
pairs_runpg() { su postgres -c "$*" 2>/dev/null || bash -c "$*"; }
pairs_start() {
  T=$(mktemp -d /tmp/pair-XXXX); chown postgres: $T 2>/dev/null
  pairs_runpg "$BIN/initdb -D $T/data --auth=trust -U postgres --no-sync" >/dev/null
  printf "listen_addresses='127.0.0.1'\nunix_socket_directories='$T'\nshared_buffers=256MB\nmax_connections=300\n" >> $T/data/postgresql.conf
  PORT=$((30000 + RANDOM % 20000))
  pairs_runpg "$BIN/pg_ctl start -D $T/data -l $T/pg.log -w -o '-p $PORT'" >/dev/null
}
pairs_stop() { pairs_runpg "$BIN/pg_ctl stop -D $T/data -m fast" >/dev/null; [ -n "${PAIRS_KEEP:-}" ] && echo "logs kept in $T" || rm -rf "$T"; }
pairs_ticks() { cat /proc/$1/stat 2>/dev/null | awk '{print $14+$15}'; }
# Only this cluster's processes (the postmaster and its children): other engineers' clusters on the machine are not ours to count.
pairs_pgticks() { local s=0 t pm; pm=$(head -1 $T/data/postmaster.pid); for p in $pm $(pgrep -P $pm); do t=$(pairs_ticks $p); s=$((s + ${t:-0})); done; echo $s; }
pairs_one() {
  local name=$1 server=$2 engine=$3 secure=$4 scenario=${5:-transfer} db=qb_$RANDOM$RANDOM port=$((20000 + RANDOM % 9000)) relaxed=true flag=""
  [ "$secure" = 1 ] && relaxed=false && flag=--secure
  mkdir -p $T/$db
  local cs=""
  if [ "$engine" = pg ]; then
    $BIN/psql -h 127.0.0.1 -p $PORT -U postgres -qAtc "CREATE DATABASE $db" postgres
    $BIN/psql -h 127.0.0.1 -p $PORT -U postgres -qAtc "CHECKPOINT" postgres
    cs="Host=127.0.0.1;Port=$PORT;Username=postgres;Database=$db"
  fi
  ( export Qianbao__DataDir=$T/$db Qianbao__Auth__PasswordIterations=1000 Qianbao__Sandbox__ConfirmDelayMs=10 Qianbao__OperatorKey=k Logging__LogLevel__Default=Warning \
      Qianbao__Security__Relaxed=$relaxed Qianbao__Security__NewDeviceStepUpHours=0 Qianbao__Security__LoginsPerAddressPerMinuteMax=100000
    [ -n "$cs" ] && export ConnectionStrings__Postgres="$cs"
    exec dotnet $server --urls http://127.0.0.1:$port ) > $T/$name.server.log 2>&1 &
  local spid=$!
  dotnet $BENCH_DLL http --url http://127.0.0.1:$port --clients 64 --users 200 --duration-s 12 --warmup-s 2 --seed 1 --operator-key k $flag \
      --scenario $scenario > $T/$name.log 2>&1 &
  local bpid=$!
  until grep -q "setup took" $T/$name.log 2>/dev/null || ! kill -0 $bpid 2>/dev/null; do sleep 0.2; done
  local s0=$(pairs_ticks $spid) p0=$(pairs_pgticks)
  wait $bpid
  local s1=$(pairs_ticks $spid) p1=$(pairs_pgticks)
  kill $spid; wait $spid 2>/dev/null
  local created=$(sed -n 's/.*answers *\([0-9]*\) created.*/\1/p' $T/$name.log) tps=$(sed -n 's/.* tps=\([0-9.]*\).*/\1/p' $T/$name.log)
  local p99=$(sed -n 's/.* p99_ms=\([0-9.]*\).*/\1/p' $T/$name.log) hz=$(getconf CLK_TCK)
  created=${created:-0}
  echo "$name tps=$tps p99_ms=$p99 created=$created cpu_us_server=$(( (s1-s0)*1000000/hz/(created>0?created:1) )) cpu_us_pg=$(( (p1-p0)*1000000/hz/(created>0?created:1) )) load=$(cut -d' ' -f1 /proc/loadavg)"
}
