#!/usr/bin/env bash
# Two builds side by side: alternating runs of the bench's `http` workload against the server of another checkout (A,
# built in Release) and of this one (B), on one throwaway PostgreSQL cluster, printing rate, p99 and CPU per operation of
# the server process and of all PostgreSQL processes (counted after setup). For "what did this change do" on a noisy machine.
# usage: bench/ab.sh OTHER_CHECKOUT [rounds] [scenario] [secure|relaxed]
#   e.g. git worktree add /tmp/base <commit> && (cd /tmp/base && dotnet build src/Qianbao.Server -c Release) && bench/ab.sh /tmp/base 2
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/bench/pairs-lib.sh"
OTHER=$(cd "$1" && pwd); ROUNDS=${2:-2}; SCENARIO=${3:-transfer}; SECURE=$([ "${4:-secure}" = secure ] && echo 1 || echo 0)
pairs_start
for round in $(seq "$ROUNDS"); do
  pairs_one A $OTHER/src/Qianbao.Server/bin/Release/net10.0/Qianbao.Server.dll pg $SECURE $SCENARIO
  pairs_one B $REPO/src/Qianbao.Server/bin/Release/net10.0/Qianbao.Server.dll pg $SECURE $SCENARIO
done
pairs_stop
