"""Write the small .npz fixtures the TypeScript npz reader is tested against.

Usage: .venv/bin/python scripts/make-test-npz.py [--check]
Writes test/fixtures/sensitivity-sample.npz (np.savez, stored entries) and
test/fixtures/sensitivity-sample-compressed.npz (np.savez_compressed, deflated), plus
test/fixtures/sensitivity-sample.json with the expected values. --check regenerates in memory and
fails if the committed JSON differs.
"""
import io, json, sys, pathlib
import numpy as np

root = pathlib.Path(__file__).resolve().parent.parent / "test" / "fixtures"
t = np.linspace(999, 92, 50).round().astype(np.int64)  # shaped like sensitivity_wan21.npz
i = np.arange(50, dtype=np.float64)
jx = (1.03 + 30.87 * (i / 49) ** 2).astype(np.float32)
jt = (30.9 - 28.95 * np.sqrt(i / 49)).astype(np.float64)
extras = {
    "grid_f4_c": np.arange(6, dtype="<f4").reshape(2, 3) / 4,
    "grid_f8_fortran": np.asfortranarray(np.arange(6, dtype="<f8").reshape(2, 3)),
    "big_endian_i4": np.array([1, -2, 300000], dtype=">i4"),
    "half": np.array([0.5, -2.0, 65504.0], dtype="<f2"),
    "u8": np.array([0, 255, 7], dtype=np.uint8),
}
arrays = {"timesteps": t, "J_x_norm": jx, "J_t_norm": jt, **extras}
expected = {k: {"dtype": v.dtype.str, "shape": list(v.shape), "values": np.ascontiguousarray(v).astype(np.float64).ravel().tolist()} for k, v in arrays.items()}
text = json.dumps(expected, indent=1) + "\n"
if "--check" in sys.argv:
    ok = (root / "sensitivity-sample.json").read_text() == text
    print("fixtures up to date" if ok else "fixtures differ: rerun without --check")
    sys.exit(0 if ok else 1)
root.mkdir(parents=True, exist_ok=True)
np.savez(root / "sensitivity-sample.npz", **arrays)
np.savez_compressed(root / "sensitivity-sample-compressed.npz", **arrays)
(root / "sensitivity-sample.json").write_text(text)
# A v2.0 .npy header (numpy writes 2.0 only for huge headers; force it for the reader test).
buf = io.BytesIO()
np.lib.format.write_array(buf, jx, version=(2, 0))
(root / "j_x_v2.npy").write_bytes(buf.getvalue())
print("wrote", ", ".join(p.name for p in sorted(root.glob("sensitivity-sample*")) + [root / "j_x_v2.npy"]))
