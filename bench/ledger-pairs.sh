#!/usr/bin/env bash
# The ledger executor alone (Qianbao.Bench ledger), two bench builds alternating in one sitting on one throwaway cluster:
#   bench/ledger-pairs.sh A_DIR B_DIR [rounds] [uniform|hot] [extra ledger args for A] [extra for B]
# A_DIR/B_DIR hold a built Qianbao.Bench.dll (copy bench/Qianbao.Bench/bin/Release/net10.0 of each build). Each run gets a
# fresh database and a CHECKPOINT; CPU per transfer is read from /proc over the measured window: the bench process and THIS
# cluster only (postmaster + reaped + live children), not every postgres on the machine. LP_ENV_A / LP_ENV_B: environment
# (NAME=value ...) for A's / B's runs only, e.g. LP_ENV_B=DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=70.
set -eu
A=$1; B=$2; ROUNDS=${3:-2}; WL=${4:-uniform}; XA=${5:-}; XB=${6:-}
DUR=${LP_DURATION_S:-12}; WARM=${LP_WARMUP_S:-2}; ACC=${BENCH_ACCOUNTS:-10000}
source "$(dirname "$0")/pairs-lib.sh"
pairs_start; trap pairs_stop EXIT
one() {
  local name=$1 dir=$2 extra=$3 envs=$4 db=qb_$RANDOM$RANDOM hz=$(getconf CLK_TCK)
  $BIN/psql -h 127.0.0.1 -p $PORT -U postgres -qAtc "CREATE DATABASE $db" postgres
  $BIN/psql -h 127.0.0.1 -p $PORT -U postgres -qAtc "CHECKPOINT" postgres
  env $envs dotnet $dir/Qianbao.Bench.dll ledger --engine postgres --connection "Host=127.0.0.1;Port=$PORT;Username=postgres;Database=$db${LP_PG_OPTIONS:-}" \
    --accounts $ACC --duration-s $DUR --warmup-s $WARM --workload $WL $extra > $T/$name.log 2>&1 &
  local bpid=$!
  until grep -q "setup took" $T/$name.log 2>/dev/null || ! kill -0 $bpid 2>/dev/null; do sleep 0.05; done
  sleep $WARM
  local s0=$(pairs_ticks $bpid) p0=$(pairs_pgticks) t0=$(date +%s.%N)
  sleep $(awk -v d=$DUR "BEGIN{print d-1}")
  local s1=$(pairs_ticks $bpid) p1=$(pairs_pgticks) t1=$(date +%s.%N)
  local rc=0; wait $bpid || rc=$?
  local tps=$(sed -n 's/.*SUMMARY.* tps=\([0-9.]*\).*/\1/p' $T/$name.log) mb=$(sed -n 's/.*SUMMARY.* mean_batch=\([0-9.]*\).*/\1/p' $T/$name.log)
  local p99=$(sed -n 's/.*SUMMARY.* p99_ms=\([0-9.]*\).*/\1/p' $T/$name.log)
  local n=$(awk -v t=${tps:-0} -v a=$t0 -v b=$t1 'BEGIN{printf "%d", t*(b-a)}')
  [ "$n" -gt 0 ] || n=1
  local cb=$(sed -n "s/.*SUMMARY.* cpu_us_bench=\([0-9.]*\).*/\1/p" $T/$name.log)
  echo "$name rc=$rc tps=$tps mean_batch=$mb p99_ms=$p99 cpu_us_bench=$cb cpu_us_pg=$(( (p1-p0)*1000000/hz/n )) load=$(cut -d' ' -f1 /proc/loadavg)"
  grep "per attempt ms" $T/$name.log | sed "s/^ */    $name /" || true
  [ $rc = 0 ] || { tail -5 $T/$name.log; }
  $BIN/psql -h 127.0.0.1 -p $PORT -U postgres -qAtc "DROP DATABASE $db" postgres
}
for r in $(seq $ROUNDS); do one A$r $A "$XA" "${LP_ENV_A:-}"; one B$r $B "$XB" "${LP_ENV_B:-}"; done
