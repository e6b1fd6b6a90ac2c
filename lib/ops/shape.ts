/**
 * Shape operations: reshape, transpose, expandDims, squeeze, broadcastTo, concat, stack,
 * split, slice, pad. Movement is cheap: most of these are views on the CPU.
 *
 * @module
 */

import * as lax from "../core/lax.ts";
import { checkShape, checkSize, fmt, normalizeAxes, normalizeAxis, sizeOf } from "../core/shape.ts";
import type { Tensor } from "../core/tensor.ts";
import { checkTensor, commonDevice, fresh, kindOf, resultType } from "./_coerce.ts";

/**
 * The same values in a new shape; one dimension may be `-1` (inferred).
 *
 * @example
 * ```ts
 * import { arange, reshape } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(reshape(arange(6), [2, -1]).shape, [2, 3]);
 * ```
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor("reshape", x);
  if (!Array.isArray(shape)) {
    throw new TypeError(`reshape: shape must be an array, got ${kindOf(shape)}`);
  }
  const holes = shape.filter((d) => d === -1).length;
  const known = shape.filter((d) => d !== -1);
  const bad = () =>
    new RangeError(
      `reshape: cannot reshape ${fmt(x.shape)} (${x.size} elements) into ${fmt(shape)}`,
    );
  if (holes > 1 || known.some((d) => !Number.isInteger(d) || d < 0)) throw bad();
  const knownSize = sizeOf(known);
  let out = [...shape];
  if (holes === 1) {
    if (knownSize === 0 || x.size % knownSize !== 0) throw bad();
    out = shape.map((d) => (d === -1 ? x.size / knownSize : d));
  }
  if (sizeOf(out) !== x.size) throw bad();
  return fresh(lax.reshape(x, out), x);
}

/**
 * Permutes the axes (reverses them when `axes` is omitted).
 *
 * @example
 * ```ts
 * import { tensor, transpose } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await transpose(tensor([[1, 2, 3]])).toArray(), [[1], [2], [3]]);
 * ```
 */
export function transpose(x: Tensor, axes?: readonly number[]): Tensor {
  checkTensor("transpose", x);
  if (axes !== undefined && !Array.isArray(axes)) {
    throw new TypeError(`transpose: axes must be an array of integers, got ${kindOf(axes)}`);
  }
  const perm = axes === undefined
    ? x.shape.map((_, i) => x.ndim - 1 - i)
    : axes.map((a) => normalizeAxis("transpose", a, x.shape));
  if (perm.length !== x.ndim || new Set(perm).size !== perm.length) {
    throw new RangeError(
      `transpose: axes ${fmt(axes ?? [])} are not a permutation of the axes of shape ${
        fmt(x.shape)
      }`,
    );
  }
  return fresh(lax.transpose(x, perm), x);
}

/**
 * Inserts a size-1 axis at `axis` (which may be `x.ndim`, or negative).
 *
 * @example
 * ```ts
 * import { expandDims, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(expandDims(tensor([1, 2]), -1).shape, [2, 1]);
 * ```
 */
export function expandDims(x: Tensor, axis: number): Tensor {
  checkTensor("expandDims", x);
  const a = normalizeAxis("expandDims", axis, x.shape, 1);
  return lax.reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}

/**
 * Removes size-1 axes: the given ones (which must have size 1), or all of them.
 *
 * @example
 * ```ts
 * import { squeeze, zeros } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(squeeze(zeros([1, 3, 1])).shape, [3]);
 * ```
 */
export function squeeze(x: Tensor, axis?: number | number[]): Tensor {
  checkTensor("squeeze", x);
  const axes = axis === undefined
    ? x.shape.flatMap((d, i) => (d === 1 ? [i] : []))
    : normalizeAxes("squeeze", axis, x.shape);
  for (const a of axes) {
    if (x.shape[a] !== 1) {
      throw new RangeError(
        `squeeze: axis ${a} of shape ${fmt(x.shape)} has size ${x.shape[a]}, not 1`,
      );
    }
  }
  return fresh(lax.reshape(x, x.shape.filter((_, i) => !axes.includes(i))), x);
}

/**
 * Broadcasts to `shape` with NumPy rules.
 *
 * @example
 * ```ts
 * import { broadcastTo, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await broadcastTo(tensor([1, 2]), [2, 2]).toArray(), [[1, 2], [1, 2]]);
 * ```
 */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor("broadcastTo", x);
  const target = checkShape("broadcastTo", shape, x.dtype);
  const ok = x.ndim <= target.length &&
    x.shape.every((d, i) => d === 1 || d === target[target.length - x.ndim + i]);
  if (!ok) {
    throw new RangeError(`broadcastTo: cannot broadcast shape ${fmt(x.shape)} to ${fmt(target)}`);
  }
  return fresh(lax.broadcast(x, target), x);
}

function joinable(op: string, xs: readonly Tensor[]): Tensor[] {
  if (!Array.isArray(xs)) {
    throw new TypeError(`${op}: needs a non-empty array of tensors, got ${kindOf(xs)}`);
  }
  if (xs.length === 0) throw new RangeError(`${op}: needs a non-empty array of tensors`);
  xs.forEach((x, i) => checkTensor(op, x, `element ${i}`));
  commonDevice(op, xs);
  const dtype = resultType(xs);
  return xs.map((x) => lax.convert(x, dtype));
}

/**
 * Joins tensors along an existing axis.
 *
 * @example
 * ```ts
 * import { concat, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await concat([tensor([[1]]), tensor([[2]])], 1).toArray(), [[1, 2]]);
 * ```
 */
export function concat(xs: Tensor[], axis = 0): Tensor {
  const ts = joinable("concat", xs);
  const first = ts[0];
  if (first.ndim === 0) {
    throw new RangeError("concat: cannot concatenate scalars (shape []); use stack");
  }
  const a = normalizeAxis("concat", axis, first.shape);
  for (const t of ts) {
    if (t.ndim !== first.ndim || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new RangeError(
        `concat: shapes ${ts.map((x) => fmt(x.shape)).join(", ")} differ outside axis ${a}`,
      );
    }
  }
  return fresh(lax.concat(ts, a), ...xs);
}

/**
 * Joins tensors of one shape along a new axis.
 *
 * @example
 * ```ts
 * import { stack, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await stack([tensor([1, 2]), tensor([3, 4])], 1).toArray(), [[1, 3], [2, 4]]);
 * ```
 */
export function stack(xs: Tensor[], axis = 0): Tensor {
  const ts = joinable("stack", xs);
  const shape = ts[0].shape;
  if (ts.some((t) => t.shape.join() !== shape.join())) {
    throw new RangeError(
      `stack: all shapes must be equal, got ${ts.map((x) => fmt(x.shape)).join(", ")}`,
    );
  }
  const a = normalizeAxis("stack", axis, shape, 1);
  const expanded = [...shape.slice(0, a), 1, ...shape.slice(a)];
  return lax.concat(ts.map((t) => lax.reshape(t, expanded)), a);
}

/**
 * Splits along an axis into `sections` equal parts, or at the given indices (NumPy).
 *
 * @example
 * ```ts
 * import { arange, split } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const [a, b] = split(arange(5), [2]);
 * assert.deepEqual([await a.toArray(), await b.toArray()], [[0, 1], [2, 3, 4]]);
 * ```
 */
export function split(x: Tensor, sections: number | number[], axis = 0): Tensor[] {
  checkTensor("split", x);
  const a = normalizeAxis("split", axis, x.shape);
  const n = x.shape[a];
  let bounds: number[];
  if (typeof sections === "number") {
    if (!Number.isInteger(sections) || sections <= 0 || n % sections !== 0) {
      throw new RangeError(
        `split: axis ${a} of shape ${fmt(x.shape)} does not divide into ${sections} equal sections`,
      );
    }
    bounds = Array.from({ length: sections - 1 }, (_, i) => ((i + 1) * n) / sections);
  } else if (Array.isArray(sections) && sections.every(Number.isInteger)) {
    bounds = sections.map((s) => Math.min(Math.max(s < 0 ? s + n : s, 0), n));
  } else {
    throw new TypeError(
      `split: sections must be an integer or an array of integer indices, got ${String(sections)}`,
    );
  }
  const edges = [0, ...bounds, n];
  return edges.slice(1).map((end, i) => {
    const start = Math.min(edges[i], end);
    const begin = x.shape.map((_, d) => (d === a ? start : 0));
    const size = x.shape.map((dim, d) => (d === a ? end - start : dim));
    return fresh(lax.slice(x, begin, size), x);
  });
}

/**
 * The block starting at `begin` with extent `size` per axis (`-1`: to the end).
 *
 * @example
 * ```ts
 * import { slice, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const x = tensor([[1, 2, 3], [4, 5, 6]]);
 * assert.deepEqual(await slice(x, [0, 1], [-1, 2]).toArray(), [[2, 3], [5, 6]]);
 * ```
 */
export function slice(x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
  checkTensor("slice", x);
  if (!Array.isArray(begin) || !Array.isArray(size)) {
    throw new TypeError(`slice: begin and size must be arrays of integers, one per axis`);
  }
  if (begin.length !== x.ndim || size.length !== x.ndim) {
    throw new RangeError(
      `slice: begin ${fmt(begin)} and size ${fmt(size)} need one entry per axis of shape ${
        fmt(x.shape)
      }`,
    );
  }
  const sizes = size.map((s, i) => (s === -1 ? x.shape[i] - begin[i] : s));
  x.shape.forEach((d, i) => {
    const b = begin[i];
    const s = sizes[i];
    if (!Number.isInteger(b) || !Number.isInteger(s) || b < 0 || s < 0 || b + s > d) {
      throw new RangeError(
        `slice: begin ${fmt(begin)} size ${fmt(size)} is out of bounds for shape ${fmt(x.shape)}`,
      );
    }
  });
  return fresh(lax.slice(x, begin, sizes), x);
}

/**
 * Pads each axis with `[before, after]` elements of `value`.
 *
 * @example
 * ```ts
 * import { pad, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await pad(tensor([1, 2]), [[1, 2]]).toArray(), [0, 1, 2, 0, 0]);
 * ```
 */
export function pad(x: Tensor, widths: readonly (readonly [number, number])[], value = 0): Tensor {
  checkTensor("pad", x);
  if (!Array.isArray(widths)) {
    throw new TypeError(
      `pad: widths must be an array of [before, after] pairs, got ${kindOf(widths)}`,
    );
  }
  const ok = widths.length === x.ndim &&
    widths.every((w) =>
      Array.isArray(w) && w.length === 2 && w.every((v) => Number.isInteger(v) && v >= 0)
    );
  if (!ok) {
    throw new RangeError(
      `pad: widths must be one [before, after] pair of integers >= 0 per axis of shape ${
        fmt(x.shape)
      }`,
    );
  }
  if (typeof value !== "number") {
    throw new TypeError(`pad: value must be a number, got ${kindOf(value)}`);
  }
  if (x.dtype === "int32" && !(value > -2147483649 && value < 2147483648)) {
    throw new RangeError(`pad: the value ${value} does not fit in int32`);
  }
  checkSize("pad", x.shape.map((d, i) => d + widths[i][0] + widths[i][1]), x.dtype);
  return fresh(lax.pad(x, widths, value), x);
}
