#!/usr/bin/env bash
# Where one HTTP run's wall time goes on PostgreSQL: runs the bench's `http` workload once against SERVER_DLL on a throwaway
# cluster (bench/pairs-lib.sh, so PAIRS_TRADES and PAIRS_STATEMENTS apply) and, inside the measured window only, samples every
# ~0.1 s the wait events of pg_stat_activity and the ungranted pg_locks; with WAITS_EXPLAIN_MS=N also logs (auto_explain) the
# plan of every statement slower than N ms into $WAITS_OUT/explain.log. Prints the samples by wait, by waiting statement, the
# statements seen on CPU, and the lock types waited for.
# usage: bench/pairs-waits.sh SERVER_DLL [scenario] [secure(1)|relaxed(0)]
#   e.g. PAIRS_TRADES=4000 PAIRS_STATEMENTS=30 WAITS_EXPLAIN_MS=4 bench/pairs-waits.sh src/Qianbao.Server/bin/Release/net10.0/Qianbao.Server.dll marketing-payment
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/bench/pairs-lib.sh"
SERVER=$(realpath "$1"); SCENARIO=${2:-marketing-payment}; SECURE=${3:-1}
OUT=${WAITS_OUT:-$(mktemp -d /tmp/waits-XXXX)}; mkdir -p "$OUT"
pairs_start
if [ -n "${WAITS_EXPLAIN_MS:-}" ]; then
  printf "session_preload_libraries='auto_explain'\nauto_explain.log_min_duration=%s\n" "$WAITS_EXPLAIN_MS" >> $T/data/postgresql.conf
  pairs_runpg "$BIN/pg_ctl reload -D $T/data" >/dev/null
fi
sql() { $BIN/psql -h 127.0.0.1 -p $PORT -U postgres -qAt -F '|' postgres -c "$1" 2>/dev/null; }
( until grep -q 'setup took' $T/W.log 2>/dev/null; do sleep 0.2; done; sleep 2.5 # past the warm-up
  while ! grep -q 'tps=' $T/W.log 2>/dev/null; do
    sql "SELECT coalesce(wait_event_type, 'CPU'), coalesce(wait_event, '-'), state, left(regexp_replace(query, '\s+', ' ', 'g'), 110)
         FROM pg_stat_activity WHERE backend_type = 'client backend' AND state <> 'idle' AND pid <> pg_backend_pid()" >> $OUT/samples.txt
    sql "SELECT locktype, mode FROM pg_locks WHERE NOT granted" >> $OUT/locks.txt
    sleep 0.1
  done ) &
pairs_one W "$SERVER" pg "$SECURE" "$SCENARIO"
wait
touch $OUT/samples.txt $OUT/locks.txt
echo "== samples by wait (type|event|state) =="; cut -d'|' -f1-3 $OUT/samples.txt | sort | uniq -c | sort -rn | head -15
echo "== waiting statements =="; awk -F'|' '$1 != "CPU"' $OUT/samples.txt | cut -d'|' -f1,2,4 | sort | uniq -c | sort -rn | head -15
echo "== statements on CPU =="; awk -F'|' '$1 == "CPU" && $3 == "active"' $OUT/samples.txt | cut -d'|' -f4 | sort | uniq -c | sort -rn | head -10
echo "== locks not granted =="; sort $OUT/locks.txt | uniq -c | sort -rn | head
[ -n "${WAITS_EXPLAIN_MS:-}" ] && cp $T/pg.log $OUT/explain.log && echo "plans: $OUT/explain.log"
pairs_stop
