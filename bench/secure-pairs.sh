#!/usr/bin/env bash
# What account security costs per transfer, or marketing per payment: alternating runs of the bench's `http` workload on
# one throwaway PostgreSQL cluster (and SQLite), printing rate, p99 and the CPU time of the server process and of all
# PostgreSQL processes per operation made after setup. Build Release first (bench/run.sh does).
# usage: bench/secure-pairs.sh [rounds] [security|marketing]
#   security (default): relaxed vs secure transfers, on PostgreSQL and SQLite
#   marketing: what marketing costs per payment: secure QR payments on PostgreSQL (the merchant precreates each trade
#   through the gateway) without and with a coupon applied and points redeemed on every payment
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/bench/pairs-lib.sh"
ROUNDS=${1:-2}
MODE=${2:-security}
SERVER=$REPO/src/Qianbao.Server/bin/Release/net10.0/Qianbao.Server.dll
pairs_start
for round in $(seq "$ROUNDS"); do
  if [ "$MODE" = marketing ]; then
    pairs_one pg-payment $SERVER pg 1 payment; pairs_one pg-marketing $SERVER pg 1 marketing-payment
  else
    pairs_one pg-relaxed $SERVER pg 0; pairs_one pg-secure $SERVER pg 1
    pairs_one sqlite-relaxed $SERVER sqlite 0; pairs_one sqlite-secure $SERVER sqlite 1
  fi
done
pairs_stop
