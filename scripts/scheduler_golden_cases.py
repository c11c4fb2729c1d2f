"""The scheduler golden cases: the released scheduler configs of the target pipelines and, per golden file, the
cases run from them (read by scripts/gen-scheduler-goldens.py, which computes and writes the goldens).

A case is (scheduler class, name, config overrides, extra); extra holds set_timesteps kwargs ("mu", "sigmas": "ltx"
for the LTX-Video pipeline's own sigmas, see `ltx_sigmas`), "reuse" (step indices whose model output is the
previous one, what a cache policy does), "steps" (the step counts to run; default all) and "eta".
"""

from __future__ import annotations

import numpy as np
from diffusers import (
    CogVideoXDDIMScheduler,
    CogVideoXDPMScheduler,
    DPMSolverMultistepScheduler,
    FlowMatchEulerDiscreteScheduler,
    UniPCMultistepScheduler,
)

try:
    import scipy  # noqa: F401  (needed by diffusers for use_beta_sigmas)

    HAVE_SCIPY = True
except ImportError:
    HAVE_SCIPY = False

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
# Cases per golden file


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
    yield c, "wan flow, order 3, no lower_order_final", {
        **WAN_21_T2V_14B, "solver_order": 3, "lower_order_final": False, "final_sigmas_type": "sigma_min",
    }, {}
    yield c, "wan flow, disable_corrector [0, 3]", {**WAN_21_T2V_1_3B, "disable_corrector": [0, 3]}, {}
    yield c, "flow, dynamic shifting", {**WAN_21_T2V_1_3B, "use_dynamic_shifting": True}, {"mu": 0.9}
    yield c, "epsilon, scaled_linear, linspace", SD_EPS, {}
    yield c, "epsilon, predict_x0 false, bh1, leading", {
        **SD_EPS, "predict_x0": False, "solver_type": "bh1", "timestep_spacing": "leading", "steps_offset": 1,
        "final_sigmas_type": "sigma_min",
    }, {}
    yield c, "v_prediction, trailing, order 3, sigma_min", {
        **SD_EPS, "prediction_type": "v_prediction", "timestep_spacing": "trailing", "solver_order": 3,
        "final_sigmas_type": "sigma_min",
    }, {}


FLOW_SIGMAS_3 = {"prediction_type": "flow_prediction", "use_flow_sigmas": True, "flow_shift": 3.0}


def dpm_cases():
    c = DPMSolverMultistepScheduler
    yield c, "dpmsolver++ 2, epsilon (defaults)", {}, {}
    yield c, "dpmsolver++ 2, epsilon, scaled_linear, karras", {**SD_EPS, "use_karras_sigmas": True}, {}
    yield c, "dpmsolver++ 3, v_prediction, trailing", {
        **SD_EPS, "solver_order": 3, "prediction_type": "v_prediction", "timestep_spacing": "trailing",
    }, {}
    yield c, "dpmsolver++ 2, heun, sigma_min, leading", {
        **SD_EPS, "solver_type": "heun", "final_sigmas_type": "sigma_min", "timestep_spacing": "leading", "steps_offset": 1,
    }, {}
    yield c, "dpmsolver++ 1, epsilon", {"solver_order": 1}, {}
    yield c, "dpmsolver++ 2, flow sigmas (shift 3)", FLOW_SIGMAS_3, {}
    yield c, "dpmsolver++ 3, flow sigmas (shift 5), no lower_order_final", {
        **FLOW_SIGMAS_3, "flow_shift": 5.0, "solver_order": 3, "lower_order_final": False,
    }, {}
    yield c, "dpmsolver++ 2, flow sigmas, reused outputs", FLOW_SIGMAS_3, {"reuse": [2, 3, 5, 6, 20], "steps": [7, 33, 50]}
    yield c, "dpmsolver++ 3, epsilon, reused outputs", {**SD_EPS, "solver_order": 3}, {"reuse": [3, 4, 10, 11, 12], "steps": [33]}
    yield c, "sde-dpmsolver++ 2, epsilon", {**SD_EPS, "algorithm_type": "sde-dpmsolver++"}, {}
    yield c, "sde-dpmsolver++ 3, v_prediction, karras", {
        **SD_EPS, "algorithm_type": "sde-dpmsolver++", "solver_order": 3, "prediction_type": "v_prediction",
        "use_karras_sigmas": True,
    }, {}
    yield c, "sde-dpmsolver++ 2, heun, flow sigmas", {"algorithm_type": "sde-dpmsolver++", "solver_type": "heun", **FLOW_SIGMAS_3}, {}


def cogvideox_cases():
    for c in (CogVideoXDDIMScheduler, CogVideoXDPMScheduler):
        yield c, "cogvideox-2b config", COGVIDEOX_2B, {}
        yield c, "cogvideox-5b config", COGVIDEOX_5B, {}
        yield c, "cogvideox-5b config, reused outputs", COGVIDEOX_5B, {"reuse": [2, 3, 5, 6, 20], "steps": [7, 33, 50]}
        yield c, "epsilon, leading, no zero-SNR rescale", {
            **COGVIDEOX_2B, "prediction_type": "epsilon", "rescale_betas_zero_snr": False, "timestep_spacing": "leading",
            "steps_offset": 1,
        }, {}
        yield c, "v_prediction, linspace, set_alpha_to_one false", {
            **COGVIDEOX_5B, "timestep_spacing": "linspace", "set_alpha_to_one": False,
        }, {}


FILES = {
    "flow-match-euler-discrete": flow_match_cases,
    "unipc-multistep": unipc_cases,
    "dpm-solver-multistep": dpm_cases,
    "cogvideox": cogvideox_cases,
}
