#!/usr/bin/env bash
# Draws the 30-minute column of README's "Every method at equal wall time" as two charts, and
# Fashion-MNIST's 60-minute column as a third (accuracy against wall time, one line per method),
# from bench/results/budget-<dataset>.json:
#   bash bench/budget-methods-chart.sh
# The runs drawn are the ones the table shows (bench/budget-table.ts --keys, a row's lowest seed); a
# row with no run yet is left out, and the chart says how many lines it has.
set -euo pipefail
cd "$(dirname "$0")/.."
chart() {
  local dataset=$1 seconds=$2 out=$3 args=() key label
  shift 3
  while IFS=$'\t' read -r key label; do
    args+=(--run "$key" --label "$label")
  done < <(node --import tsx bench/budget-table.ts --dataset "$dataset" "$@" --keys "$seconds")
  node --import tsx bench/budget-chart.ts --dataset "$dataset" --out "$out" "${args[@]}"
}
chart mnist 1800 bench/results/budget-methods-mnist.svg
chart fashion 1800 bench/results/budget-methods-fashion.svg --tag t9146
chart fashion 3600 bench/results/budget-methods-fashion-60m.svg --tag t9146
