# Shared by bench/secure-pairs.sh and bench/ab.sh (sourced): a throwaway PostgreSQL cluster and one measured HTTP run.
# After `pairs_start`, `pairs_one NAME SERVER_DLL ENGINE(pg|sqlite) SECURE(0|1) [SCENARIO]` starts that server, runs the
# bench's `http` workload against it and prints rate, p99 and the CPU per operation of the server process and of all
# PostgreSQL processes, counted after the workload's setup (created operations include the warm-up, as the CPU window does).
# PAIRS_TRADES=N (payment scenarios): trades precreated before the window (default (warm-up + window) × 800).
# PAIRS_STATEMENTS=N (PostgreSQL runs): pg_stat_statements is loaded, reset after the setup, and each run also prints its N
# statements of most PostgreSQL time (calls and µs per operation), and the total of statements per operation
# (PAIRS_STATEMENTS_ORDER=calls: the most called instead).
# PAIRS_WARMUP_S (2) and PAIRS_DURATION_S (12): the bench's warm-up and window. PAIRS_AFTER_WARMUP=1: the CPU window (and the
# pg_stat_statements reset) starts after the warm-up, and the figures are divided by the window's operations only (a fresh
# server tiers up its JIT for many seconds: with a long warm-up this reads the steady state). PostgreSQL runs also print
# wal_bytes_per_op: the WAL the CPU window wrote, per operation (steady under load, unlike CPU).
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
BENCH_DLL=${BENCH_DLL:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/bench/Qianbao.Bench/bin/Release/net10.0/Qianbao.Bench.dll}
pairs_runpg() { su postgres -c "$*" 2>/dev/null || bash -c "$*"; }
pairs_start() {
  T=$(mktemp -d /tmp/pair-XXXX); chown postgres: $T 2>/dev/null
  pairs_runpg "$BIN/initdb -D $T/data --auth=trust -U postgres --no-sync" >/dev/null
  printf "listen_addresses='127.0.0.1'\nunix_socket_directories='$T'\nshared_buffers=256MB\nmax_connections=300\n" >> $T/data/postgresql.conf
  [ -n "${PAIRS_STATEMENTS:-}" ] && printf "shared_preload_libraries='pg_stat_statements'\npg_stat_statements.track='all'\npg_stat_statements.max=5000\n" >> $T/data/postgresql.conf
  PORT=$((30000 + RANDOM % 20000))
  pairs_runpg "$BIN/pg_ctl start -D $T/data -l $T/pg.log -w -o '-p $PORT'" >/dev/null
}
pairs_stop() { pairs_runpg "$BIN/pg_ctl stop -D $T/data -m fast" >/dev/null; [ -n "${PAIRS_KEEP:-}" ] && echo "logs kept in $T" || rm -rf "$T"; }
pairs_ticks() { cat /proc/$1/stat 2>/dev/null | awk '{print $14+$15}'; }
# This cluster's processes only (other clusters on the machine are not ours to count): the postmaster with the children it
# has reaped (cutime, cstime: backends of closed connections) and its live children.
pairs_pgticks() {
  local pm=$(head -1 $T/data/postmaster.pid) s t
  s=$(awk '{print $14+$15+$16+$17}' /proc/$pm/stat)
  for p in $(pgrep -P $pm); do t=$(pairs_ticks $p); s=$((s + ${t:-0})); done; echo $s
}
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
      Qianbao__Security__Relaxed=$relaxed Qianbao__Security__NewDeviceStepUpHours=0 Qianbao__Security__LoginsPerAddressPerMinuteMax=100000 \
      Qianbao__Gateway__RequestsPerSecondMax=1000000 Qianbao__Gateway__RequestsPerSecondPerAddressMax=1000000
    [ -n "$cs" ] && export ConnectionStrings__Postgres="$cs"
    exec dotnet $server --urls http://127.0.0.1:$port ) > $T/$name.server.log 2>&1 &
  local spid=$!
  dotnet $BENCH_DLL http --url http://127.0.0.1:$port --clients 64 --users 200 --duration-s ${PAIRS_DURATION_S:-12} --warmup-s ${PAIRS_WARMUP_S:-2} --seed 1 --operator-key k $flag \
      --scenario $scenario --payment-trades ${PAIRS_TRADES:-0} > $T/$name.log 2>&1 &
  local bpid=$!
  until grep -q "setup took" $T/$name.log 2>/dev/null || ! kill -0 $bpid 2>/dev/null; do sleep 0.2; done
  # The setup filled the tables from empty in about a minute, before autovacuum's first pass: ANALYZE, as pgbench -i does after
  # its load, so the window plans with statistics as a live database has them (session 13: without, the coupons read was planned
  # on default selectivities and took 4-5x as long).
  [ "$engine" = pg ] && $BIN/psql -h 127.0.0.1 -p $PORT -U postgres -qAtc "ANALYZE" $db
  [ -n "${PAIRS_AFTER_WARMUP:-}" ] && sleep ${PAIRS_WARMUP_S:-2}
  if [ -n "${PAIRS_STATEMENTS:-}" ] && [ "$engine" = pg ]; then
    $BIN/psql -h 127.0.0.1 -p $PORT -U postgres -qAtc "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset()" $db >/dev/null
  fi
  [ "$engine" = pg ] && $BIN/psql -h 127.0.0.1 -p $PORT -U postgres -qAtc "CREATE TABLE pairs_handled AS SELECT name, handled_count FROM event_subscriptions" $db
  local s0=$(pairs_ticks $spid) p0=$(pairs_pgticks) tpid="" wal0="" w0=$(date +%s%N)
  # WAL bytes per operation (PostgreSQL): what the window's writes cost the log, full-page images after the run's CHECKPOINT
  # included; unlike CPU it hardly moves with the neighbours' load, so it shows a smaller write (fewer index entries) plainly.
  [ "$engine" = pg ] && wal0=$($BIN/psql -h 127.0.0.1 -p $PORT -U postgres -qAtc "SELECT pg_current_wal_lsn()" postgres)
  # PAIRS_TRACE=S: a CPU sampling of the server (dotnet-trace collect-linux --profile cpu-sampling) for S seconds from the
  # warm-up's second second, kept as $T/NAME.nettrace (PAIRS_KEEP=1 keeps it; `dotnet-trace report FILE topN --inclusive`).
  if [ -n "${PAIRS_TRACE:-}" ]; then
    ( sleep 1; ${DOTNET_TRACE:-/root/.dotnet/tools/dotnet-trace} collect-linux -p $spid --duration 00:00:00:$(printf %02d ${PAIRS_TRACE}) \
        --profile cpu-sampling -o $T/$name.nettrace > $T/$name.trace.log 2>&1 ) &
    tpid=$!
  fi
  wait $bpid
  # On PostgreSQL the CPU window also holds the event subscribers catching up with what the window wrote (at most 120 s),
  # so work a lagging subscriber defers is counted, not left out (PAIRS_NO_DRAIN=1: stop counting when the load ends).
  # Waited for: the subscribers that handled anything in the window (one that only passes over events saves its
  # checkpoint lazily, at its next read).
  local drained=""
  if [ "$engine" = pg ] && [ -z "${PAIRS_NO_DRAIN:-}" ]; then
    local last=$($BIN/psql -h 127.0.0.1 -p $PORT -U postgres -qAtc "SELECT tx_id || ',' || seq FROM domain_events ORDER BY tx_id DESC, seq DESC LIMIT 1" $db)
    local t0=$SECONDS behind=1
    while [ -n "$last" ] && [ $((SECONDS - t0)) -lt 120 ]; do
      behind=$($BIN/psql -h 127.0.0.1 -p $PORT -U postgres -qAtc "SELECT count(*) FROM event_subscriptions s JOIN pairs_handled h USING (name) WHERE s.handled_count > h.handled_count AND (s.tx_id, s.seq) < ($last)" $db)
      [ "$behind" = 0 ] && break
      sleep 0.5
    done
    drained=" drain_s=$((SECONDS - t0)) behind=$behind"
  fi
  local s1=$(pairs_ticks $spid) p1=$(pairs_pgticks) wal=""
  [ -n "$wal0" ] && wal=$($BIN/psql -h 127.0.0.1 -p $PORT -U postgres -qAtc "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$wal0')::bigint" postgres)
  # PAIRS_WAL_TABLES=N: the window's WAL by the relation each record's first block belongs to (pg_walinspect), the N largest,
  # bytes per operation (record and full-page-image bytes): which table or index writes cost the log.
  if [ -n "${PAIRS_WAL_TABLES:-}" ] && [ -n "$wal0" ]; then
    local ops=$(sed -n 's/.*(\([0-9]*\) answered 201 in.*/\1/p' $T/$name.log)
    $BIN/psql -h 127.0.0.1 -p $PORT -U postgres -qAt -F ' | ' $db -c "CREATE EXTENSION IF NOT EXISTS pg_walinspect" -c "
      SELECT round(sum(record_length)::numeric / ${ops:-1}) AS bytes_per_op, round(sum(fpi_length)::numeric / ${ops:-1}) AS fpi_bytes_per_op,
             round(count(*)::numeric / ${ops:-1}, 2) AS records_per_op, coalesce(c.relname, r.rfn::text, '(no block)') AS relation
        FROM (SELECT (regexp_match(block_ref, 'rel [0-9]+/[0-9]+/([0-9]+)'))[1]::oid AS rfn, record_length, fpi_length
                FROM pg_get_wal_records_info('$wal0', pg_current_wal_lsn())) r
        LEFT JOIN pg_class c ON c.relfilenode = r.rfn
       GROUP BY 4 ORDER BY 1 DESC LIMIT ${PAIRS_WAL_TABLES}" 2>&1 | sed "s/^/  $name wal: /"
    # PAIRS_WAL_RECORDS=relation: that relation's WAL by record type (e.g. HOT_UPDATE against PRUNE).
    [ -n "${PAIRS_WAL_RECORDS:-}" ] && $BIN/psql -h 127.0.0.1 -p $PORT -U postgres -qAt -F ' | ' $db -c "
      SELECT round(sum(record_length)::numeric / ${ops:-1}) AS bytes_per_op, round(count(*)::numeric / ${ops:-1}, 2) AS records_per_op,
             resource_manager || '/' || record_type
        FROM pg_get_wal_records_info('$wal0', pg_current_wal_lsn()) r
        JOIN pg_class c ON c.relfilenode = (regexp_match(r.block_ref, 'rel [0-9]+/[0-9]+/([0-9]+)'))[1]::oid
       WHERE c.relname = '${PAIRS_WAL_RECORDS}' GROUP BY 3 ORDER BY 1 DESC" 2>&1 | sed "s/^/  $name wal ${PAIRS_WAL_RECORDS}: /"
  fi
  [ -n "$tpid" ] && wait $tpid
  kill $spid; wait $spid 2>/dev/null
  local created=$(sed -n 's/.*answers *\([0-9]*\) created.*/\1/p' $T/$name.log) tps=$(sed -n 's/.* tps=\([0-9.]*\).*/\1/p' $T/$name.log)
  local p99=$(sed -n 's/.* p99_ms=\([0-9.]*\).*/\1/p' $T/$name.log) hz=$(getconf CLK_TCK)
  created=${created:-0}
  [ -n "${PAIRS_AFTER_WARMUP:-}" ] && created=$(sed -n 's/.*(\([0-9]*\) answered 201 in.*/\1/p' $T/$name.log)
  if [ -n "${PAIRS_STATEMENTS:-}" ] && [ "$engine" = pg ]; then
    $BIN/psql -h 127.0.0.1 -p $PORT -U postgres -qAt -F ' | ' $db -c "
      SELECT round(sum(calls)::numeric / $created, 2) || ' statements/op', round(sum(total_exec_time)::numeric * 1000 / $created) || ' us/op executing'
        FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '$db';
      SELECT round(calls::numeric / $created, 3) AS calls_per_op, round(total_exec_time::numeric * 1000 / $created, 1) AS us_per_op,
             left(regexp_replace(query, '\s+', ' ', 'g'), 140)
        FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '$db'
        ORDER BY ${PAIRS_STATEMENTS_ORDER:-total_exec_time} DESC LIMIT ${PAIRS_STATEMENTS}" > $T/$name.statements 2>&1
    sed "s/^/  $name: /" $T/$name.statements
  fi
  # Each run's database goes once it is read: left in the cluster, autovacuum worked through it during the next run and was
  # counted in that run's PostgreSQL CPU, so the second run of every pair read worse whichever build it was (session 12).
  [ "$engine" = pg ] && $BIN/psql -h 127.0.0.1 -p $PORT -U postgres -qAtc "DROP DATABASE $db WITH (FORCE)" postgres
  # A reading that needs more than the machine's cores over the counted wall time took CPU from outside it: say so.
  local wall_ms=$(( ($(date +%s%N) - w0) / 1000000 ))
  [ $(( (s1-s0+p1-p0)*1000/hz )) -gt $(( $(nproc) * wall_ms )) ] && echo "$name: INVALID reading, CPU above $(nproc) cores over ${wall_ms} ms" >&2
  echo "$name tps=$tps p99_ms=$p99 created=$created cpu_us_server=$(( (s1-s0)*1000000/hz/(created>0?created:1) )) cpu_us_pg=$(( (p1-p0)*1000000/hz/(created>0?created:1) )) ${wal:+wal_bytes_per_op=$((wal/(created>0?created:1))) }load=$(cut -d' ' -f1 /proc/loadavg)$drained"
}
