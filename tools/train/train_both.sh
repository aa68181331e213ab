#!/bin/sh
# Train deepseekmoe-tiny (leader) and gshard-tiny (follower, lockstep) concurrently,
# one CPU thread each, stopping by themselves within BUDGET seconds.
# usage: tools/train/train_both.sh [preset=full] [budget_seconds=2400] [extra train.py args...]
set -e
cd "$(dirname "$0")/../.."
PRESET=${1:-full}; BUDGET=${2:-2400}
[ $# -ge 2 ] && shift 2 || shift $#
PY=${PYTHON:-/usr/bin/python3}
OUT=tools/train/out
mkdir -p $OUT
[ -f $OUT/data.npz ] || $PY tools/train/train.py --prepare
rm -f $OUT/progress-*-$PRESET.json
nohup $PY tools/train/train.py --model deepseekmoe-tiny --preset $PRESET --time-budget $BUDGET "$@" \
  > $OUT/deepseekmoe-tiny-$PRESET.log 2>&1 &
sleep 2
nohup $PY tools/train/train.py --model gshard-tiny --preset $PRESET --leader deepseekmoe-tiny \
  --time-budget $BUDGET "$@" > $OUT/gshard-tiny-$PRESET.log 2>&1 &
echo "logs: $OUT/deepseekmoe-tiny-$PRESET.log $OUT/gshard-tiny-$PRESET.log"
