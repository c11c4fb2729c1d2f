#!/bin/sh
# GPU check (never in CI): per-step time of a transformer shaped like a released video model (random init, bf16),
# in-process in Python (the worker's own denoise path: adapter.denoise, both CFG branches in one forward) versus
# driven by the TS loop through the bridge (spawned worker over ipc, latents bf16 on the wire). The bridge must add
# < 1 % to the step time. Rows: Wan 2.1 T2V 1.3B (480p latent 16x21x60x104), CogVideoX-5b (16x13x60x90),
# LTX-Video 0.9 (128x16x16x24). One table; about 5-8 minutes on one large GPU (building the random weights included).
#
#   scripts/gpu-check.sh [--device cuda:0] [--steps 10] [--families "wan cogvideox ltx"]
#   scripts/gpu-check.sh --tiny --device cpu     # tiny stand-in shapes: checks the script itself on a CPU (seconds)
#   scripts/gpu-check.sh --families wan --cp 2   # also the context-parallel section on 2 GPUs (below)
#
# Context parallelism (docs/serving.md): with --cp N (default: 2 when torch sees >= 2 GPUs; 0 skips), the Wan
# model again, served by `torchrun --nproc_per_node N -m sencache_worker` (diffusers' Ulysses attention over the N
# ranks; rank 0 speaks ZeroMQ and broadcasts each request) and driven by the same unchanged TS loop: ms/step next
# to the one-GPU TS row, and the largest difference of the final latents (CPU / gloo in the tests: bit-identical;
# on GPUs the split changes kernel shapes, so expect bf16-level differences). `--tiny --device cpu --cp 2` runs
# the section on CPU with gloo.
#
# See docs/models.md ("GPU check"). It has not been run on a GPU in this repository's history yet.
set -e
cd "$(dirname "$0")/.."
DEVICE=cuda; STEPS=10; FAMILIES="wan cogvideox ltx"; TINY=""; THREADS=""; CP=""
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    --families) FAMILIES=$2; shift 2 ;;
    --tiny) TINY=--tiny; THREADS=1; shift ;;
    --cp) CP=$2; shift 2 ;;
    *) echo "unknown option $1 (use --device, --steps, --families, --tiny, --cp)" >&2; exit 2 ;;
  esac
done
PY=${SENCACHE_PYTHON:-.venv/bin/python}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sencache-gpu-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export HF_HUB_OFFLINE=1 PYTHONPATH="$PWD/py" OMP_WAIT_POLICY=PASSIVE
[ -n "$THREADS" ] && export OMP_NUM_THREADS=$THREADS
field() { "$PY" -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])[sys.argv[1]])" "$1" 2>/dev/null; }
ROWS=""
for f in $FAMILIES; do
  dir="$WORK/$f"
  built=$("$PY" scripts/gpu_check.py build --family "$f" --out "$dir" $TINY 2>/dev/null) || { ROWS="$ROWS|$f|build failed||||\n"; continue; }
  h=$(echo "$built" | field height); w=$(echo "$built" | field width); n=$(echo "$built" | field frames)
  label=$(echo "$built" | field label); latent=$(echo "$built" | field latent)
  py=$("$PY" scripts/gpu_check.py time --model "$dir" --device "$DEVICE" --dtype bfloat16 --steps "$STEPS" \
    --height "$h" --width "$w" --frames "$n" 2>"$WORK/$f.py.err" | field ms_per_step) || {
    ROWS="$ROWS|$label|$latent|python failed: $(tail -1 "$WORK/$f.py.err")|||\n"; continue
  }
  ts=$(node --import tsx scripts/gpu-check.ts --model "$dir" --device "$DEVICE" --dtype bfloat16 --steps "$STEPS" \
    2>"$WORK/$f.ts.err" | field ms_per_step) || { ROWS="$ROWS|$label|$latent|$py|TS failed: $(tail -1 "$WORK/$f.ts.err")||\n"; continue; }
  pct=$("$PY" -c "import sys; p,t=map(float,sys.argv[1:]); print(f'{100*(t-p)/p:+.2f} %')" "$py" "$ts")
  ok=$("$PY" -c "import sys; p,t=map(float,sys.argv[1:]); print('yes' if (t-p)/p < 0.01 else 'NO')" "$py" "$ts")
  ROWS="$ROWS|$label|$latent|$(printf %.1f "$py")|$(printf %.1f "$ts")|$pct|$ok|\n"
done
device_name="import torch,sys; d=sys.argv[1]; print(torch.cuda.get_device_name(torch.device(d)) \
if d.startswith('cuda') and torch.cuda.is_available() else 'cpu')"
echo "device: $DEVICE ($("$PY" -c "$device_name" "$DEVICE")), bf16 weights and wire, CFG (2 items per step)," \
  "median of $STEPS steps after 2 warm-up${TINY:+, TINY stand-in shapes (not a measurement)}"
echo
echo "| model | latent [C, F', H', W'] | Python in-process ms/step | TS loop via bridge ms/step | bridge adds | < 1 % |"
echo "|---|---|---|---|---|---|"
printf "%b" "$ROWS"

# ---- context parallelism: one sample across N ranks (needs N GPUs, or --device cpu for gloo) -------------------
if [ -z "$CP" ]; then
  CP=$("$PY" -c "import torch; print(2 if torch.cuda.device_count() >= 2 else 0)")
fi
if [ "$CP" -ge 2 ]; then
  dir="$WORK/wan"
  [ -f "$dir/model_index.json" ] || "$PY" scripts/gpu_check.py build --family wan --out "$dir" $TINY >/dev/null 2>&1
  ep="ipc://$WORK/cp.sock"
  cpdev=$(case "$DEVICE" in cpu) echo cpu ;; *) echo cuda ;; esac)
  "$(dirname "$PY")/torchrun" --standalone --nproc_per_node "$CP" -m sencache_worker --endpoint "$ep" --device "$cpdev" \
    ${THREADS:+--threads $THREADS} --batching request 2>"$WORK/cp.err" &
  cp_pid=$!
  one=$(node --import tsx scripts/gpu-check.ts --model "$dir" --device "$DEVICE" --dtype bfloat16 --steps "$STEPS" \
    --save "$WORK/one.f32" 2>>"$WORK/cp.err" | field ms_per_step) || one="failed"
  par=$(node --import tsx scripts/gpu-check.ts --model "$dir" --connect "$ep" --dtype bfloat16 --steps "$STEPS" \
    --save "$WORK/cp.f32" --shutdown 2>>"$WORK/cp.err" | field ms_per_step) || par="failed: $(tail -1 "$WORK/cp.err")"
  wait "$cp_pid" || echo "torchrun exited non-zero; its stderr: $(tail -3 "$WORK/cp.err")"
  diff=$("$PY" -c "import numpy as np,sys; a,b=(np.fromfile(f,np.float32) for f in sys.argv[1:]); \
print(f'{np.abs(a-b).max():.3g}' + (' (bit-identical)' if (a==b).all() else ''))" "$WORK/one.f32" "$WORK/cp.f32" 2>/dev/null) || diff="n/a"
  echo
  echo "context parallelism, Wan row, Ulysses over $CP ranks ($cpdev):"
  echo
  echo "| one $cpdev ms/step | $CP ranks ms/step | speed-up | max abs diff of the final latents |"
  echo "|---|---|---|---|"
  sp=$("$PY" -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.2f}x')" "$one" "$par" 2>/dev/null) || sp="n/a"
  r1() { "$PY" -c "import sys; print(f'{float(sys.argv[1]):.1f}')" "$1" 2>/dev/null || echo "$1"; }
  echo "| $(r1 "$one") | $(r1 "$par") | $sp | $diff |"
fi
