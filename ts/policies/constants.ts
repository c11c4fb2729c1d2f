/**
 * Published constants of the anchor policies, copied as data (not code) from their public
 * repositories (docs/method.md §4 lists them with their sources):
 *   - TeaCache: ali-vilab/TeaCache, commit 7c10efc (Liu et al., "Timestep Embedding Tells: It's Time to
 *     Cache for Video Diffusion Model", CVPR 2025). Polynomial coefficients, highest power first,
 *     applied to the relative L1 change of the indicator.
 *   - MagCache: Zehong-Ma/MagCache, commit df81cb1 (Ma et al., "MagCache: Fast Video Generation with
 *     Magnitude-Aware Cache", NeurIPS 2025). Per-call magnitude ratios of the block-stack residual; Wan
 *     arrays interleave cond/uncond calls (index = 2·step + branch), HunyuanVideo/FLUX have one entry
 *     per step; the first entry (per branch) is padding for the first step.
 *   - EasyCache defaults (Zhou et al., 2025, "Less is Enough: Training-Free Video Diffusion Acceleration
 *     via Runtime-Adaptive Caching") and SenCache paper settings.
 * Regenerate by copying from that JSON; the values must not be edited by hand.
 */

export interface TeacacheModelConstants {
  /** poly4 coefficients, highest power first. */
  readonly coefficients: readonly [number, number, number, number, number];
  /** What the coefficients were fitted on. */
  readonly indicator: string;
  /** Whether the indicator depends only on t (a time embedding the worker can return once per schedule). */
  readonly timeOnly: boolean;
  /** Published threshold range (as text), if given. */
  readonly thresholds?: string;
  /** Which published model and variant these are (the key scripts/check-anchor-constants.ts looks up). */
  readonly source: string;
}

export const TEACACHE_COEFFICIENTS: Readonly<Record<string, TeacacheModelConstants>> = {
  "wan2.1-t2v-1.3b": {
    coefficients: [2396.76752, -1311.10545, 201.331979, -8.29855975, 0.137887774],
    indicator: "time embedding e",
    timeOnly: true,
    thresholds: "0.05-0.08",
    source: "wan2.1-t2v-1.3b (indicator: time embedding e)",
  },
  "wan2.1-t2v-1.3b-ret": {
    coefficients: [-52186.2437, 9230.41404, -528.275948, 13.6987616, -0.0499875664],
    indicator: "e0 = time_projection(e) (use_ret_steps)",
    timeOnly: true,
    thresholds: "0.05-0.10",
    source: "wan2.1-t2v-1.3b use_ret_steps (indicator: e0 = time_projection(e))",
  },
  "wan2.1-t2v-14b": {
    coefficients: [-5784.54975374, 5449.50911966, -1811.16591783, 256.27178429, -13.02252404],
    indicator: "time embedding e",
    timeOnly: true,
    source: "wan2.1-t2v-14b (e)",
  },
  "wan2.1-t2v-14b-ret": {
    coefficients: [-303318.725, 49053.7029, -2655.30556, 58.7365115, -0.315583525],
    indicator: "e0 = time_projection(e) (use_ret_steps)",
    timeOnly: true,
    source: "wan2.1-t2v-14b use_ret_steps (e0)",
  },
  "cogvideox-2b": {
    coefficients: [-31.0658903, 25.4732368, -5.92380459, 1.75769064, -0.00361568434],
    indicator: "time embedding",
    timeOnly: true,
    thresholds: "0.1 (slow) / 0.2 (fast)",
    source: "cogvideox-2b (time embedding)",
  },
  "cogvideox-5b": {
    coefficients: [-1538.80483, 843.202495, -134.363087, 7.97131516, -0.0523162339],
    indicator: "time embedding",
    timeOnly: true,
    thresholds: "0.1 (slow) / 0.2 (fast)",
    source: "cogvideox-5b (time embedding)",
  },
  "cogvideox1.5-5b": {
    coefficients: [250.210439, -165.061612, 35.7804877, -0.781551492, 0.0358559703],
    indicator: "time embedding",
    timeOnly: true,
    thresholds: "0.1 (slow) / 0.2 (fast)",
    source: "cogvideox1.5-5b (time embedding)",
  },
  "ltx-video-0.9.1": {
    coefficients: [21.4700694, -12.8016453, 2.31279151, 0.792487521, 0.00969274326],
    indicator: "block-0 modulated input (latent-dependent)",
    timeOnly: false,
    thresholds: "0.03-0.05",
    source: "ltx-video-0.9.1 (block-0 modulated input, latent-dependent)",
  },
  "hunyuanvideo": {
    coefficients: [733.226126, -401.131952, 67.5869174, -3.149878, 0.0961237896],
    indicator: "double-block-0 modulated input (latent-dependent)",
    timeOnly: false,
    thresholds: "0.1-0.15",
    source: "hunyuanvideo (double-block-0 modulated input)",
  },
  "flux": {
    coefficients: [498.651651, -283.781631, 55.8554382, -3.82021401, 0.264230861],
    indicator: "block-0 modulated input (latent-dependent)",
    timeOnly: false,
    source: "flux (block-0 modulated input)",
  },
};

export interface MagcacheModelConstants {
  /** The published array as stored (interleaved cond/uncond when `interleaved`). */
  readonly ratios: readonly number[];
  /** Entries alternate cond/uncond calls (Wan). */
  readonly interleaved: boolean;
  /** Leading padding entries (the first call(s), always computed). */
  readonly leadingPadding: number;
  /** Native step count. */
  readonly steps: number;
  readonly note: string;
  readonly source: string;
}

export const MAGCACHE_RATIOS: Readonly<Record<string, MagcacheModelConstants>> = {
  "wan2.1-t2v-1.3b": {
    ratios: [
      1, 1, 1.0124, 1.02213, 1.00166, 1.0041, 0.99791, 1.00061, 0.99682, 0.99762,
      0.99634, 0.99685, 0.99567, 0.99586, 0.99416, 0.99422, 0.99578, 0.99575, 0.9957, 0.99563,
      0.99511, 0.99506, 0.99535, 0.99531, 0.99552, 0.99549, 0.99541, 0.99539, 0.9954, 0.99536,
      0.99489, 0.99485, 0.99518, 0.99514, 0.99484, 0.99478, 0.99481, 0.99479, 0.99415, 0.99413,
      0.99419, 0.99416, 0.99396, 0.99393, 0.99388, 0.99386, 0.99349, 0.99349, 0.99309, 0.99304,
      0.9927, 0.9927, 0.99228, 0.99226, 0.99171, 0.9917, 0.99137, 0.99135, 0.99068, 0.99063,
      0.99005, 0.99003, 0.98944, 0.98942, 0.98849, 0.98849, 0.98758, 0.98757, 0.98644, 0.98643,
      0.98504, 0.98503, 0.9836, 0.98359, 0.98202, 0.98201, 0.97977, 0.97978, 0.97717, 0.97718,
      0.9741, 0.97411, 0.97003, 0.97002, 0.96538, 0.96541, 0.9593, 0.95933, 0.95086, 0.95089,
      0.94013, 0.94019, 0.92402, 0.92414, 0.90241, 0.9026, 0.86821, 0.86868, 0.81838, 0.81939,
    ],
    interleaved: true,
    leadingPadding: 2,
    steps: 50,
    note: "Wan2.1 T2V 1.3B (50 steps × 2 branches)",
    source: "Wan2.1 T2V 1.3B",
  },
  "wan2.1-t2v-14b": {
    ratios: [
      1, 1, 1.02504, 1.03017, 1.00025, 1.00251, 0.9985, 0.99962, 0.99779, 0.99771,
      0.9966, 0.99658, 0.99482, 0.99476, 0.99467, 0.99451, 0.99664, 0.99656, 0.99434, 0.99431,
      0.99533, 0.99545, 0.99468, 0.99465, 0.99438, 0.99434, 0.99516, 0.99517, 0.99384, 0.9938,
      0.99404, 0.99401, 0.99517, 0.99516, 0.99409, 0.99408, 0.99428, 0.99426, 0.99347, 0.99343,
      0.99418, 0.99416, 0.99271, 0.99269, 0.99313, 0.99311, 0.99215, 0.99215, 0.99218, 0.99215,
      0.99216, 0.99217, 0.99163, 0.99161, 0.99138, 0.99135, 0.98982, 0.9898, 0.98996, 0.98995,
      0.9887, 0.98866, 0.98772, 0.9877, 0.98767, 0.98765, 0.98573, 0.9857, 0.98501, 0.98498,
      0.9838, 0.98376, 0.98177, 0.98173, 0.98037, 0.98035, 0.97678, 0.97677, 0.97546, 0.97543,
      0.97184, 0.97183, 0.96711, 0.96708, 0.96349, 0.96345, 0.95629, 0.95625, 0.94926, 0.94929,
      0.93964, 0.93961, 0.92511, 0.92504, 0.90693, 0.90678, 0.8796, 0.87945, 0.86111, 0.86189,
    ],
    interleaved: true,
    leadingPadding: 2,
    steps: 50,
    note: "Wan2.1 T2V 14B (50 steps × 2)",
    source: "Wan2.1 T2V 14B",
  },
  "wan2.1-i2v-14b-480p": {
    ratios: [
      1, 1, 0.98783, 0.98993, 0.97559, 0.97593, 0.98311, 0.98319, 0.98202, 0.98225,
      0.9888, 0.98878, 0.98762, 0.98759, 0.98957, 0.98971, 0.99052, 0.99043, 0.99383, 0.99384,
      0.98857, 0.9886, 0.99065, 0.99068, 0.98845, 0.98847, 0.99057, 0.99057, 0.98957, 0.98961,
      0.98601, 0.9861, 0.98823, 0.98823, 0.98756, 0.98759, 0.98808, 0.98814, 0.98721, 0.98724,
      0.98571, 0.98572, 0.98543, 0.98544, 0.98157, 0.98165, 0.98411, 0.98413, 0.97952, 0.97953,
      0.98149, 0.9815, 0.9774, 0.97742, 0.97825, 0.97826, 0.97355, 0.97361, 0.97085, 0.97087,
      0.97056, 0.97055, 0.96588, 0.96587, 0.96113, 0.96124, 0.9567, 0.95681, 0.94961, 0.94969,
      0.93973, 0.93988, 0.93217, 0.93224, 0.91878, 0.91896, 0.90955, 0.90954, 0.92617, 0.92616,
    ],
    interleaved: true,
    leadingPadding: 2,
    steps: 40,
    note: "Wan2.1 I2V 14B 480P (40 steps × 2)",
    source: "Wan2.1 I2V 14B 480P",
  },
  "wan2.1-i2v-14b-720p": {
    ratios: [
      1, 1, 0.99428, 0.99498, 0.98588, 0.98621, 0.98273, 0.98281, 0.99018, 0.99023,
      0.98911, 0.98917, 0.98646, 0.98652, 0.99454, 0.99456, 0.9891, 0.98909, 0.99124, 0.99127,
      0.99102, 0.99103, 0.99215, 0.99212, 0.99515, 0.99515, 0.99576, 0.99572, 0.99068, 0.99072,
      0.99097, 0.99097, 0.99166, 0.99169, 0.99041, 0.99042, 0.99201, 0.99198, 0.99101, 0.99101,
      0.98599, 0.98603, 0.98845, 0.98844, 0.98848, 0.98851, 0.98862, 0.98857, 0.98718, 0.98719,
      0.98497, 0.98497, 0.98264, 0.98263, 0.98389, 0.98393, 0.97938, 0.9794, 0.97535, 0.97536,
      0.97498, 0.97499, 0.973, 0.97301, 0.96827, 0.96828, 0.96261, 0.96263, 0.95335, 0.9534,
      0.94649, 0.94655, 0.93397, 0.93414, 0.91636, 0.9165, 0.89088, 0.89109, 0.8679, 0.86768,
    ],
    interleaved: true,
    leadingPadding: 2,
    steps: 40,
    note: "Wan2.1 I2V 14B 720P (40 steps × 2)",
    source: "Wan2.1 I2V 14B 720P",
  },
  "hunyuanvideo-720p": {
    ratios: [
      1, 1.0754, 1.27807, 1.11596, 1.09504, 1.05188, 1.00844, 1.05779, 1.00657, 1.04142,
      1.03101, 1.00679, 1.02556, 1.00908, 1.06949, 1.05438, 1.02214, 1.02321, 1.03019, 1.00779,
      1.03381, 1.01886, 1.01161, 1.02968, 1.00544, 1.02822, 1.00689, 1.02119, 1.0105, 1.01044,
      1.01572, 1.02972, 1.0094, 1.02368, 1.0226, 0.98965, 1.01588, 1.02146, 1.0018, 1.01687,
      0.99436, 1.00283, 1.01139, 0.97122, 0.98251, 0.94513, 0.97656, 0.90943, 0.85703, 0.75456,
    ],
    interleaved: false,
    leadingPadding: 1,
    steps: 50,
    note: "HunyuanVideo 720p (50 steps)",
    source: "HunyuanVideo 720p",
  },
  "hunyuanvideo-544p": {
    ratios: [
      1, 1.06971, 1.29073, 1.11245, 1.09596, 1.05233, 1.01415, 1.05672, 1.00848, 1.03632,
      1.02974, 1.00984, 1.03028, 1.00681, 1.06614, 1.05022, 1.02592, 1.01776, 1.02985, 1.00726,
      1.03727, 1.01502, 1.00992, 1.03371, 0.9976, 1.02742, 1.0093, 1.01869, 1.00815, 1.01461,
      1.01152, 1.03082, 1.0061, 1.02162, 1.01999, 0.99063, 1.01186, 1.0217, 0.99947, 1.01711,
      0.9904, 1.00258, 1.00878, 0.97039, 0.97686, 0.94315, 0.97728, 0.91154, 0.86139, 0.76592,
    ],
    interleaved: false,
    leadingPadding: 1,
    steps: 50,
    note: "HunyuanVideo 544p (50 steps)",
    source: "HunyuanVideo 544p",
  },
  "flux.1-dev": {
    ratios: [
      1, 1.21094, 1.11719, 1.07812, 1.0625, 1.03906, 1.03125, 1.03906, 1.02344, 1.03125,
      1.02344, 0.98047, 1.01562, 1.00781, 1, 1.00781, 1, 1.00781, 1, 1,
      0.99609, 0.99609, 0.98047, 0.98828, 0.96484, 0.95703, 0.93359, 0.89062,
    ],
    interleaved: false,
    leadingPadding: 1,
    steps: 28,
    note: "FLUX.1-dev (28 steps; also shipped in diffusers as `FLUX_MAG_RATIOS`)",
    source: "FLUX.1-dev",
  },
};

/** MagCache defaults (threshold δ, K, retention ratio) per model family. */
export const MAGCACHE_DEFAULTS: Readonly<Record<string, { readonly threshold: number; readonly K: number; readonly retentionRatio: number }>> = {
  "wan2.1-t2v-1.3b": { threshold: 0.12, K: 4, retentionRatio: 0.2 },
  "wan2.1 14b and i2v": { threshold: 0.24, K: 6, retentionRatio: 0.2 },
  "hunyuanvideo": { threshold: 0.24, K: 6, retentionRatio: 0.2 },
  "flux": { threshold: 0.24, K: 5, retentionRatio: 0.1 },
};

/** EasyCache defaults per model family. */
export const EASYCACHE_DEFAULTS: Readonly<Record<string, {
  readonly threshold: number;
  readonly forcedFirstSteps: number;
  readonly lastStepForced?: boolean;
}>> = {
  "wan2.1": { threshold: 0.05, forcedFirstSteps: 10, lastStepForced: true },
  "hunyuanvideo": { threshold: 0.025, forcedFirstSteps: 5 },
};

/** SenCache paper settings (T = 50). */
export const SENCACHE_PAPER_SETTINGS = {
  T: 50,
  epsStartFirst20pct: 0.01,
  epsMain: { "wan2.1 slow": 0.1, "wan2.1 fast": 0.2, cogvideox: 0.6, "ltx-video": 0.5 },
  nMaxConsecutiveReuses: { slow: 2, fast: 3 },
} as const;
