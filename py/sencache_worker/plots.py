"""The CLI's plots, drawn with matplotlib (Agg) as PNG and SVG.

    python -m sencache_worker.plots < spec.json      # prints {"files": [...]} on stdout

`spec` is one JSON object with `kind` ("profile", "pareto" or "output-change"), `out` (a path without
extension), optional `formats` (default ["png", "svg"]) and the data of that kind (see each function).
The TypeScript side (ts/plots) builds the spec from a profile or a bench results.json; this module only
draws. It runs on the machine where the CLI runs, from the project's Python environment.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

# Okabe & Ito's colour-blind-safe palette (black last), and markers / dashes so that series differ
# also in greyscale.
COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
MARKERS = ["o", "s", "D", "^", "v", "P", "X", "h"]
DASHES = ["-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (3, 1)), "-", "--"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({
        "font.size": 11,
        "axes.titlesize": 12,
        "axes.labelsize": 11,
        "legend.fontsize": 9.5,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.color": "#dddddd",
        "grid.linewidth": 0.7,
        "svg.hashsalt": "sencache",  # stable ids: the same data gives the same SVG
        "figure.dpi": 100,
    })
    return plt


def _save(fig, out: str, formats) -> list[str]:
    files = []
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    for fmt in formats:
        path = f"{out}.{fmt}"
        meta = {"Date": None} if fmt == "svg" else {"Software": None}
        fig.savefig(path, format=fmt, dpi=150, bbox_inches="tight", metadata=meta)
        files.append(path)
    return files


def _style(i: int) -> dict:
    return {"color": COLOURS[i % len(COLOURS)], "marker": MARKERS[i % len(MARKERS)],
            "linestyle": DASHES[i % len(DASHES)]}


# ---- sensitivity profiles ---------------------------------------------------------------------------------


def _finite(values):
    return [v for v in values if v is not None and math.isfinite(v)]


def _quantile(values, q):
    v = sorted(values)
    if not v:
        return float("nan")
    pos = (len(v) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def plot_profile(spec: dict) -> list[str]:
    """J_x and J_t against t for one or more profiles.

    spec.profiles: [{label, timesteps, J_x, J_t, J_x_std?, J_t_std?, J_x_samples?, J_t_samples?}], spec.title.
    One profile: every sample as a thin line, the mean bold. Several: each mean with its 10-90 % band of
    the samples (± std without per-sample values), and a third panel of the relative difference of each
    mean against the last profile (the reference: give the one with the most samples last).
    """
    plt = _plt()
    profiles = spec["profiles"]
    overlay = len(profiles) > 1
    if overlay:
        fig = plt.figure(figsize=(12.4, 8.6), constrained_layout=True)
        grid = fig.add_gridspec(2, 2, height_ratios=[1.25, 1])
        axes = [fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1]), fig.add_subplot(grid[1, :])]
    else:
        fig, axes = plt.subplots(1, 2, figsize=(12.4, 4.6), constrained_layout=True)
    keys = [("J_x", "‖J_x‖  (latent sensitivity)"), ("J_t", "‖J_t‖  (timestep sensitivity, per unit t)")]
    for ax, (key, ylabel) in zip(axes, keys):
        for i, p in enumerate(profiles):
            st = _style(i)
            t = p["timesteps"]
            mean = p[key]
            samples = p.get(f"{key}_samples")
            std = p.get(f"{key}_std")
            label = f"{p['label']}: mean"
            if samples and not overlay:
                for s, row in enumerate(samples):
                    pts = [(tt, v) for tt, v in zip(t, row) if v is not None]
                    if pts:
                        ax.plot(*zip(*pts), color=st["color"], alpha=0.28, linewidth=0.8,
                                label="each calibration sample" if s == 0 else None)
            elif samples:
                lo = [_quantile(_finite([r[k] for r in samples]), 0.1) for k in range(len(t))]
                hi = [_quantile(_finite([r[k] for r in samples]), 0.9) for k in range(len(t))]
                ax.fill_between(t, lo, hi, color=st["color"], alpha=0.15, linewidth=0,
                                label=f"{p['label']}: 10–90 % of samples")
            elif std:
                ax.fill_between(t, [m - s for m, s in zip(mean, std)], [m + s for m, s in zip(mean, std)],
                                color=st["color"], alpha=0.15, linewidth=0, label=f"{p['label']}: ± 1 std")
            ax.plot(t, mean, color=st["color"], linestyle=st["linestyle"], linewidth=2.0, label=label,
                    marker=st["marker"] if len(t) <= 20 else None, markersize=4)
        ax.set_xlabel("timestep t (sampling runs from left to right)")
        ax.set_ylabel(ylabel)
        ax.set_xlim(max(max(p["timesteps"]) for p in profiles) * 1.01, min(min(p["timesteps"]) for p in profiles) - 10)
        ax.set_ylim(bottom=0)
        ax.legend(loc="best", frameon=False)
    axes[0].set_title("Latent sensitivity J_x")
    axes[1].set_title("Timestep sensitivity J_t")
    if overlay:
        ax = axes[2]
        ref = profiles[-1]
        for i, p in enumerate(profiles[:-1]):
            st = _style(i)
            for key, dash in (("J_x", "-"), ("J_t", "--")):
                rel = [abs(a - b) / b * 100 if b else float("nan") for a, b in zip(_at(p, ref["timesteps"], key), ref[key])]
                ax.plot(ref["timesteps"], rel, color=st["color"] if key == "J_x" else COLOURS[(i + 1) % len(COLOURS)],
                        linestyle=dash, linewidth=1.6, label=f"{key}: {p['label']} vs {ref['label']}")
        ax.axhline(10, color="#888888", linewidth=1, linestyle=":", label="10 %")
        ax.set_xlim(axes[0].get_xlim())
        ax.set_ylim(bottom=0)
        ax.set_xlabel("timestep t")
        ax.set_ylabel("relative difference of the means (%)")
        ax.set_title(f"Difference against {ref['label']}")
        ax.legend(loc="best", frameon=False)
    if spec.get("title"):
        fig.suptitle(spec["title"], fontsize=13)
    files = _save(fig, spec["out"], spec.get("formats", ["png", "svg"]))
    plt.close(fig)
    return files


def _at(profile: dict, timesteps, key):
    """The profile's `key` values at the nearest of its timesteps to each of `timesteps`."""
    ts = profile["timesteps"]
    return [profile[key][min(range(len(ts)), key=lambda i: abs(ts[i] - t))] for t in timesteps]


# ---- Pareto plot of a benchmark ---------------------------------------------------------------------------


def plot_pareto(spec: dict) -> list[str]:
    """Quality vs NFE of a benchmark, in up to three panels sharing the NFE axis.

    spec: title, steps (T), series: [{name, points: [{nfe, psnr, se, speedup?, speedup_se?, setting}]}],
    nfe_points: [int], at_nfe: [{nfe, policy, psnr, se, kind}], anchor: str | None,
    paired: [{nfe, policy, diff, se, kind}] (policy − anchor at each NFE point, paired over clips).
    1. PSNR against the uncached run vs mean NFE, ± 1 SE over clips; the NFE points marked.
    2. The paired PSNR difference of each policy against the anchor at the NFE points, ± 1.96 paired SE.
    3. The wall-clock speed-up as a share of its bound T / NFE (caching can only skip evaluations, so a
       point above 1 is timing noise) with those points flagged.
    """
    plt = _plt()
    from matplotlib.ticker import MultipleLocator

    series = spec["series"]
    steps = spec["steps"]
    paired = spec.get("paired") or []
    has_speed = any(p.get("speedup") is not None for s in series for p in s["points"])
    rows = [3.2] + ([2.0] if paired else []) + ([1.7] if has_speed else [])
    fig, axes = plt.subplots(len(rows), 1, figsize=(10, sum(rows) + 1.2), sharex=True, constrained_layout=True,
                             gridspec_kw={"height_ratios": rows})
    axes = list(axes) if len(rows) > 1 else [axes]
    ax = axes[0]
    nfes = [p["nfe"] for s in series for p in s["points"]] + list(spec.get("nfe_points") or [])
    x_lo, x_hi = min(nfes), max(nfes)
    pad = max(0.5, (x_hi - x_lo) * 0.04)
    order = {s["name"]: i for i, s in enumerate(series)}
    for s in series:
        st = _style(order[s["name"]])
        pts = sorted(s["points"], key=lambda p: p["nfe"])
        ax.errorbar([p["nfe"] for p in pts], [p["psnr"] for p in pts], yerr=[p.get("se") or 0 for p in pts],
                    color=st["color"], marker=st["marker"], linestyle=st["linestyle"], linewidth=1.8, markersize=6,
                    capsize=3, elinewidth=1, label=s["name"])
    for nfe in spec.get("nfe_points") or []:
        for a in axes:
            a.axvline(nfe, color="#999999", linewidth=0.9, linestyle=":", zorder=0)
    for m in spec.get("at_nfe") or []:
        if m["policy"] not in order:
            continue
        st = _style(order[m["policy"]])
        ax.plot([m["nfe"]], [m["psnr"]], marker=st["marker"], markersize=11, markerfacecolor="none",
                markeredgecolor=st["color"], markeredgewidth=1.6, linestyle="none", zorder=5)
    ax.plot([], [], marker="o", markersize=11, markerfacecolor="none", markeredgecolor="#444444", linestyle="none",
            label="curve read at an NFE point (--at-nfe)")
    ax.yaxis.set_major_locator(MultipleLocator(5))
    ax.yaxis.set_minor_locator(MultipleLocator(1))
    ax.grid(True, which="minor", color="#eeeeee", linewidth=0.6)
    ax.set_ylabel("PSNR vs uncached (dB)\nmean ± 1 SE over clips")
    ax.set_title(spec.get("title", "Quality vs NFE"))
    ax.legend(loc="lower right", frameon=True, framealpha=0.9, ncol=2)
    row = 1
    if paired:
        ax = axes[row]
        row += 1
        anchor = spec.get("anchor")
        others = [s["name"] for s in series if s["name"] != anchor]
        width = min(0.8, 0.6 * min(_gaps(spec.get("nfe_points") or [1])) / max(1, len(others)))
        for j, name in enumerate(others):
            st = _style(order[name])
            pts = sorted((p for p in paired if p["policy"] == name), key=lambda p: p["nfe"])
            if not pts:
                continue
            off = (j - (len(others) - 1) / 2) * width
            ax.errorbar([p["nfe"] + off for p in pts], [p["diff"] for p in pts], yerr=[1.96 * p["se"] for p in pts],
                        color=st["color"], marker=st["marker"], linestyle="none", markersize=6, capsize=3, elinewidth=1.2,
                        label=name)
        ax.axhline(0, color=_style(order.get(anchor, 0))["color"] if anchor in order else "#000000", linewidth=1.6,
                   label=f"{anchor} (anchor)")
        ax.yaxis.set_minor_locator(MultipleLocator(0.5))
        ax.grid(True, which="minor", color="#eeeeee", linewidth=0.6)
        ax.set_ylabel(f"ΔPSNR vs {anchor} (dB)\npaired, ± 95 % CI")
        ax.set_title(f"Paired difference at the NFE points against {anchor} (the best at most of them); "
                     "below 0 = worse than the anchor", fontsize=10.5)
        ax.legend(loc="lower right", frameon=True, framealpha=0.9, ncol=min(3, len(others)), fontsize=8.5)
    if has_speed:
        ax = axes[row]
        ax.axhline(1.0, color="#555555", linewidth=1.2, linestyle="--", label=f"the NFE bound T / NFE (T = {steps})")
        noisy = []
        for s in series:
            st = _style(order[s["name"]])
            pts = sorted((p for p in s["points"] if p.get("speedup") is not None), key=lambda p: p["nfe"])
            bound = [steps / p["nfe"] for p in pts]
            ax.errorbar([p["nfe"] for p in pts], [p["speedup"] / b for p, b in zip(pts, bound)],
                        yerr=[(p.get("speedup_se") or 0) / b for p, b in zip(pts, bound)],
                        color=st["color"], marker=st["marker"], linestyle=st["linestyle"], linewidth=1.2, markersize=5,
                        capsize=2, elinewidth=0.8)
            noisy += [(p["nfe"], p["speedup"] / b) for p, b in zip(pts, bound) if p["speedup"] > b]
        if noisy:
            ax.plot([x for x, _ in noisy], [y for _, y in noisy], marker="o", markersize=12, markerfacecolor="none",
                    markeredgecolor="#C00000", markeredgewidth=1.6, linestyle="none",
                    label=f"above the bound: timing noise, not a gain ({len(noisy)} settings)")
        ax.set_ylabel("wall speed-up\n÷ NFE bound")
        ax.legend(loc="lower left", frameon=True, framealpha=0.9, fontsize=8.5)
    axes[-1].set_xlim(x_lo - pad, x_hi + pad)
    axes[-1].set_xlabel("mean NFE (full denoiser evaluations per video)")
    files = _save(fig, spec["out"], spec.get("formats", ["png", "svg"]))
    plt.close(fig)
    return files


def _gaps(values):
    v = sorted(set(values))
    return [b - a for a, b in zip(v, v[1:])] or [2.0]


# ---- output change along the uncached runs (SenCache Fig. 5) -----------------------------------------------


def plot_output_change(spec: dict) -> list[str]:
    """spec.curves: [{clip, label?, t, cond, uncond?}], spec.title. Each clip thin, their mean bold."""
    plt = _plt()
    curves = spec["curves"]
    fig, ax = plt.subplots(figsize=(9, 4.8), constrained_layout=True)
    for key, dash, colour in (("cond", "-", COLOURS[0]), ("uncond", "--", COLOURS[1])):
        rows = [c for c in curves if c.get(key)]
        if not rows:
            continue
        for i, c in enumerate(rows):
            ax.plot(c["t"], c[key], color=colour, alpha=0.25, linewidth=0.8, linestyle=dash,
                    label=f"{key} branch, each clip" if i == 0 else None)
        t = rows[0]["t"]
        n = min(len(c[key]) for c in rows)
        mean = [sum(c[key][k] for c in rows) / len(rows) for k in range(n)]
        ax.plot(t[:n], mean, color=colour, linewidth=2.2, linestyle=dash, label=f"{key} branch, mean of {len(rows)} clips")
    ax.set_xlim(max(c["t"][0] for c in curves) * 1.01, min(c["t"][-1] for c in curves) - 10)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("timestep t of the later output (sampling runs from left to right)")
    ax.set_ylabel(r"mean $|\,\mathrm{out}_k - \mathrm{out}_{k-1}\,|$ over the latent")
    ax.set_title(spec.get("title", "Change of the denoiser output between consecutive steps (uncached)"))
    ax.legend(loc="best", frameon=False)
    files = _save(fig, spec["out"], spec.get("formats", ["png", "svg"]))
    plt.close(fig)
    return files


KINDS = {"profile": plot_profile, "pareto": plot_pareto, "output-change": plot_output_change}


def main() -> int:
    spec = json.load(sys.stdin)
    kind = spec.get("kind")
    if kind not in KINDS:
        print(f"Unknown plot kind {kind!r}; use one of {', '.join(KINDS)}.", file=sys.stderr)
        return 2
    print(json.dumps({"files": KINDS[kind](spec)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
