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
from diffusers import (
    CogVideoXDDIMScheduler,
    CogVideoXDPMScheduler,
    DPMSolverMultistepScheduler,
    FlowMatchEulerDiscreteScheduler,
    UniPCMultistepScheduler,
)
from diffusers.schedulers import (
    scheduling_ddim_cogvideox,
    scheduling_dpm_cogvideox,
    scheduling_dpmsolver_multistep,
    scheduling_flow_match_euler_discrete,
)

try:
    import scipy  # noqa: F401  (needed by diffusers for use_beta_sigmas)

    HAVE_SCIPY = True
except ImportError:
    HAVE_SCIPY = False

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
# Released configs of the target pipelines (scheduler/scheduler_config.json of the public repos)

LTX_VIDEO = {  # Lightricks/LTX-Video
    "base_image_seq_len": 1024,
    "base_shift": 0.95,
    "invert_sigmas": False,
    "max_image_seq_len": 4096,
    "max_shift": 2.05,
    "num_train_timesteps": 1000,
    "shift": 1.0,
    "shift_terminal": 0.1,
    "use_beta_sigmas": False,
    "use_dynamic_shifting": True,
    "use_exponential_sigmas": False,
    "use_karras_sigmas": False,
}


WAN_21_T2V_1_3B = {  # Wan-AI/Wan2.1-T2V-1.3B-Diffusers (the 14B repos differ only in flow_shift: 5.0)
    "beta_end": 0.02,
    "beta_schedule": "linear",
    "beta_start": 0.0001,
    "disable_corrector": [],
    "dynamic_thresholding_ratio": 0.995,
    "final_sigmas_type": "zero",
    "flow_shift": 3.0,
    "lower_order_final": True,
    "num_train_timesteps": 1000,
    "predict_x0": True,
    "prediction_type": "flow_prediction",
    "rescale_betas_zero_snr": False,
    "sample_max_value": 1.0,
    "solver_order": 2,
    "solver_p": None,
    "solver_type": "bh2",
    "steps_offset": 0,
    "thresholding": False,
    "timestep_spacing": "linspace",
    "trained_betas": None,
    "use_beta_sigmas": False,
    "use_exponential_sigmas": False,
    "use_flow_sigmas": True,
    "use_karras_sigmas": False,
}
WAN_21_T2V_14B = {**WAN_21_T2V_1_3B, "flow_shift": 5.0}
SD_EPS = {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012}


COGVIDEOX_2B = {  # THUDM/CogVideoX-2b
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "clip_sample": False,
    "clip_sample_range": 1.0,
    "num_train_timesteps": 1000,
    "prediction_type": "v_prediction",
    "rescale_betas_zero_snr": True,
    "sample_max_value": 1.0,
    "set_alpha_to_one": True,
    "snr_shift_scale": 3.0,
    "steps_offset": 0,
    "timestep_spacing": "trailing",
    "trained_betas": None,
}
COGVIDEOX_5B = {**COGVIDEOX_2B, "snr_shift_scale": 1.0}  # THUDM/CogVideoX-5b (CogVideoXDPMScheduler)


def calculate_shift(seq_len, base_seq_len=256, max_seq_len=4096, base_shift=0.5, max_shift=1.15):
    """diffusers.pipelines.ltx.pipeline_ltx.calculate_shift"""
    m = (max_shift - base_shift) / (max_seq_len - base_seq_len)
    b = base_shift - m * base_seq_len
    return seq_len * m + b


# LTX-Video pipeline at its defaults: 161 frames, 512x704 -> 21 x 16 x 22 latent tokens.
LTX_SEQ = 21 * 16 * 22
LTX_MU = calculate_shift(LTX_SEQ, 1024, 4096, 0.95, 2.05)


def ltx_sigmas(n: int) -> list[float]:
    return np.linspace(1.0, 1 / n, n).tolist()


# --------------------------------------------------------------------------------------------------
# Cases: (file, class, name, config overrides, extra dict)
#   extra: set_timesteps kwargs ("mu", "sigmas" as a callable of n), "reuse", "steps", "eta"


def flow_match_cases():
    c = FlowMatchEulerDiscreteScheduler
    yield c, "ltx-video pipeline (mu, custom sigmas)", LTX_VIDEO, {"mu": LTX_MU, "sigmas": "ltx"}
    yield c, "ltx-video config, mu only", LTX_VIDEO, {"mu": LTX_MU}
    yield c, "ltx-video, linear time shift", {**LTX_VIDEO, "time_shift_type": "linear"}, {"mu": 1.7, "sigmas": "ltx"}
    yield c, "dynamic shifting, no terminal", {**LTX_VIDEO, "shift_terminal": None}, {"mu": 0.8}
    yield c, "defaults", {}, {}
    yield c, "shift 3", {"shift": 3.0}, {}
    yield c, "shift 5, karras", {"shift": 5.0, "use_karras_sigmas": True}, {}
    yield c, "shift 3, exponential", {"shift": 3.0, "use_exponential_sigmas": True}, {}
    if HAVE_SCIPY:
        yield c, "shift 3, beta", {"shift": 3.0, "use_beta_sigmas": True}, {}
    yield c, "shift 2, invert_sigmas", {"shift": 2.0, "invert_sigmas": True}, {}
    yield c, "shift 3, shift_terminal 0.05", {"shift": 3.0, "shift_terminal": 0.05}, {}
    yield c, "ltx-video, stochastic sampling", {**LTX_VIDEO, "stochastic_sampling": True}, {"mu": LTX_MU, "sigmas": "ltx"}
    yield c, "shift 3, stochastic sampling", {"shift": 3.0, "stochastic_sampling": True}, {}


def unipc_cases():
    c = UniPCMultistepScheduler
    yield c, "wan2.1 t2v 1.3B (flow_shift 3)", WAN_21_T2V_1_3B, {}
    yield c, "wan2.1 t2v 14B (flow_shift 5)", WAN_21_T2V_14B, {}
    yield c, "wan2.1 1.3B, reused outputs", WAN_21_T2V_1_3B, {"reuse": [2, 3, 5, 6], "steps": [7, 33, 50]}
    yield c, "wan2.1 14B, reused outputs", WAN_21_T2V_14B, {"reuse": [1, 4, 5, 20, 21, 22], "steps": [7, 33]}
    yield c, "wan flow, order 1", {**WAN_21_T2V_1_3B, "solver_order": 1}, {}
    yield c, "wan flow, order 3", {**WAN_21_T2V_1_3B, "solver_order": 3}, {}
    yield c, "wan flow, order 3, reused outputs", {**WAN_21_T2V_1_3B, "solver_order": 3}, {"reuse": [3, 4, 8], "steps": [33]}
    yield c, "wan flow, bh1", {**WAN_21_T2V_1_3B, "solver_type": "bh1"}, {}
    yield c, "wan flow, order 3, no lower_order_final", {**WAN_21_T2V_14B, "solver_order": 3, "lower_order_final": False, "final_sigmas_type": "sigma_min"}, {}
    yield c, "wan flow, disable_corrector [0, 3]", {**WAN_21_T2V_1_3B, "disable_corrector": [0, 3]}, {}
    yield c, "flow, dynamic shifting", {**WAN_21_T2V_1_3B, "use_dynamic_shifting": True}, {"mu": 0.9}
    yield c, "epsilon, scaled_linear, linspace", SD_EPS, {}
    yield c, "epsilon, predict_x0 false, bh1, leading", {**SD_EPS, "predict_x0": False, "solver_type": "bh1", "timestep_spacing": "leading", "steps_offset": 1, "final_sigmas_type": "sigma_min"}, {}
    yield c, "v_prediction, trailing, order 3, sigma_min", {**SD_EPS, "prediction_type": "v_prediction", "timestep_spacing": "trailing", "solver_order": 3, "final_sigmas_type": "sigma_min"}, {}


def dpm_cases():
    c = DPMSolverMultistepScheduler
    yield c, "dpmsolver++ 2, epsilon (defaults)", {}, {}
    yield c, "dpmsolver++ 2, epsilon, scaled_linear, karras", {**SD_EPS, "use_karras_sigmas": True}, {}
    yield c, "dpmsolver++ 3, v_prediction, trailing", {**SD_EPS, "solver_order": 3, "prediction_type": "v_prediction", "timestep_spacing": "trailing"}, {}
    yield c, "dpmsolver++ 2, heun, sigma_min, leading", {**SD_EPS, "solver_type": "heun", "final_sigmas_type": "sigma_min", "timestep_spacing": "leading", "steps_offset": 1}, {}
    yield c, "dpmsolver++ 1, epsilon", {"solver_order": 1}, {}
    yield c, "dpmsolver++ 2, flow sigmas (shift 3)", {"prediction_type": "flow_prediction", "use_flow_sigmas": True, "flow_shift": 3.0}, {}
    yield c, "dpmsolver++ 3, flow sigmas (shift 5), no lower_order_final", {"prediction_type": "flow_prediction", "use_flow_sigmas": True, "flow_shift": 5.0, "solver_order": 3, "lower_order_final": False}, {}
    yield c, "dpmsolver++ 2, flow sigmas, reused outputs", {"prediction_type": "flow_prediction", "use_flow_sigmas": True, "flow_shift": 3.0}, {"reuse": [2, 3, 5, 6, 20], "steps": [7, 33, 50]}
    yield c, "dpmsolver++ 3, epsilon, reused outputs", {**SD_EPS, "solver_order": 3}, {"reuse": [3, 4, 10, 11, 12], "steps": [33]}
    yield c, "sde-dpmsolver++ 2, epsilon", {**SD_EPS, "algorithm_type": "sde-dpmsolver++"}, {}
    yield c, "sde-dpmsolver++ 3, v_prediction, karras", {**SD_EPS, "algorithm_type": "sde-dpmsolver++", "solver_order": 3, "prediction_type": "v_prediction", "use_karras_sigmas": True}, {}
    yield c, "sde-dpmsolver++ 2, heun, flow sigmas", {"algorithm_type": "sde-dpmsolver++", "solver_type": "heun", "prediction_type": "flow_prediction", "use_flow_sigmas": True, "flow_shift": 3.0}, {}


def cogvideox_cases():
    for c in (CogVideoXDDIMScheduler, CogVideoXDPMScheduler):
        yield c, "cogvideox-2b config", COGVIDEOX_2B, {}
        yield c, "cogvideox-5b config", COGVIDEOX_5B, {}
        yield c, "cogvideox-5b config, reused outputs", COGVIDEOX_5B, {"reuse": [2, 3, 5, 6, 20], "steps": [7, 33, 50]}
        yield c, "epsilon, leading, no zero-SNR rescale", {**COGVIDEOX_2B, "prediction_type": "epsilon", "rescale_betas_zero_snr": False, "timestep_spacing": "leading", "steps_offset": 1}, {}
        yield c, "v_prediction, linspace, set_alpha_to_one false", {**COGVIDEOX_5B, "timestep_spacing": "linspace", "set_alpha_to_one": False}, {}


FILES = {
    "flow-match-euler-discrete": flow_match_cases,
    "unipc-multistep": unipc_cases,
    "dpm-solver-multistep": dpm_cases,
    "cogvideox": cogvideox_cases,
}

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
