#!/usr/bin/env bash
# Draws the 30-minute column of README's "Every method at equal wall time" as two charts
# (accuracy against wall time, one line per method), from bench/results/budget-<dataset>.json:
#   bash bench/budget-methods-chart.sh
# The runs drawn are the ones the table shows (bench/budget-table.ts --keys, a row's lowest seed); a
# row with no run yet is left out, and the chart says how many lines it has.
set -euo pipefail
cd "$(dirname "$0")/.."
chart() {
  local dataset=$1 out=$2 args=() key label
  shift 2
  while IFS=$'\t' read -r key label; do
    args+=(--run "$key" --label "$label")
  done < <(node --import tsx bench/budget-table.ts --dataset "$dataset" "$@" --keys 1800)
  node --import tsx bench/budget-chart.ts --dataset "$dataset" --out "$out" "${args[@]}"
}
chart mnist bench/results/budget-methods-mnist.svg
chart fashion bench/results/budget-methods-fashion.svg --tag t9146
