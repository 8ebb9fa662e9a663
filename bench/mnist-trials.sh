#!/usr/bin/env bash
# Settings trials for soft-target on MNIST at a small budget (2,000 images + 500 held back,
# 100 steps): each line one full `distill` run; results appended to
# bench/results/mnist-trials.json (name, student accuracy, hold-out agreement, mean top-1, seconds, args).
#   bash bench/mnist-trials.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/results/mnist-trials.json
tmp=$(mktemp -d)
rows=()
run() {
  local name=$1; shift
  local start; start=$(date +%s)
  node bin/distill-studio.js distill --teacher builtin:mnist-lenet5 --student lenet5-half --samples 2000 --holdout 500 \
    --shard-size 625 --test-data mnist-digits --quiet --run "$tmp/$name" "$@" > /dev/null
  rows+=("$(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1] + "/result.json", "utf8"));
    console.log(JSON.stringify({ name: process.argv[2], studentAccuracy: r.evaluation.student.accuracy,
      teacherAccuracy: r.evaluation.teacher.accuracy, holdoutAgreement: r.holdoutAgreement,
      meanTop1: r.transferSet.meanTop1, seconds: Number(process.argv[3]), backend: r.backend,
      args: process.argv.slice(4) }));' "$tmp/$name" "$name" "$(( $(date +%s) - start ))" "$@")")
}
run paper-e40 --set iterations=100 --epochs 40
run paper-e120 --set iterations=100 --epochs 120
run priors-e120 --set iterations=100 --set tv=50 --set l2=5 --set jitter=2 --epochs 120
run lr0.01-e120 --set iterations=100 --set learningRate=0.01 --epochs 120
run priors-lr0.01-e120 --set iterations=100 --set tv=50 --set l2=5 --set jitter=2 --set learningRate=0.01 --epochs 120
run zskd-e120 --method zskd --set iterations=100 --epochs 120
run priors-noaugment-e120 --set iterations=100 --set tv=50 --set l2=5 --set jitter=2 --epochs 120 --augment off
(IFS=,; echo "[${rows[*]}]") | npx prettier --parser json > "$out"
rm -rf "$tmp"
echo "wrote $out"
