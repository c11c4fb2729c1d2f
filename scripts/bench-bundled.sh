#!/bin/sh
# The quality-vs-speed benchmark of docs/benchmark.md on the bundled model: 24 held-out prompts × seeds
# 0,1 = 48 prompt/seed pairs, T = 50, every policy swept over NFE ≈ 15–35 (30–70 % of T).
# Usage: sh scripts/bench-bundled.sh [OUT_DIR]   (about 20–25 minutes on 2 CPU cores)
set -e
cd "$(dirname "$0")/.."
out=${1:-out/bench-bundled}
m=models/tiny-wan-t2v
sh scripts/setup.sh
npx tsc -p tsconfig.json
node dist/cli/main.js bench --model "$m" --prompts docs/bench/heldout-24.txt --seeds 0,1 --steps 50 \
  --profile "$m/sensitivity.json" \
  --sweep "sencache-budget:nfe=15,18,21,25,30,35,n=3" \
  --sweep "sencache:eps=0.1,0.15,0.2,0.3,0.5,1,n=3" \
  --sweep "teacache:delta=0.05,0.08,0.1,0.15,0.2,0.3,0.4" \
  --sweep "magcache:delta=0.005,0.01,0.02,0.03,0.05,0.1,k=4,ratiosFile=$m/magcache-ratios.json" \
  --sweep "easycache:tau=0.02,0.03,0.05,0.08,0.1,0.15,0.2" \
  --sweep "fixed-interval:k=2..4" \
  --sweep "fixed-interval:warmup=4,12,k=2" \
  --sweep "fixed-interval:warmup=5,k=3" \
  --at-nfe 15,18,21,25,30,35 --concurrency 4 --timing-clips 4 --repeats 3 --out "$out"
