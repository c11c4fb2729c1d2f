#!/usr/bin/env python
"""Write the scheduler golden vectors from real diffusers (the side that owns the truth).

Usage:
    .venv/bin/python scripts/gen-scheduler-goldens.py           # (re)write test/goldens/schedulers/*.json
    .venv/bin/python scripts/gen-scheduler-goldens.py --check   # exit 1 when a file would change

Every case builds a diffusers scheduler from a config, sets its timesteps, and runs the sampling
loop with a deterministic fake model that test/schedulers/golden.ts implements identically:

    latent0[i]  = f32(sin(0.731 * i + 0.2) * 1.1) * init_noise_sigma     (shape 2x3x4x5)
    model(x, t) = f32(sin(1.3 * x + 0.0021 * t + 0.37 * (i % 5)) - 0.4 * x)   (float64 maths)
    noise_k[i]  = f32(sqrt(2) * sin(1.9 * i + 2.9 * k + 0.5))              (k = k-th noise draw)

Noise for stochastic schedulers is fed through `randn_tensor` (patched), so the TS test replays the
same arrays through a NoiseSource. A case may list `reuse` step indices: at those steps the model is
not called and the previous output is fed again (what a cache policy does).

Stored per case: the full config, `timesteps`, `sigmas` (as diffusers holds them), per step the
latent at `track` indices and sum(|x|), and the full final latent. Float32 values are written with
9 significant digits (exact round trip), schedule values with 17.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch

import diffusers
from diffusers import CogVideoXDDIMScheduler, CogVideoXDPMScheduler
from diffusers.schedulers import (
    scheduling_ddim_cogvideox,
    scheduling_dpm_cogvideox,
    scheduling_dpmsolver_multistep,
    scheduling_flow_match_euler_discrete,
)

from scheduler_golden_cases import FILES, HAVE_SCIPY, ltx_sigmas  # scripts/ is the script's own folder on sys.path

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "test" / "goldens" / "schedulers"
SHAPE = (2, 3, 4, 5)
N = int(np.prod(SHAPE))
TRACK = [0, 7, 31, 58, 64, 99, 113, 119]
STEP_COUNTS = [1, 2, 7, 33, 50]

# --------------------------------------------------------------------------------------------------
# The fake model, latent and noise (mirrored in test/schedulers/golden.ts)


def initial_latent(init_noise_sigma: float) -> torch.Tensor:
    i = np.arange(N, dtype=np.float64)
    x = (np.sin(0.731 * i + 0.2) * 1.1).astype(np.float32)
    return torch.from_numpy(x.reshape(SHAPE)) * init_noise_sigma


def fake_model(x: torch.Tensor, t: float) -> torch.Tensor:
    x64 = x.detach().to(torch.float32).numpy().reshape(-1).astype(np.float64)
    i = np.arange(N, dtype=np.float64)
    out = np.sin(1.3 * x64 + 0.0021 * t + 0.37 * (i % 5)) - 0.4 * x64
    return torch.from_numpy(out.astype(np.float32).reshape(SHAPE))


def noise_draw(k: int) -> torch.Tensor:
    i = np.arange(N, dtype=np.float64)
    return torch.from_numpy((math.sqrt(2.0) * np.sin(1.9 * i + 2.9 * k + 0.5)).astype(np.float32).reshape(SHAPE))


class NoiseCounter:
    def __init__(self) -> None:
        self.k = 0

    def __call__(self, shape, generator=None, device=None, dtype=None, layout=None):  # randn_tensor's signature
        assert tuple(shape) == SHAPE, shape
        out = noise_draw(self.k).to(dtype=dtype or torch.float32)
        self.k += 1
        return out


PATCHED_MODULES = [
    scheduling_flow_match_euler_discrete,
    scheduling_dpmsolver_multistep,
    scheduling_dpm_cogvideox,
    scheduling_ddim_cogvideox,
]

# --------------------------------------------------------------------------------------------------
# The driver


def f32s(a) -> list[float]:
    return [float(f"{float(v):.9g}") for v in np.asarray(a, dtype=np.float32).reshape(-1)]


def f64s(a) -> list[float]:
    return [float(v) for v in np.asarray(torch.as_tensor(a).double().numpy()).reshape(-1)]


def run_case(cls, name, overrides, extra, n):
    sched = cls.from_config({**overrides})
    kwargs = {}
    if "mu" in extra:
        kwargs["mu"] = extra["mu"]
    if extra.get("sigmas") == "ltx":
        kwargs["sigmas"] = ltx_sigmas(n)
    sched.set_timesteps(n, **kwargs)
    if not torch.all(torch.isfinite(torch.as_tensor(sched.timesteps, dtype=torch.float64))):
        return None  # e.g. shift_terminal with one step divides 0 by 0 in diffusers
    if hasattr(sched, "set_begin_index"):
        sched.set_begin_index(0)  # as the Wan pipeline does: step i uses schedule entry i
    counter = NoiseCounter()
    for mod in PATCHED_MODULES:
        mod.randn_tensor = counter

    reuse = set(extra.get("reuse", []))
    x = initial_latent(float(getattr(sched, "init_noise_sigma", 1.0)))
    traj, sums = [], []
    out = None
    old_x0 = None
    timesteps = sched.timesteps
    for k, t in enumerate(timesteps):
        xin = sched.scale_model_input(x, t) if hasattr(sched, "scale_model_input") else x
        if k not in reuse or out is None:
            out = fake_model(xin, float(t))
        if cls is CogVideoXDPMScheduler:
            x, old_x0 = sched.step(
                out, old_x0, t, timesteps[k - 1] if k > 0 else None, x, eta=extra.get("eta", 0.0), return_dict=False
            )
        elif cls is CogVideoXDDIMScheduler:
            x = sched.step(out, t, x, eta=extra.get("eta", 0.0), return_dict=False)[0]
        else:
            x = sched.step(out, t, x, return_dict=False)[0]
        flat = x.detach().to(torch.float32).reshape(-1).numpy()
        traj.append(f32s(flat[TRACK]))
        sums.append(float(np.abs(flat.astype(np.float64)).sum()))
    final = x.detach().to(torch.float32).reshape(-1).numpy()
    if not np.all(np.isfinite(final)):
        return None

    config = {k: v for k, v in dict(sched.config).items() if not k.startswith("_")}
    case = {
        "name": name,
        "class_name": cls.__name__,
        "config": config,
        "num_inference_steps": n,
        "set_timesteps": {k: v for k, v in kwargs.items()},
        "eta": extra.get("eta", 0.0),
        "reuse": sorted(reuse),
        "noise_draws": counter.k,
        "timesteps": f64s(timesteps),
        "sigmas": f64s(sched.sigmas) if hasattr(sched, "sigmas") and sched.sigmas is not None else None,
        "track": TRACK,
        "trajectory": traj,
        "abs_sums": sums,
        "final": f32s(final),
    }
    return case


def jsonable(v):
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, (np.floating, np.integer)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    if isinstance(v, np.ndarray):
        return v.tolist()
    return v


def build(file_key: str) -> str:
    cases = []
    for cls, name, overrides, extra in FILES[file_key]():
        for n in extra.get("steps", STEP_COUNTS):
            case = run_case(cls, name, overrides, extra, n)
            if case is not None:
                cases.append(case)
    doc = {
        "generator": "scripts/gen-scheduler-goldens.py",
        "diffusers_version": diffusers.__version__,
        "latent_shape": list(SHAPE),
        "scipy": HAVE_SCIPY,
        "cases": jsonable(cases),
    }
    return json.dumps(doc, separators=(",", ":")) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="exit 1 if any golden file would change")
    ap.add_argument("--only", default=None, help="only this file key (e.g. flow-match-euler-discrete)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    stale = []
    for key in FILES:
        if args.only and key != args.only:
            continue
        text = build(key)
        path = OUT_DIR / f"{key}.json"
        if args.check:
            if not path.exists() or path.read_text() != text:
                if not HAVE_SCIPY and path.exists() and json.loads(path.read_text()).get("scipy"):
                    print(f"skip {path.name}: written with scipy (beta sigmas), scipy is not installed here")
                    continue
                stale.append(path.name)
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)} ({len(text) // 1024} KiB)")
    if stale:
        print("stale goldens (rerun without --check): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
