/**
 * Movement kernels. `reshape` (of a dense view), `broadcast`, `transpose` and `slice` are O(1)
 * views over the input's storage; `pad` and `concat` copy into a fresh buffer.
 *
 * @module
 */

import type { Aval, Params } from "../../core/backend.ts";
import { allocate } from "../../core/dtype.ts";
import { broadcastStrides, offsetOf, stridesOf } from "../../core/shape.ts";
import { type Allocate, copyInto, CpuBuffer, pack, prod } from "./_buffer.ts";

/**
 * `reshape({ shape })`: a view wherever the new shape can step through the input's elements
 * in row-major order (always for a dense input; for a strided one, where each run of merged
 * dimensions is contiguous within itself, as when a step of a transposed stack drops its
 * leading 1), else a dense copy.
 *
 * @example
 * ```ts
 * import { reshape } from "./_movement.ts";
 * import { CpuBuffer } from "./_buffer.ts";
 * import assert from "node:assert/strict";
 * const x = new CpuBuffer(new Float32Array(6), [2, 3]);
 * const y = reshape([x], { shape: [3, 2] }, { shape: [3, 2], dtype: "float32", device: "cpu" });
 * assert.equal(y.data, x.data);
 * ```
 */
export function reshape(
  inputs: readonly CpuBuffer[],
  _params: Params,
  out: Aval,
  alloc: Allocate = allocate,
): CpuBuffer {
  const x = inputs[0];
  if (x.contiguous) return new CpuBuffer(x.data, out.shape, stridesOf(out.shape), x.offset);
  const strides = viewStrides(x.shape, x.strides, out.shape);
  if (strides !== null) return new CpuBuffer(x.data, out.shape, strides, x.offset);
  return new CpuBuffer(pack(x, x.dtype, alloc), out.shape);
}

// The strides that read a view of `shape` and `strides` as `to` in row-major order, or null
// where some run of dimensions that merge or split is not evenly strided. Size-1 dimensions
// carry no stride that matters and are skipped on both sides.
function viewStrides(
  shape: readonly number[],
  strides: readonly number[],
  to: readonly number[],
): number[] | null {
  if (prod(shape) === 0) return stridesOf(to);
  const dims: number[] = [], steps: number[] = [];
  shape.forEach((d, i) => {
    if (d !== 1) [dims.push(d), steps.push(strides[i])];
  });
  const out = new Array<number>(to.length).fill(0);
  let i = 0, j = 0; // the next old and new dimensions to match
  while (j < to.length && to[j] === 1) j++;
  while (i < dims.length) {
    // Grow a group of old dimensions [i, i2) and new ones [j, j2) to the same element count.
    let i2 = i + 1, j2 = j + 1, a = dims[i], b = to[j];
    while (a !== b) {
      if (a < b) a *= dims[i2++];
      else b *= to[j2++];
    }
    for (let k = i; k < i2 - 1; k++) if (steps[k] !== dims[k + 1] * steps[k + 1]) return null;
    // Row-major within the group, from the innermost old stride.
    out[j2 - 1] = steps[i2 - 1];
    for (let k = j2 - 1; k > j; k--) out[k - 1] = out[k] * to[k];
    i = i2;
    j = j2;
    while (j < to.length && to[j] === 1) j++;
  }
  return out;
}

/**
 * `broadcast({ shape })`: NumPy broadcasting as a view, with stride 0 along stretched and new
 * leading dimensions.
 *
 * @example
 * ```ts
 * import { broadcast } from "./_movement.ts";
 * import { CpuBuffer } from "./_buffer.ts";
 * import assert from "node:assert/strict";
 * const x = new CpuBuffer(new Float32Array([1, 2, 3]), [3]);
 * const y = broadcast([x], { shape: [2, 3] }, { shape: [2, 3], dtype: "float32", device: "cpu" });
 * assert.deepEqual(y.strides, [0, 1]);
 * ```
 */
export function broadcast(inputs: readonly CpuBuffer[], _params: Params, out: Aval): CpuBuffer {
  const x = inputs[0];
  return new CpuBuffer(
    x.data,
    out.shape,
    broadcastStrides(x.shape, x.strides, out.shape),
    x.offset,
  );
}

/**
 * `transpose({ perm })`: output dimension `i` is input dimension `perm[i]`, as a view.
 *
 * @example
 * ```ts
 * import { transpose } from "./_movement.ts";
 * import { CpuBuffer } from "./_buffer.ts";
 * import assert from "node:assert/strict";
 * const x = new CpuBuffer(new Float32Array(6), [2, 3]);
 * const y = transpose([x], { perm: [1, 0] }, { shape: [3, 2], dtype: "float32", device: "cpu" });
 * assert.deepEqual(y.strides, [1, 3]);
 * ```
 */
export function transpose(inputs: readonly CpuBuffer[], params: Params, out: Aval): CpuBuffer {
  const x = inputs[0];
  const perm = params.perm as readonly number[];
  return new CpuBuffer(x.data, out.shape, perm.map((p) => x.strides[p]), x.offset);
}

/**
 * `slice({ begin, size })`: the box starting at `begin`, as a view.
 *
 * @example
 * ```ts
 * import { slice } from "./_movement.ts";
 * import { CpuBuffer } from "./_buffer.ts";
 * import assert from "node:assert/strict";
 * const x = new CpuBuffer(new Float32Array([0, 1, 2, 3, 4, 5]), [2, 3]);
 * const out = { shape: [2, 1], dtype: "float32", device: "cpu" } as const;
 * const y = slice([x], { begin: [0, 2], size: [2, 1] }, out);
 * assert.equal(y.offset, 2);
 * ```
 */
export function slice(inputs: readonly CpuBuffer[], params: Params, out: Aval): CpuBuffer {
  const x = inputs[0];
  const begin = params.begin as readonly number[];
  return new CpuBuffer(x.data, out.shape, x.strides, offsetOf(x.offset, x.strides, begin));
}

/**
 * `pad({ widths, value })`: `widths[d] = [before, after]` elements of `value` around dimension
 * `d`.
 *
 * @example
 * ```ts
 * import { pad } from "./_movement.ts";
 * import { CpuBuffer } from "./_buffer.ts";
 * import assert from "node:assert/strict";
 * const x = new CpuBuffer(new Int32Array([1, 2]), [2]);
 * const out = { shape: [5], dtype: "int32", device: "cpu" } as const;
 * const y = pad([x], { widths: [[1, 2]], value: 9 }, out);
 * assert.deepEqual([...y.data], [9, 1, 2, 9, 9]);
 * ```
 */
export function pad(
  inputs: readonly CpuBuffer[],
  params: Params,
  out: Aval,
  alloc: Allocate = allocate,
): CpuBuffer {
  const x = inputs[0];
  const widths = params.widths as readonly (readonly [number, number])[];
  const value = params.value as number;
  const o = alloc(out.dtype, prod(out.shape));
  // A bool fill is `value != 0`, as `convert` would give.
  if (value !== 0) o.fill(out.dtype === "bool" ? 1 : value);
  const strides = stridesOf(out.shape);
  let offset = 0;
  for (let d = 0; d < widths.length; d++) offset += widths[d][0] * strides[d];
  copyInto(x, o, offset, strides);
  return new CpuBuffer(o, out.shape);
}

/**
 * `concat({ axis })`: the inputs joined along `axis`.
 *
 * @example
 * ```ts
 * import { concat } from "./_movement.ts";
 * import { CpuBuffer } from "./_buffer.ts";
 * import assert from "node:assert/strict";
 * const a = new CpuBuffer(new Float32Array([1, 2]), [2, 1]);
 * const b = new CpuBuffer(new Float32Array([3, 4]), [2, 1]);
 * const out = { shape: [2, 2], dtype: "float32", device: "cpu" } as const;
 * assert.deepEqual([...concat([a, b], { axis: 1 }, out).data], [1, 3, 2, 4]);
 * ```
 */
export function concat(
  inputs: readonly CpuBuffer[],
  params: Params,
  out: Aval,
  alloc: Allocate = allocate,
): CpuBuffer {
  const axis = params.axis as number;
  const o = alloc(out.dtype, prod(out.shape), false);
  const strides = stridesOf(out.shape);
  let at = 0;
  for (const x of inputs) {
    copyInto(x, o, at * strides[axis], strides);
    at += x.shape[axis];
  }
  return new CpuBuffer(o, out.shape);
}
