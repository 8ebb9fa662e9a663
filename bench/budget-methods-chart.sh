#!/usr/bin/env bash
# Draws the 30-minute column of README's "Every method at equal wall time" as two charts
# (accuracy against wall time, one line per method), from bench/results/budget-<dataset>.json:
#   bash bench/budget-methods-chart.sh
# A run not measured yet is left out, and the chart says how many lines it has.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds='images800,avg0.9995,workers2,pipelined,tau4,shift-relabel'
soft="$rounds,dark=500,coarse=4,pixelStats=400,sigma=0.5"
chart() {
  local dataset=$1 out=$2
  shift 2
  local args=()
  while [ $# -gt 0 ]; do
    if [ -e "bench/results/budget-runs/$1.json" ]; then args+=(--run "$1" --label "$2"); fi
    shift 2
  done
  node --import tsx bench/budget-chart.ts --dataset "$dataset" --out "$out" "${args[@]}"
}
chart mnist bench/results/budget-methods-mnist.svg \
  "mnist-recommended,$soft,s33-1800s-seed1" 'soft-target in rounds, disagreement 30 (the default)' \
  "mnist-recommended,js0,$soft-1800s-seed1" 'soft-target in rounds, no disagreement term' \
  "mnist-zskd-recommended,$rounds-1800s-seed1" 'zskd in rounds' \
  "mnist-noise-recommended,$rounds-1800s-seed1" 'noise in rounds' \
  'mnist-paper,workers2,samples24000,epochs420-1800s-seed1' "the paper's two stages, 24000 images x 420 epochs"
chart fashion bench/results/budget-methods-fashion.svg \
  "fashion-recommended,$soft,t9146-1800s-seed1" 'soft-target in rounds, disagreement 30 (the default)' \
  "fashion-recommended,js0,$soft,t9146-1800s-seed1" 'soft-target in rounds, no disagreement term' \
  "fashion-zskd-recommended,$rounds,t9146-1800s-seed1" 'zskd in rounds' \
  "fashion-noise-recommended,$rounds,t9146-1800s-seed1" 'noise in rounds' \
  'fashion-paper,workers2,samples48000,epochs170,t9146-1800s-seed1' "the paper's two stages, 48000 images x 170 epochs"
