#!/usr/bin/env bash
# A training run killed by SIGKILL resumes from its last checkpoint: it loses at most the
# steps since that checkpoint, and ends exactly as a run that was never stopped (the same
# JSON figures, timings aside). Usage: checkpoint_resume.sh <bnn_regression> <work folder>
set -euo pipefail
exe=$1
dir=$2
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"
args=(--steps 4000 --checkpoint ck.vps --checkpoint-every 250)

"$exe" "${args[@]}" > first.log 2> /dev/null &
pid=$!
for _ in $(seq 1 1200); do
  [ "$(grep -c '^checkpoint at step' first.log || true)" -ge 3 ] && break
  sleep 0.05
done
kill -KILL "$pid"
wait "$pid" 2> /dev/null || true
if grep -q '"example"' first.log; then
  echo "the first run ended before it could be killed (make it longer)" >&2
  exit 1
fi
last=$(sed -n 's/^checkpoint at step \([0-9]*\)$/\1/p' first.log | tail -1)
echo "killed after the checkpoint at step $last"

"$exe" "${args[@]}" > resumed.log 2> /dev/null
at=$(sed -n 's/^resumed from .* at step \([0-9]*\)$/\1/p' resumed.log)
echo "resumed at step $at"
# A later checkpoint may have been written between the look at the log and the kill.
if [ -z "$at" ] || [ "$at" -lt "$last" ]; then
  echo "expected to resume at step $last or later" >&2
  exit 1
fi

"$exe" --steps 4000 > straight.log 2> /dev/null
figures() { grep '"example"' "$1" | sed -E 's/, "(seconds|us_per_step)": [0-9.]+//g'; }
if [ "$(figures resumed.log)" != "$(figures straight.log)" ]; then
  echo "the resumed run ends differently from the straight one:" >&2
  figures resumed.log >&2
  figures straight.log >&2
  exit 1
fi
echo "the resumed run ends as the straight run: $(figures resumed.log)"
