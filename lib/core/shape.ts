/**
 * Shape arithmetic: sizes, strides, broadcasting and axis normalisation. Every function
 * validates its input and names the calling operation in its error. This is also the one
 * place that words the errors of tensors too big to exist or to allocate.
 *
 * @module
 */

import { type DType, itemSize } from "./dtype.ts";

/** A tensor shape: one non-negative integer per dimension. */
export type Shape = readonly number[];

/**
 * Formats a shape as it appears in error messages: `[2,3]`.
 *
 * @example
 * ```ts
 * import { fmt } from "./shape.ts";
 * import assert from "node:assert/strict";
 * assert.equal(fmt([2, 3]), "[2,3]");
 * ```
 */
export function fmt(shape: Shape): string {
  return `[${shape.join(",")}]`;
}

/**
 * The number of elements of a shape (1 for a scalar).
 *
 * @example
 * ```ts
 * import { sizeOf } from "./shape.ts";
 * import assert from "node:assert/strict";
 * assert.equal(sizeOf([2, 3, 4]), 24);
 * ```
 */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n;
}

/**
 * Row-major (C order) strides, in elements.
 *
 * @example
 * ```ts
 * import { stridesOf } from "./shape.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(stridesOf([2, 3, 4]), [12, 4, 1]);
 * ```
 */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/**
 * Whether two shapes are equal.
 *
 * @example
 * ```ts
 * import { shapesEqual } from "./shape.ts";
 * import assert from "node:assert/strict";
 * assert.ok(shapesEqual([2, 3], [2, 3]));
 * ```
 */
export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Checks that a value is a valid shape (and, given a dtype, that a tensor of it can exist:
 * see {@linkcode checkSize}), or throws a TypeError/RangeError naming `op`.
 *
 * @example
 * ```ts
 * import { checkShape } from "./shape.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => checkShape("zeros", [2, -1]), RangeError);
 * assert.throws(() => checkShape("zeros", [1e6, 1e6], "float32"), /4000000000000 bytes/);
 * ```
 */
export function checkShape(op: string, shape: unknown, dtype?: DType): number[] {
  if (!Array.isArray(shape)) {
    const got = typeof shape === "string" ? "string" : String(shape);
    throw new TypeError(`${op}: shape must be an array of integers, got ${got}`);
  }
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(`${op}: invalid shape ${fmt(shape)}: dimensions must be integers >= 0`);
    }
  }
  if (dtype !== undefined) checkSize(op, shape, dtype);
  return [...shape];
}

/** The most elements a tensor may have: kernels index elements with 32-bit integers. */
export const MAX_SIZE: number = 2 ** 31 - 1;

function bytesOf(shape: Shape, dtype: DType): string {
  const bytes = sizeOf(shape) * itemSize(dtype);
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) [value, unit] = [value / 1024, unit + 1];
  return unit === 0 ? `${bytes} bytes` : `${bytes} bytes (${value.toFixed(1)} ${units[unit]})`;
}

/**
 * Checks that a tensor of `shape` and `dtype` can exist, or throws a RangeError naming `op`,
 * the shape and the bytes it would take (views count too: an operation on a huge broadcast
 * view would run element by element for hours).
 *
 * @example
 * ```ts
 * import { checkSize } from "./shape.ts";
 * import assert from "node:assert/strict";
 * assert.throws(
 *   () => checkSize("zeros", [1e6, 1e6], "float32"),
 *   /zeros: a float32 tensor of shape \[1000000,1000000\] would take 4000000000000 bytes/,
 * );
 * ```
 */
export function checkSize(op: string, shape: Shape, dtype: DType): void {
  if (sizeOf(shape) <= MAX_SIZE) return;
  throw new RangeError(
    `${op}: a ${dtype} tensor of shape ${fmt(shape)} would take ${
      bytesOf(shape, dtype)
    }; a tensor holds at most ${MAX_SIZE} elements`,
  );
}

// How runtimes and backends say that memory ran out.
const ALLOCATION_FAILED =
  /allocation failed|heap exhausted|invalid (typed )?array (buffer )?length|out of memory/i;

/**
 * Runs `allocate`, which makes the storage of a `dtype` tensor of `shape` on `device`, and turns
 * a failure to get the memory into a RangeError naming `op`, the shape and the bytes.
 *
 * @example
 * ```ts
 * import { allocating } from "./shape.ts";
 * import assert from "node:assert/strict";
 * assert.throws(
 *   () => allocating("zeros", [2 ** 30], "float64", "cpu", () => new Float64Array(2 ** 40)),
 *   /zeros: cannot allocate 8589934592 bytes \(8.0 GiB\) for a float64 tensor of shape \[1073741824\] on cpu/,
 * );
 * ```
 */
export function allocating<T>(
  op: string,
  shape: Shape,
  dtype: DType,
  device: string,
  allocate: () => T,
): T {
  try {
    return allocate();
  } catch (e) {
    if (!(e instanceof RangeError) || !ALLOCATION_FAILED.test(e.message)) throw e;
    throw new RangeError(
      `${op}: cannot allocate ${bytesOf(shape, dtype)} for a ${dtype} tensor of shape ${
        fmt(shape)
      } on ${device}: ${e.message}`,
      { cause: e },
    );
  }
}

/**
 * The NumPy broadcast of shapes, or a RangeError such as
 * `add: cannot broadcast shapes [2,3] and [4]`.
 *
 * @example
 * ```ts
 * import { broadcastShapes } from "./shape.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(broadcastShapes("add", [2, 1], [3]), [2, 3]);
 * ```
 */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  let rank = 0;
  for (let k = 0; k < shapes.length; k++) rank = Math.max(rank, shapes[k].length);
  const out = new Array<number>(rank).fill(1);
  for (let k = 0; k < shapes.length; k++) {
    const s = shapes[k];
    for (let i = 0; i < s.length; i++) {
      const j = rank - s.length + i;
      const d = s[i];
      if (d === out[j] || d === 1) continue;
      if (out[j] === 1) out[j] = d;
      else {
        throw new RangeError(`${op}: cannot broadcast shapes ${shapes.map(fmt).join(" and ")}`);
      }
    }
  }
  return out;
}

/**
 * Resolves a possibly negative axis against a rank, or throws a RangeError naming `op` and
 * the shape.
 *
 * @example
 * ```ts
 * import { normalizeAxis } from "./shape.ts";
 * import assert from "node:assert/strict";
 * assert.equal(normalizeAxis("sum", -1, [2, 3]), 1);
 * assert.throws(() => normalizeAxis("sum", 2, [2, 3]), RangeError);
 * ```
 */
export function normalizeAxis(op: string, axis: number, shape: Shape, extra = 0): number {
  if (typeof axis !== "number") {
    const kind = Array.isArray(axis) ? "an array" : typeof axis;
    throw new TypeError(`${op}: axis must be an integer, got ${kind} for shape ${fmt(shape)}`);
  }
  const rank = shape.length + extra;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new RangeError(
      `${op}: axis ${axis} is out of bounds for shape ${fmt(shape)} (rank ${shape.length})`,
    );
  }
  return axis < 0 ? axis + rank : axis;
}

/**
 * Resolves an axis option (one axis, several, or all when undefined) to sorted unique axes.
 *
 * @example
 * ```ts
 * import { normalizeAxes } from "./shape.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(normalizeAxes("sum", [-1, 0], [2, 3, 4]), [0, 2]);
 * assert.deepEqual(normalizeAxes("sum", undefined, [2, 3]), [0, 1]);
 * ```
 */
export function normalizeAxes(
  op: string,
  axis: number | readonly number[] | undefined | null,
  shape: Shape,
): number[] {
  if (axis === undefined || axis === null) return shape.map((_, i) => i);
  const list = typeof axis === "number" ? [axis] : axis;
  if (!Array.isArray(list)) {
    throw new TypeError(
      `${op}: axis must be an integer or an array of integers, got ${typeof axis} for shape ${
        fmt(shape)
      }`,
    );
  }
  const out = list.map((a) => normalizeAxis(op, a, shape));
  if (new Set(out).size !== out.length) {
    throw new RangeError(`${op}: repeated axis in ${fmt(list)} for shape ${fmt(shape)}`);
  }
  return out.sort((a, b) => a - b);
}

/**
 * Whether strides describe row-major order. Dimensions of size 1 are ignored since their stride
 * never moves the index, and an empty view is contiguous whatever its strides.
 *
 * @example
 * ```ts
 * import { isRowMajor } from "./shape.ts";
 * import assert from "node:assert/strict";
 * assert.ok(isRowMajor([2, 1, 3], [3, 99, 1]));
 * assert.ok(!isRowMajor([2, 3], [1, 2]));
 * ```
 */
export function isRowMajor(shape: Shape, strides: readonly number[]): boolean {
  let expected = 1;
  let dense = true;
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = shape[i];
    if (d === 0) return true;
    if (d !== 1 && strides[i] !== expected) dense = false;
    expected *= d;
  }
  return dense;
}

/**
 * The strides of a view broadcast (NumPy rules) from `shape`/`strides` to `target`: 0 along new
 * and stretched dimensions. Backends use it to broadcast without copying.
 *
 * @example
 * ```ts
 * import { broadcastStrides } from "./shape.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(broadcastStrides([3], [1], [2, 3]), [0, 1]);
 * ```
 */
export function broadcastStrides(
  shape: Shape,
  strides: readonly number[],
  target: Shape,
): number[] {
  const lead = target.length - shape.length;
  return target.map((n, d) => {
    const i = d - lead;
    return i < 0 || (shape[i] === 1 && n !== 1) ? 0 : strides[i];
  });
}

/**
 * The element offset of `begin` in a view with `strides` starting at `offset`.
 *
 * @example
 * ```ts
 * import { offsetOf } from "./shape.ts";
 * import assert from "node:assert/strict";
 * assert.equal(offsetOf(0, [3, 1], [1, 2]), 5);
 * ```
 */
export function offsetOf(
  offset: number,
  strides: readonly number[],
  begin: readonly number[],
): number {
  for (let d = 0; d < begin.length; d++) offset += begin[d] * strides[d];
  return offset;
}
