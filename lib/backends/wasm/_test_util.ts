/**
 * Test helpers of the wasm backend: a float64 reference matmul and a tolerance check scaled by
 * each dot product's magnitude (so cancellation in random data does not fail a correct kernel).
 *
 * @module
 */

import { AssertionError } from "node:assert/strict";

/** A deterministic pseudo-random float32 array in [-1, 1) (xorshift32). */
export function randomF32(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  let s = seed | 0 || 1;
  for (let i = 0; i < length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) / 2 ** 31 - 1;
  }
  return out;
}

/** Row-major reference: C = op(A)·op(B) in float64, and Σ|a·b| per element for tolerances. */
export function naiveMatmul(
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  transA = false,
  transB = false,
): { c: Float64Array; scale: Float64Array } {
  const c = new Float64Array(m * n), scale = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0, t = 0;
      for (let p = 0; p < k; p++) {
        const x = transA ? a[p * m + i] : a[i * k + p];
        const y = transB ? b[j * k + p] : b[p * n + j];
        s += x * y;
        t += Math.abs(x * y);
      }
      c[i * n + j] = s;
      scale[i * n + j] = t;
    }
  }
  return { c, scale };
}

/** Asserts |actual − expected| ≤ rtol·(|expected| + scale) elementwise (rtol 1e-4). */
export function assertMatmulClose(
  actual: ArrayLike<number>,
  expected: { c: Float64Array; scale: Float64Array },
  label: string,
  rtol = 1e-4,
): void {
  if (actual.length !== expected.c.length) {
    throw new AssertionError({
      message: `${label}: length ${actual.length} ≠ ${expected.c.length}`,
    });
  }
  for (let i = 0; i < actual.length; i++) {
    const e = expected.c[i];
    if (!(Math.abs(actual[i] - e) <= rtol * (Math.abs(e) + expected.scale[i]) + 1e-30)) {
      throw new AssertionError({
        message: `${label}: element ${i} is ${actual[i]}, expected ${e}`,
      });
    }
  }
}
