/**
 * Static masks as numbers: the exact dynamic programme for the cheapest K-compute mask under a limit of
 * n consecutive reuses, the feasibility of a mask, and the ±1 moves of the static search's local search.
 */

/**
 * Exact DP: the K-compute mask (step 0 computed, at most n consecutive reuses, no forced last step)
 * minimising Σ over reused steps j of cost(ref(j), j), ref(j) = the last computed step before j.
 * `cost(r, j)` is called for r < j ≤ r + n. Returns undefined when K is infeasible.
 */
export function dpMask(T: number, K: number, n: number, cost: (r: number, j: number) => number): { compute: number[]; cost: number } | undefined {
  if (K < 1 || K > T) return undefined;
  const cap = Math.min(n, T);
  // F[q][b]: min cost of steps q+1..T−1 given q computed and exactly b more computes after q.
  const F: Float64Array[] = [];
  const next: Int32Array[] = [];
  for (let q = 0; q < T; q++) {
    F.push(new Float64Array(K).fill(Infinity));
    next.push(new Int32Array(K).fill(-1));
  }
  for (let q = T - 1; q >= 0; q--) {
    // reuse all of q+1..T−1
    if (T - 1 - q <= cap) {
      let tail = 0;
      for (let j = q + 1; j < T; j++) tail += cost(q, j);
      F[q]![0] = tail;
    }
    let seg = 0;
    for (let q2 = q + 1; q2 <= Math.min(T - 1, q + cap + 1); q2++) {
      for (let b = 1; b < K; b++) {
        const c = seg + F[q2]![b - 1]!;
        if (c < F[q]![b]!) {
          F[q]![b] = c;
          next[q]![b] = q2;
        }
      }
      seg += cost(q, q2);
    }
  }
  if (!Number.isFinite(F[0]![K - 1]!)) return undefined;
  const out = [0];
  let q = 0;
  for (let b = K - 1; b > 0; b--) {
    q = next[q]![b]!;
    out.push(q);
  }
  return { compute: out, cost: F[0]![K - 1]! };
}

/** Whether a compute set respects the streak limit (step 0 computed). */
export function maskFeasible(T: number, computeSteps: readonly number[], n: number): boolean {
  if (computeSteps[0] !== 0) return false;
  for (let i = 0; i < computeSteps.length; i++) {
    const gapEnd = i + 1 < computeSteps.length ? computeSteps[i + 1]! : T;
    if (gapEnd - computeSteps[i]! - 1 > n) return false;
  }
  return true;
}

/** The ±1 moves of one computed step (not step 0) that keep the mask feasible. */
export function maskMoves(T: number, computeSteps: readonly number[], n: number): number[][] {
  const set = new Set(computeSteps);
  const out: number[][] = [];
  for (let i = 1; i < computeSteps.length; i++) {
    for (const d of [-1, 1]) {
      const to = computeSteps[i]! + d;
      if (to <= 0 || to >= T || set.has(to)) continue;
      const m = [...computeSteps];
      m[i] = to;
      m.sort((a, b) => a - b);
      if (maskFeasible(T, m, n)) out.push(m);
    }
  }
  return out;
}
