#!/usr/bin/env bash
# Settings trials at a small budget (2,000 synthesized images + 500 held back): each trial is one
# full `distill` run; its row (student accuracy, hold-out agreement, mean top-1, seconds, args)
# replaces the row of the same name in bench/results/trials-<dataset>.json.
#   bash bench/trials.sh mnist NAME [distill args...]   one trial (from the paper's settings, shifts, no mixup)
#   bash bench/trials.sh all                            every trial listed in bench/trials.txt
# Fashion-MNIST trials need the teacher of `make fashion-teacher` (runs/fashion-lenet5).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = all ]; then
  grep -v '^\s*\(#\|$\)' bench/trials.txt | while read -r line; do eval "bash bench/trials.sh $line"; done
  exit 0
fi
dataset=$1 name=$2; shift 2
case $dataset in
  mnist) teacher=builtin:mnist-lenet5 test=mnist-digits ;;
  fashion) teacher=runs/fashion-lenet5 test=fashion-mnist ;;
  *) echo "unknown dataset $dataset (mnist or fashion)" >&2; exit 2 ;;
esac
samples=${SAMPLES:-2000}
run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT
start=$(date +%s)
node bin/distill-studio.js distill --teacher "$teacher" --student lenet5-half --samples "$samples" --holdout 500 \
  --shard-size $(((samples + 500) / 4)) --test-data "$test" --quiet --run "$run" \
  --settings paper --augment on --relabel off --mixup 0 --fade 0 "$@" > /dev/null
node - "$run" "$dataset" "$name" "$(($(date +%s) - start))" "$samples" "$@" <<'JS'
const fs = require('fs');
const [run, dataset, name, seconds, samples, ...args] = process.argv.slice(2);
const r = JSON.parse(fs.readFileSync(`${run}/result.json`, 'utf8'));
const perEpoch = r.distillation.metricPerEpoch;
const row = {
  name,
  studentAccuracy: r.evaluation.student.accuracy,
  teacherAccuracy: r.evaluation.teacher.accuracy,
  bestEpochAccuracy: Math.max(...perEpoch),
  holdoutAgreement: r.holdoutAgreement,
  meanTop1: r.transferSet.meanTop1,
  samples: Number(samples),
  seconds: Number(seconds),
  backend: r.backend,
  args,
};
const out = `bench/results/trials-${dataset}.json`;
const rows = fs.existsSync(out) ? JSON.parse(fs.readFileSync(out, 'utf8')).filter((x) => x.name !== name) : [];
rows.push(row);
fs.writeFileSync(out, JSON.stringify(rows, null, 2) + '\n');
console.log(JSON.stringify(row));
JS
