/**
 * Indexing kernels: `gather` (clip mode, as JAX), `scatterAdd` (drop mode, as JAX) and `iota`.
 * The first two see their operands as `[outer, axis, inner]` blocks and move whole inner rows
 * per index.
 *
 * @module
 */

import type { Aval, Params } from "../../core/backend.ts";
import { allocate, type TypedArray } from "../../core/dtype.ts";
import { type Allocate, CpuBuffer, dense, prod } from "./_buffer.ts";

function copyRow(src: TypedArray, from: number, dst: TypedArray, to: number, n: number): void {
  if (n >= 32) {
    dst.set(src.subarray(from, from + n), to);
    return;
  }
  for (let i = 0; i < n; i++) dst[to + i] = src[from + i];
}

/**
 * `gather({ axis })` on `[x, idx]`: `out[pre, i..., post] = x[pre, idx[i...], post]`. A
 * negative index counts from the end; one still out of range is clamped.
 *
 * @example
 * ```ts
 * import { gather } from "./_indexing.ts";
 * import { CpuBuffer } from "./_buffer.ts";
 * import assert from "node:assert/strict";
 * const x = new CpuBuffer(new Float32Array([10, 20, 30]), [3]);
 * const idx = new CpuBuffer(new Int32Array([2, -1, 7]), [3]);
 * const out = { shape: [3], dtype: "float32", device: "cpu" } as const;
 * assert.deepEqual([...gather([x, idx], { axis: 0 }, out).data], [30, 30, 30]);
 * ```
 */
export function gather(
  inputs: readonly CpuBuffer[],
  params: Params,
  out: Aval,
  alloc: Allocate = allocate,
): CpuBuffer {
  const [x, idxBuf] = inputs;
  const axis = params.axis as number;
  const xd = dense(x);
  const ids = dense(idxBuf);
  const outer = prod(x.shape, 0, axis);
  const n = x.shape[axis];
  const inner = prod(x.shape, axis + 1);
  const k = ids.length;
  const o = alloc(out.dtype, outer * k * inner);
  if (n === 0) return new CpuBuffer(o, out.shape);
  const rows = new Int32Array(k);
  for (let i = 0; i < k; i++) {
    let j = ids[i];
    if (j < 0) j += n;
    rows[i] = j < 0 ? 0 : j >= n ? n - 1 : j;
  }
  for (let p = 0; p < outer; p++) {
    const base = p * n * inner;
    const ob = p * k * inner;
    if (inner === 1) {
      for (let i = 0; i < k; i++) o[ob + i] = xd[base + rows[i]];
    } else {
      for (let i = 0; i < k; i++) copyRow(xd, base + rows[i] * inner, o, ob + i * inner, inner);
    }
  }
  return new CpuBuffer(o, out.shape);
}

/**
 * `scatterAdd({ axis, size })` on `[upd, idx]`: a zero buffer of `size` along `axis` with
 * `out[pre, idx[i...], post] += upd[pre, i..., post]`. Repeated indices accumulate; a negative
 * index counts from the end; one still out of range is dropped.
 *
 * @example
 * ```ts
 * import { scatterAdd } from "./_indexing.ts";
 * import { CpuBuffer } from "./_buffer.ts";
 * import assert from "node:assert/strict";
 * const upd = new CpuBuffer(new Float32Array([1, 2, 4]), [3]);
 * const idx = new CpuBuffer(new Int32Array([0, 0, 5]), [3]);
 * const out = { shape: [2], dtype: "float32", device: "cpu" } as const;
 * assert.deepEqual([...scatterAdd([upd, idx], { axis: 0, size: 2 }, out).data], [3, 0]);
 * ```
 */
export function scatterAdd(
  inputs: readonly CpuBuffer[],
  params: Params,
  out: Aval,
  alloc: Allocate = allocate,
): CpuBuffer {
  const [u, idxBuf] = inputs;
  const axis = params.axis as number;
  const size = params.size as number;
  const ud = dense(u);
  const ids = dense(idxBuf);
  const outer = prod(u.shape, 0, axis);
  const k = ids.length;
  const inner = prod(u.shape, axis + idxBuf.shape.length);
  const o = alloc(out.dtype, outer * size * inner);
  const int = out.dtype === "int32";
  const bool = out.dtype === "bool";
  // -1 marks an index that is dropped.
  const rows = new Int32Array(k);
  for (let i = 0; i < k; i++) {
    let j = ids[i];
    if (j < 0) j += size;
    rows[i] = j < 0 || j >= size ? -1 : j;
  }
  for (let p = 0; p < outer; p++) {
    for (let i = 0; i < k; i++) {
      const j = rows[i];
      if (j < 0) continue;
      const from = (p * k + i) * inner;
      const to = (p * size + j) * inner;
      if (int) { for (let q = 0; q < inner; q++) o[to + q] = (o[to + q] + ud[from + q]) | 0; }
      // Addition on bools is a logical or: 1 + 1 must stay 1.
      else if (bool) { for (let q = 0; q < inner; q++) o[to + q] |= ud[from + q]; }
      else for (let q = 0; q < inner; q++) o[to + q] += ud[from + q];
    }
  }
  return new CpuBuffer(o, out.shape);
}

/**
 * `iota({ shape, axis, dtype })`: no inputs; each element is its own index along `axis`.
 *
 * @example
 * ```ts
 * import { iota } from "./_indexing.ts";
 * import assert from "node:assert/strict";
 * const out = { shape: [2, 3], dtype: "int32", device: "cpu" } as const;
 * const r = iota([], { shape: [2, 3], axis: 1, dtype: "int32" }, out);
 * assert.deepEqual([...r.data], [0, 1, 2, 0, 1, 2]);
 * ```
 */
export function iota(
  _inputs: readonly CpuBuffer[],
  params: Params,
  out: Aval,
  alloc: Allocate = allocate,
): CpuBuffer {
  const shape = out.shape;
  const axis = params.axis as number;
  const o = alloc(out.dtype, prod(shape));
  const outer = prod(shape, 0, axis);
  const n = shape[axis];
  const inner = prod(shape, axis + 1);
  for (let p = 0, at = 0; p < outer; p++) {
    for (let i = 0; i < n; i++, at += inner) o.fill(i, at, at + inner);
  }
  return new CpuBuffer(o, shape);
}
