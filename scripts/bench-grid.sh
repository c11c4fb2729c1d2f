#!/bin/sh
# The step-count × guidance grid of docs/benchmark.md "Grid" on the bundled model, in one command:
# T ∈ {50, 30, 20, 100} at guidance 5 and guidance ∈ {3, 7, 1} at T = 50; 24 held-out prompts × seed 0
# (24 prompt/seed pairs) per setting; every policy read at 30/36/42/50/60/70 % of T.
# Per step count: a SenCache profile (8 samples, with the propagation measurement), MagCache ratios
# (8 samples) and static-optimal masks (searched on 4 runs of docs/bench/tune-8.txt, seeds 10-13,
# disjoint from the evaluation); the guidance settings use the T = 50 files. At T = 20, 30, 100 budget
# mode also runs with the T = 50 profile carried over (the transfer table).
# Usage: sh scripts/bench-grid.sh [OUT_DIR [ONLY]]   then   npx tsx scripts/bench-grid-table.ts OUT_DIR
# ONLY (optional) restricts the run to some settings, e.g. "T30 T20" or "g3 g7" (keys T<T> for the
# step counts at guidance 5, g<g> for the guidance scales at T = 50, X<T> for only the transfer
# runs of T = 20, 30, 100, N30 for the nearest-timestep carry-over at T = 30, guidance 3); finished
# settings are skipped,
# so an interrupted grid resumes where it stopped.
# Settings run in this order (most informative first) and each writes OUT/T<T>-g<g>/ as it finishes.
set -e
cd "$(dirname "$0")/.."
out=${1:-out/bench-grid}
only=${2:-}
want() { [ -z "$only" ] || case " $only " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
m=models/tiny-wan-t2v
mkdir -p "$out"
[ -f dist/cli/main.js ] || npx tsc -p tsconfig.json
cli="node dist/cli/main.js"
# a loaded machine can take minutes to start a worker: allow 10 min per reply
to="--timeout 600"
start=$(date +%s)
log() { echo "[$(date -u +%H:%M:%S) +$(( $(date +%s) - start ))s] $*" | tee -a "$out/grid.log"; }

# calibration files for step count T (skipped when present)
calib() {
  T=$1
  [ -f "$out/profile-T$T.json" ] || {
    log "calibrate sencache T=$T"
    $cli calibrate $to --model $m --samples 8 --steps "$T" --concurrency 8 --out "$out/profile-T$T.json" \
      > "$out/profile-T$T.log" 2>&1
    tail -3 "$out/profile-T$T.log" | tee -a "$out/grid.log"
  }
  [ -f "$out/magcache-T$T.json" ] || {
    log "calibrate magcache T=$T"
    $cli calibrate $to --kind magcache --model $m --samples 8 --steps "$T" --out "$out/magcache-T$T.json" \
      > "$out/magcache-T$T.log" 2>&1
  }
  pts=$(node -e "const T=$T;console.log([0.3,0.36,0.42,0.5,0.6,0.7].map(p=>Math.round(p*T)).join(','))")
  [ -f "$out/static-T$T.json" ] || {
    log "search static-optimal T=$T nfe=$pts"
    $cli calibrate $to --kind static-optimal --model $m --samples 4 --steps "$T" --nfe "$pts" --max-candidates 8 \
      --propagation-probes 8 --concurrency 8 --prompts docs/bench/tune-8.txt --seed 10 --out "$out/static-T$T.json" \
      > "$out/static-T$T.log" 2>&1
    tail -2 "$out/static-T$T.log" | tee -a "$out/grid.log"
  }
}

# one grid setting: T, guidance, the step count whose calibration files it uses
bench() {
  T=$1; g=$2; c=$3
  dir="$out/T$T-g$g"
  [ -f "$dir/results.json" ] && return 0
  pts=$(node -e "const T=$T;console.log([0.3,0.36,0.42,0.5,0.6,0.7].map(p=>Math.round(p*T)).join(','))")
  # anchor thresholds scaled by 50/T (their indicators accumulate per-step changes that shrink like 1/T)
  sc() { node -e "const s=50/$T;console.log('$1'.split(',').map(v=>+(v*s).toPrecision(3)).join(','))"; }
  w2=$(node -e "console.log(Math.round(0.2*$T))"); w4=$(node -e "console.log(Math.round(0.4*$T))")
  # placement=propagation (measured below the default at T = 50, guidance 5) is compared there only,
  # which keeps the rest of the grid inside a working session on 2 cores
  prop=""; [ "$T-$g" = "50-5" ] && prop="--sweep sencache:nfe=$pts,placement=propagation"
  log "bench T=$T guidance=$g"
  nice -n 10 $cli bench $to --model $m --prompts docs/bench/heldout-24.txt --seeds 0 --steps "$T" --guidance "$g" \
    --profile "$out/profile-T$c.json" \
    --sweep "sencache:nfe=$pts" \
    $prop \
    --sweep "static-optimal:nfe=$pts,masks=$out/static-T$c.json" \
    --sweep "teacache:delta=$(sc 0.3,0.2,0.15,0.1,0.06)" \
    --sweep "magcache:delta=$(sc 0.003,0.006,0.01,0.1),k=4,ratiosFile=$out/magcache-T$c.json" \
    --policy "magcache:delta=$(sc 0.3),k=8,ratiosFile=$out/magcache-T$c.json" \
    --sweep "easycache:tau=$(sc 0.02,0.03,0.05,0.08,0.15)" \
    --sweep "fixed-interval:k=2..4" --policy "fixed-interval:warmup=$w2,k=2" --policy "fixed-interval:warmup=$w4,k=2" \
    --at-nfe "$pts" --concurrency 8 --timing-clips 0 --lpips off --out "$dir" > "$dir.log" 2>&1
  log "done T=$T guidance=$g"
}

# budget mode at T with the T = 50 profile carried over (budget mode's resample interpolates by
# timestep) and with the profile recalibrated at T, at 36 % and 42 % of T (the transfer table)
transfer() {
  T=$1
  dir="$out/T$T-g5-transfer"
  [ -f "$dir/results.json" ] && return 0
  pts=$(node -e "const T=$T;console.log([0.36,0.42].map(p=>Math.round(p*T)).join(','))")
  log "transfer T=$T"
  nice -n 10 $cli bench $to --model $m --prompts docs/bench/heldout-24.txt --seeds 0 --steps "$T" --guidance 5 \
    --profile "$out/profile-T$T.json" --sweep "sencache:nfe=$pts" \
    --sweep "sencache:nfe=$pts,profile=$out/profile-T50.json,resample=true" \
    --at-nfe "$pts" --concurrency 8 --timing-clips 0 --lpips off --out "$dir" > "$dir.log" 2>&1
}

# the issue's carry-over case (T = 30, guidance 3): the T = 50 profile carried over by nearest timestep
# (the old resampling, written by scripts/profile-carry.ts) and by interpolation, against the T = 30 one
nearest() {
  dir="$out/T30-g3-nearest"
  [ -f "$dir/results.json" ] && return 0
  npx tsx scripts/profile-carry.ts "$out/profile-T50.json" "$out/profile-T30.json" "$out/profile-T50-nearest-T30.json" nearest
  log "nearest-timestep transfer T=30 guidance=3"
  nice -n 10 $cli bench $to --model $m --prompts docs/bench/heldout-24.txt --seeds 0 --steps 30 --guidance 3 \
    --profile "$out/profile-T30.json" --sweep "sencache:nfe=9,11,13,15" \
    --sweep "sencache:nfe=9,11,13,15,profile=$out/profile-T50-nearest-T30.json" \
    --sweep "sencache:nfe=9,11,13,15,profile=$out/profile-T50.json,resample=true" \
    --at-nfe 9,11,13,15 --concurrency 8 --timing-clips 0 --lpips off --out "$dir" > "$dir.log" 2>&1
}

if want T50 || want g3 || want g7 || want g1; then calib 50; fi
if want T50; then bench 50 5 50; fi
if want T30 || want X30; then calib 30; transfer 30; fi
if want T30; then bench 30 5 30; fi
if want T20 || want X20; then calib 20; transfer 20; fi
if want T20; then bench 20 5 20; fi
if want g3; then bench 50 3 50; fi
if want g7; then bench 50 7 50; fi
if want g1; then bench 50 1 50; fi
if want N30; then calib 50; calib 30; nearest; fi
if want T100 || want X100; then calib 100; transfer 100; fi
if want T100; then bench 100 5 100; fi
log "grid done in $(( $(date +%s) - start )) s"
npx tsx scripts/bench-grid-table.ts "$out" > "$out/grid.md"
