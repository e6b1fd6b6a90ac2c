/**
 * Fused `softmax` and `logSoftmax` along one axis. Both subtract the maximum along the axis
 * before exponentiating, so logits of ±1e4 give exact finite results, and sum in float64.
 *
 * @module
 */

import { allocate, type TypedArray } from "../../core/dtype.ts";
import { CpuBuffer, dense, type Kernel, prod } from "./_buffer.ts";

/** One softmax along a contiguous axis of length `n` starting at `base`. */
function lastAxis(x: TypedArray, o: TypedArray, base: number, n: number, log: boolean): void {
  const end = base + n;
  let max = -Infinity;
  // Math.max propagates a NaN to the whole row, as NumPy does.
  for (let i = base; i < end; i++) max = Math.max(max, x[i]);
  let sum = 0;
  if (log) {
    for (let i = base; i < end; i++) sum += Math.exp(x[i] - max);
    const lse = Math.log(sum);
    for (let i = base; i < end; i++) o[i] = x[i] - max - lse;
  } else {
    for (let i = base; i < end; i++) {
      const e = Math.exp(x[i] - max);
      o[i] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let i = base; i < end; i++) o[i] *= inv;
  }
}

/**
 * Softmax along a non-last axis: the axis has stride `inner`, so it runs over whole rows of
 * length `inner`, keeping the running max and sum in scratch rows to read memory in order.
 */
function innerAxis(
  x: TypedArray,
  o: TypedArray,
  base: number,
  n: number,
  inner: number,
  log: boolean,
  max: Float64Array,
  sum: Float64Array,
): void {
  max.fill(-Infinity);
  sum.fill(0);
  for (let k = 0; k < n; k++) {
    const row = base + k * inner;
    for (let j = 0; j < inner; j++) max[j] = Math.max(max[j], x[row + j]);
  }
  for (let k = 0; k < n; k++) {
    const row = base + k * inner;
    for (let j = 0; j < inner; j++) sum[j] += Math.exp(x[row + j] - max[j]);
  }
  if (log) {
    for (let j = 0; j < inner; j++) sum[j] = Math.log(sum[j]);
    for (let k = 0; k < n; k++) {
      const row = base + k * inner;
      for (let j = 0; j < inner; j++) o[row + j] = x[row + j] - max[j] - sum[j];
    }
  } else {
    for (let j = 0; j < inner; j++) sum[j] = 1 / sum[j];
    for (let k = 0; k < n; k++) {
      const row = base + k * inner;
      for (let j = 0; j < inner; j++) o[row + j] = Math.exp(x[row + j] - max[j]) * sum[j];
    }
  }
}

function softmaxKernel(log: boolean): Kernel {
  return (inputs, params, out, alloc = allocate) => {
    const x = inputs[0];
    const axis = params.axis as number;
    const xd = dense(x);
    const o = alloc(out.dtype, x.size);
    const outer = prod(x.shape, 0, axis);
    const n = x.shape[axis];
    const inner = prod(x.shape, axis + 1);
    if (inner === 1) {
      for (let p = 0; p < outer; p++) lastAxis(xd, o, p * n, n, log);
    } else {
      const max = new Float64Array(inner);
      const sum = new Float64Array(inner);
      for (let p = 0; p < outer; p++) innerAxis(xd, o, p * n * inner, n, inner, log, max, sum);
    }
    return new CpuBuffer(o, out.shape);
  };
}

/**
 * `softmax({ axis })`: `exp(x - max) / sum(exp(x - max))` along `axis`.
 *
 * @example
 * ```ts
 * import { softmax } from "./_nn.ts";
 * import { CpuBuffer } from "./_buffer.ts";
 * import assert from "node:assert/strict";
 * const x = new CpuBuffer(new Float32Array([1e4, -1e4]), [2]);
 * const out = { shape: [2], dtype: "float32", device: "cpu" } as const;
 * assert.deepEqual([...softmax([x], { axis: 0 }, out).data], [1, 0]);
 * ```
 */
export const softmax: Kernel = softmaxKernel(false);

/**
 * `logSoftmax({ axis })`: `x - max - log(sum(exp(x - max)))` along `axis`.
 *
 * @example
 * ```ts
 * import { logSoftmax } from "./_nn.ts";
 * import { CpuBuffer } from "./_buffer.ts";
 * import assert from "node:assert/strict";
 * const x = new CpuBuffer(new Float32Array([1e4, 0]), [2]);
 * const out = { shape: [2], dtype: "float32", device: "cpu" } as const;
 * assert.deepEqual([...logSoftmax([x], { axis: 0 }, out).data], [0, -1e4]);
 * ```
 */
export const logSoftmax: Kernel = softmaxKernel(true);
