/**
 * Elementwise kernels: unary and binary arithmetic, comparisons, `select` and `convert`. Each
 * row is one loop specialised per operation (the `switch` runs once per row, never per element),
 * and dense or scalar-broadcast operands arrive as a single row.
 *
 * @module
 */

import type { Aval, Params } from "../../core/backend.ts";
import { allocate, type DType, isFloat, type TypedArray } from "../../core/dtype.ts";
import { stridesOf } from "../../core/shape.ts";
import { type Allocate, CpuBuffer, forEachRow, type Kernel, pack } from "./_buffer.ts";

function sigmoid(x: number): number {
  // Two forms so that exp never overflows: for large |x| the result saturates to 0 or 1.
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/**
 * One row of a float unary op: `o[oi + i] = op(x[xi + i·xs])` for `i < n`.
 *
 * @example
 * ```ts
 * import { unaryFloatRow } from "./_elementwise.ts";
 * import assert from "node:assert/strict";
 * const o = new Float64Array(2);
 * unaryFloatRow("sqrt", new Float64Array([4, 0, 9]), 0, 2, o, 0, 2);
 * assert.deepEqual([...o], [2, 3]);
 * ```
 */
export function unaryFloatRow(
  op: string,
  x: TypedArray,
  xi: number,
  xs: number,
  o: TypedArray,
  oi: number,
  n: number,
): void {
  const end = oi + n;
  switch (op) {
    case "neg":
      for (; oi < end; oi++, xi += xs) o[oi] = -x[xi];
      return;
    case "exp":
      for (; oi < end; oi++, xi += xs) o[oi] = Math.exp(x[xi]);
      return;
    case "log":
      for (; oi < end; oi++, xi += xs) o[oi] = Math.log(x[xi]);
      return;
    case "sqrt":
      for (; oi < end; oi++, xi += xs) o[oi] = Math.sqrt(x[xi]);
      return;
    case "sin":
      for (; oi < end; oi++, xi += xs) o[oi] = Math.sin(x[xi]);
      return;
    case "cos":
      for (; oi < end; oi++, xi += xs) o[oi] = Math.cos(x[xi]);
      return;
    case "tanh":
      for (; oi < end; oi++, xi += xs) o[oi] = Math.tanh(x[xi]);
      return;
    case "sigmoid":
      for (; oi < end; oi++, xi += xs) o[oi] = sigmoid(x[xi]);
      return;
    case "abs":
      for (; oi < end; oi++, xi += xs) o[oi] = Math.abs(x[xi]);
      return;
    case "sign":
      // Returning v itself keeps 0, -0 and NaN as they are.
      for (; oi < end; oi++, xi += xs) {
        const v = x[xi];
        o[oi] = v > 0 ? 1 : v < 0 ? -1 : v;
      }
      return;
    case "log1p":
      for (; oi < end; oi++, xi += xs) o[oi] = Math.log1p(x[xi]);
      return;
    case "expm1":
      for (; oi < end; oi++, xi += xs) o[oi] = Math.expm1(x[xi]);
      return;
  }
  throw new Error(`cpu backend: no kernel for primitive "${op}" on floats`);
}

function unaryIntRow(
  op: string,
  x: TypedArray,
  xi: number,
  xs: number,
  o: TypedArray,
  oi: number,
  n: number,
): void {
  const end = oi + n;
  switch (op) {
    case "neg":
      for (; oi < end; oi++, xi += xs) o[oi] = -x[xi] | 0;
      return;
    case "abs":
      // abs(-2^31) wraps to itself, as in NumPy.
      for (; oi < end; oi++, xi += xs) o[oi] = Math.abs(x[xi]) | 0;
      return;
    case "sign":
      for (; oi < end; oi++, xi += xs) {
        const v = x[xi];
        o[oi] = v > 0 ? 1 : v < 0 ? -1 : 0;
      }
      return;
  }
  throw new Error(`cpu backend: no kernel for primitive "${op}" on int32`);
}

/**
 * One row of a float binary op: `o[oi + i] = a[ai + i·as] op b[bi + i·bs]` for `i < n`.
 *
 * @example
 * ```ts
 * import { binaryFloatRow } from "./_elementwise.ts";
 * import assert from "node:assert/strict";
 * const o = new Float64Array(2);
 * binaryFloatRow("sub", new Float64Array([5, 7]), 0, 1, new Float64Array([1]), 0, 0, o, 0, 2);
 * assert.deepEqual([...o], [4, 6]);
 * ```
 */
export function binaryFloatRow(
  op: string,
  a: TypedArray,
  ai: number,
  as: number,
  b: TypedArray,
  bi: number,
  bs: number,
  o: TypedArray,
  oi: number,
  n: number,
): void {
  const end = oi + n;
  switch (op) {
    case "add":
      for (; oi < end; oi++, ai += as, bi += bs) o[oi] = a[ai] + b[bi];
      return;
    case "sub":
      for (; oi < end; oi++, ai += as, bi += bs) o[oi] = a[ai] - b[bi];
      return;
    case "mul":
      for (; oi < end; oi++, ai += as, bi += bs) o[oi] = a[ai] * b[bi];
      return;
    case "div":
      for (; oi < end; oi++, ai += as, bi += bs) o[oi] = a[ai] / b[bi];
      return;
    case "pow":
      for (; oi < end; oi++, ai += as, bi += bs) o[oi] = Math.pow(a[ai], b[bi]);
      return;
    case "max":
      // Math.max propagates NaN, as NumPy's maximum does.
      for (; oi < end; oi++, ai += as, bi += bs) o[oi] = Math.max(a[ai], b[bi]);
      return;
    case "min":
      for (; oi < end; oi++, ai += as, bi += bs) o[oi] = Math.min(a[ai], b[bi]);
      return;
  }
  throw new Error(`cpu backend: no kernel for primitive "${op}" on floats`);
}

function binaryIntRow(
  op: string,
  a: TypedArray,
  ai: number,
  as: number,
  b: TypedArray,
  bi: number,
  bs: number,
  o: TypedArray,
  oi: number,
  n: number,
): void {
  const end = oi + n;
  switch (op) {
    case "add":
      for (; oi < end; oi++, ai += as, bi += bs) o[oi] = (a[ai] + b[bi]) | 0;
      return;
    case "sub":
      for (; oi < end; oi++, ai += as, bi += bs) o[oi] = (a[ai] - b[bi]) | 0;
      return;
    case "mul":
      for (; oi < end; oi++, ai += as, bi += bs) o[oi] = Math.imul(a[ai], b[bi]);
      return;
    case "div":
      // `| 0` truncates toward zero; division by zero gives 0 rather than a NaN cast.
      for (; oi < end; oi++, ai += as, bi += bs) {
        const d = b[bi];
        o[oi] = d === 0 ? 0 : (a[ai] / d) | 0;
      }
      return;
    case "pow":
      for (; oi < end; oi++, ai += as, bi += bs) o[oi] = Math.pow(a[ai], b[bi]) | 0;
      return;
    case "max":
      for (; oi < end; oi++, ai += as, bi += bs) {
        const x = a[ai];
        const y = b[bi];
        o[oi] = x > y ? x : y;
      }
      return;
    case "min":
      for (; oi < end; oi++, ai += as, bi += bs) {
        const x = a[ai];
        const y = b[bi];
        o[oi] = x < y ? x : y;
      }
      return;
  }
  throw new Error(`cpu backend: no kernel for primitive "${op}" on int32`);
}

function compareRow(
  op: string,
  a: TypedArray,
  ai: number,
  as: number,
  b: TypedArray,
  bi: number,
  bs: number,
  o: TypedArray,
  oi: number,
  n: number,
): void {
  const end = oi + n;
  switch (op) {
    case "eq":
      for (; oi < end; oi++, ai += as, bi += bs) o[oi] = a[ai] === b[bi] ? 1 : 0;
      return;
    case "ne":
      for (; oi < end; oi++, ai += as, bi += bs) o[oi] = a[ai] !== b[bi] ? 1 : 0;
      return;
    case "lt":
      for (; oi < end; oi++, ai += as, bi += bs) o[oi] = a[ai] < b[bi] ? 1 : 0;
      return;
    case "le":
      for (; oi < end; oi++, ai += as, bi += bs) o[oi] = a[ai] <= b[bi] ? 1 : 0;
      return;
    case "gt":
      for (; oi < end; oi++, ai += as, bi += bs) o[oi] = a[ai] > b[bi] ? 1 : 0;
      return;
    case "ge":
      for (; oi < end; oi++, ai += as, bi += bs) o[oi] = a[ai] >= b[bi] ? 1 : 0;
      return;
  }
  throw new Error(`cpu backend: no kernel for primitive "${op}"`);
}

/** Integer results stored as bool become 0/1, since a Uint8Array would keep e.g. 1 + 1 = 2. */
function toBool(values: TypedArray, alloc: Allocate): TypedArray {
  const out = alloc("bool", values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i] !== 0 ? 1 : 0;
  return out;
}

/** The storage a kernel computes into: bool results go through int32 first. */
function workArray(dtype: DType, size: number, alloc: Allocate): TypedArray {
  return dtype === "bool" ? new Int32Array(size) : alloc(dtype, size);
}

function finish(work: TypedArray, out: Aval, alloc: Allocate): CpuBuffer {
  return new CpuBuffer(out.dtype === "bool" ? toBool(work, alloc) : work, out.shape);
}

/**
 * The kernel of a unary primitive (`neg exp log sqrt sin cos tanh sigmoid abs sign log1p
 * expm1`); int32 supports `neg abs sign`.
 *
 * @example
 * ```ts
 * import { unaryKernel } from "./_elementwise.ts";
 * import { CpuBuffer } from "./_buffer.ts";
 * import assert from "node:assert/strict";
 * const x = new CpuBuffer(new Float32Array([0, 1]), [2]);
 * const y = unaryKernel("exp")([x], {}, { shape: [2], dtype: "float32", device: "cpu" });
 * assert.deepEqual([...y.data], [1, Math.fround(Math.E)]);
 * ```
 */
export function unaryKernel(op: string): Kernel {
  return (inputs, _params, out, alloc = allocate) => {
    const x = inputs[0];
    const row = isFloat(out.dtype) ? unaryFloatRow : unaryIntRow;
    const o = workArray(out.dtype, x.size, alloc);
    const xd = x.data;
    if (x.contiguous) {
      row(op, xd, x.offset, 1, o, 0, x.size);
    } else {
      forEachRow(x.shape, [x.strides, stridesOf(x.shape)], [x.offset, 0], (offs, n, steps) => {
        row(op, xd, offs[0], steps[0], o, offs[1], n);
      });
    }
    return finish(o, out, alloc);
  };
}

function binaryLoop(
  row: typeof binaryFloatRow,
  op: string,
  a: CpuBuffer,
  b: CpuBuffer,
  o: TypedArray,
): void {
  const ad = a.data;
  const bd = b.data;
  if (a.contiguous && b.contiguous) {
    row(op, ad, a.offset, 1, bd, b.offset, 1, o, 0, o.length);
    return;
  }
  const strides = [a.strides, b.strides, stridesOf(a.shape)];
  forEachRow(a.shape, strides, [a.offset, b.offset, 0], (offs, n, steps) => {
    row(op, ad, offs[0], steps[0], bd, offs[1], steps[1], o, offs[2], n);
  });
}

/**
 * The kernel of a binary primitive (`add sub mul div pow max min`) on two views of the same
 * shape. int32 wraps to 32 bits, and its `div` truncates toward zero (x / 0 is 0).
 *
 * @example
 * ```ts
 * import { binaryKernel } from "./_elementwise.ts";
 * import { CpuBuffer } from "./_buffer.ts";
 * import assert from "node:assert/strict";
 * const a = new CpuBuffer(new Int32Array([7, -7]), [2]);
 * const b = new CpuBuffer(new Int32Array([2, 2]), [2]);
 * const q = binaryKernel("div")([a, b], {}, { shape: [2], dtype: "int32", device: "cpu" });
 * assert.deepEqual([...q.data], [3, -3]);
 * ```
 */
export function binaryKernel(op: string): Kernel {
  return (inputs, _params, out, alloc = allocate) => {
    const row = isFloat(out.dtype) ? binaryFloatRow : binaryIntRow;
    const o = workArray(out.dtype, inputs[0].size, alloc);
    binaryLoop(row, op, inputs[0], inputs[1], o);
    return finish(o, out, alloc);
  };
}

/**
 * The kernel of a comparison (`eq ne lt le gt ge`), giving bool; NaN compares as IEEE says.
 *
 * @example
 * ```ts
 * import { compareKernel } from "./_elementwise.ts";
 * import { CpuBuffer } from "./_buffer.ts";
 * import assert from "node:assert/strict";
 * const a = new CpuBuffer(new Float32Array([1, NaN]), [2]);
 * const r = compareKernel("ne")([a, a], {}, { shape: [2], dtype: "bool", device: "cpu" });
 * assert.deepEqual([...r.data], [0, 1]);
 * ```
 */
export function compareKernel(op: string): Kernel {
  return (inputs, _params, out, alloc = allocate) => {
    const o = alloc("bool", inputs[0].size);
    binaryLoop(compareRow, op, inputs[0], inputs[1], o);
    return new CpuBuffer(o, out.shape);
  };
}

/**
 * `select([cond, a, b])`: `cond ? a : b` elementwise.
 *
 * @example
 * ```ts
 * import { select } from "./_elementwise.ts";
 * import { CpuBuffer } from "./_buffer.ts";
 * import assert from "node:assert/strict";
 * const c = new CpuBuffer(new Uint8Array([1, 0]), [2]);
 * const a = new CpuBuffer(new Float32Array([1, 2]), [2]);
 * const b = new CpuBuffer(new Float32Array([3, 4]), [2]);
 * const r = select([c, a, b], {}, { shape: [2], dtype: "float32", device: "cpu" });
 * assert.deepEqual([...r.data], [1, 4]);
 * ```
 */
export function select(
  inputs: readonly CpuBuffer[],
  _params: Params,
  out: Aval,
  alloc: Allocate = allocate,
): CpuBuffer {
  const [c, a, b] = inputs;
  const o = alloc(out.dtype, c.size);
  const cd = c.data;
  const ad = a.data;
  const bd = b.data;
  const strides = [c.strides, a.strides, b.strides, stridesOf(c.shape)];
  forEachRow(c.shape, strides, [c.offset, a.offset, b.offset, 0], (offs, n, steps) => {
    let ci = offs[0];
    let ai = offs[1];
    let bi = offs[2];
    const cs = steps[0];
    const as = steps[1];
    const bs = steps[2];
    const end = offs[3] + n;
    for (let oi = offs[3]; oi < end; oi++, ci += cs, ai += as, bi += bs) {
      o[oi] = cd[ci] !== 0 ? ad[ai] : bd[bi];
    }
  });
  return new CpuBuffer(o, out.shape);
}

/**
 * `convert({ dtype })`: to bool is `x != 0` (NaN is true); float to int32 truncates toward
 * zero (NaN is 0); bool becomes 0/1.
 *
 * @example
 * ```ts
 * import { convert } from "./_elementwise.ts";
 * import { CpuBuffer } from "./_buffer.ts";
 * import assert from "node:assert/strict";
 * const x = new CpuBuffer(new Float32Array([-1.7, 2.5, NaN]), [3]);
 * const r = convert([x], { dtype: "int32" }, { shape: [3], dtype: "int32", device: "cpu" });
 * assert.deepEqual([...r.data], [-1, 2, 0]);
 * ```
 */
export function convert(
  inputs: readonly CpuBuffer[],
  _params: Params,
  out: Aval,
  alloc: Allocate = allocate,
): CpuBuffer {
  const x = inputs[0];
  if (x.dtype === out.dtype) return x;
  if (out.dtype !== "bool") {
    // Typed-array assignment is exactly the conversion wanted (ToInt32 truncates, NaN is 0).
    return new CpuBuffer(pack(x, out.dtype, alloc), out.shape);
  }
  const o = alloc("bool", x.size);
  const xd = x.data;
  forEachRow(x.shape, [x.strides, stridesOf(x.shape)], [x.offset, 0], (offs, n, steps) => {
    let xi = offs[0];
    const xs = steps[0];
    const end = offs[1] + n;
    // `!== 0` is true for NaN, as NumPy's bool(nan).
    for (let oi = offs[1]; oi < end; oi++, xi += xs) o[oi] = xd[xi] !== 0 ? 1 : 0;
  });
  return new CpuBuffer(o, out.shape);
}

/**
 * `stopGradient`: the identity on values, so the input buffer itself.
 *
 * @example
 * ```ts
 * import { stopGradient } from "./_elementwise.ts";
 * import { CpuBuffer } from "./_buffer.ts";
 * import assert from "node:assert/strict";
 * const x = new CpuBuffer(new Float32Array([1]), [1]);
 * assert.equal(stopGradient([x], {}, { shape: [1], dtype: "float32", device: "cpu" }), x);
 * ```
 */
export function stopGradient(inputs: readonly CpuBuffer[], _params: Params, _out: Aval): CpuBuffer {
  return inputs[0];
}

/** The unary primitives, each with its kernel. */
export const UNARY: readonly string[] = [
  "neg",
  "exp",
  "log",
  "sqrt",
  "sin",
  "cos",
  "tanh",
  "sigmoid",
  "abs",
  "sign",
  "log1p",
  "expm1",
];

/** The binary arithmetic primitives. */
export const BINARY: readonly string[] = ["add", "sub", "mul", "div", "pow", "max", "min"];

/** The comparison primitives. */
export const COMPARE: readonly string[] = ["eq", "ne", "lt", "le", "gt", "ge"];
