#!/usr/bin/env bash
# Runs the accuracy-at-equal-wall-time benchmark (bench/budget.ts) for every line of a queue
# file, two at a time (one per core; PARALLEL=1 for runs that use the whole machine), skipping
# runs already saved in bench/results/budget-runs/.
# A line is the arguments of one bench/budget.ts run, or "make TARGET"; # starts a comment.
#   bash bench/budget-queue.sh bench/budget-queue.txt
#   PARALLEL=1 bash bench/budget-queue.sh bench/budget-queue-whole.txt
# While the file runs/bench-budget/PAUSE exists, no new run starts (the one under way finishes): the
# machine is free for work that would otherwise slow the runs, and the queue goes on once it is removed.
set -euo pipefail
cd "$(dirname "$0")/.."
queue=${1:-bench/budget-queue.txt}
mkdir -p runs/bench-budget
grep -vE '^\s*(#|$)' "$queue" | while read -r line; do printf '%s\0' "$line"; done |
  xargs -0 -P "${PARALLEL:-2}" -I{} bash -c '
    line="{}"
    while [ -e runs/bench-budget/PAUSE ]; do sleep 10; done
    log="runs/bench-budget/$(printf "%s" "$line" | tr -c "a-zA-Z0-9=.,-" "_").log"
    case "$line" in
      make\ *) $line >"$log" 2>&1 ;;
      *) node --import tsx bench/budget.ts $line >"$log" 2>&1 ;;
    esac
    echo "$(date +%H:%M:%S) $line: $(tail -n 2 "$log" | head -n 1)"
  '
for dataset in mnist fashion; do node --import tsx bench/budget.ts --dataset "$dataset" --gather; done
