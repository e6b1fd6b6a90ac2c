/**
 * Direct calls of primitives, without validation, broadcasting or promotion: the vocabulary
 * in which rules are written (JAX's `lax` to the ops layer's `numpy`). Shapes and dtypes
 * must already agree. Primitives are found by name, so rule files need not import each other.
 *
 * @module
 */

import { type Device, getBackend, type Params } from "./backend.ts";
import { allocate, type DType, dtypeOfArray, type TypedArray } from "./dtype.ts";
import { getPrimitive } from "./primitive.ts";
import type { Shape } from "./shape.ts";
import { Tensor } from "./tensor.ts";
import { bind } from "./trace.ts";

const NO_PARAMS: Params = Object.freeze({});

const call = (name: string, args: Tensor[], params: Params = NO_PARAMS): Tensor =>
  bind(getPrimitive(name), args, params);

/** A concrete tensor owning `data` (row-major, of the dtype its array type stores). */
export function fromArray(data: TypedArray, shape: Shape, device: Device): Tensor {
  const aval = { shape, dtype: dtypeOfArray(data), device };
  return new Tensor(aval, getBackend(device).fromArray(data, shape));
}

/** A concrete scalar tensor. */
export function scalar(value: number, dtype: DType, device: Device): Tensor {
  return fromArray(scalarStorage(value, dtype), [], device);
}

// The numbers of a program recur (a learning rate, 1 - b1, 0.5) and typed arrays are costly to
// make, so each value's one-element storage serves every scalar tensor of it: no tensor ever
// writes its storage. -0 is made each time (a Map does not tell it from 0); the table is
// emptied when it grows large (a schedule's learning rate changes every step).
const scalars = new Map<DType, Map<number, TypedArray>>();

function scalarStorage(value: number, dtype: DType): TypedArray {
  let table = scalars.get(dtype);
  if (table === undefined) scalars.set(dtype, table = new Map());
  let data = table.get(value);
  if (data === undefined || Object.is(value, -0)) {
    data = allocate(dtype, 1);
    data[0] = value;
    if (table.size >= 1024) table.clear();
    if (!Object.is(value, -0)) table.set(value, data);
  }
  return data;
}

/** A tensor of one value everywhere (a broadcast view of one scalar where the backend can). */
export function full(shape: Shape, value: number, dtype: DType, device: Device): Tensor {
  const s = scalar(value, dtype, device);
  return shape.length === 0 ? s : broadcast(s, shape);
}

/** `full` with the shape, dtype and device of `x`. */
export function fullLike(x: Tensor, value: number): Tensor {
  return full(x.shape, value, x.dtype, x.device);
}

/** Zeros shaped like `x`. */
export function zerosLike(x: { shape: Shape; dtype: DType; device: Device }): Tensor {
  return full(x.shape, 0, x.dtype, x.device);
}

/** `-x` */ export const neg = (x: Tensor): Tensor => call("neg", [x]);
/** `e^x` */ export const exp = (x: Tensor): Tensor => call("exp", [x]);
/** `ln x` */ export const log = (x: Tensor): Tensor => call("log", [x]);
/** `√x` */ export const sqrt = (x: Tensor): Tensor => call("sqrt", [x]);
/** `sin x` */ export const sin = (x: Tensor): Tensor => call("sin", [x]);
/** `cos x` */ export const cos = (x: Tensor): Tensor => call("cos", [x]);
/** `tanh x` */ export const tanh = (x: Tensor): Tensor => call("tanh", [x]);
/** `1/(1+e^-x)` */ export const sigmoid = (x: Tensor): Tensor => call("sigmoid", [x]);
/** `|x|` */ export const abs = (x: Tensor): Tensor => call("abs", [x]);
/** `sign x` */ export const sign = (x: Tensor): Tensor => call("sign", [x]);
/** `ln(1+x)` */ export const log1p = (x: Tensor): Tensor => call("log1p", [x]);
/** `e^x - 1` */ export const expm1 = (x: Tensor): Tensor => call("expm1", [x]);

/** `x + y` */ export const add = (x: Tensor, y: Tensor): Tensor => call("add", [x, y]);
/** `x - y` */ export const sub = (x: Tensor, y: Tensor): Tensor => call("sub", [x, y]);
/** `x * y` */ export const mul = (x: Tensor, y: Tensor): Tensor => call("mul", [x, y]);
/** `x / y` */ export const div = (x: Tensor, y: Tensor): Tensor => call("div", [x, y]);
/** `x ** y` */ export const pow = (x: Tensor, y: Tensor): Tensor => call("pow", [x, y]);
/** `max(x, y)` */ export const max = (x: Tensor, y: Tensor): Tensor => call("max", [x, y]);
/** `min(x, y)` */ export const min = (x: Tensor, y: Tensor): Tensor => call("min", [x, y]);

/** `x == y` */ export const eq = (x: Tensor, y: Tensor): Tensor => call("eq", [x, y]);
/** `x != y` */ export const ne = (x: Tensor, y: Tensor): Tensor => call("ne", [x, y]);
/** `x < y` */ export const lt = (x: Tensor, y: Tensor): Tensor => call("lt", [x, y]);
/** `x <= y` */ export const le = (x: Tensor, y: Tensor): Tensor => call("le", [x, y]);
/** `x > y` */ export const gt = (x: Tensor, y: Tensor): Tensor => call("gt", [x, y]);
/** `x >= y` */ export const ge = (x: Tensor, y: Tensor): Tensor => call("ge", [x, y]);

/** `cond ? a : b` elementwise. */
export const select = (cond: Tensor, a: Tensor, b: Tensor): Tensor => call("select", [cond, a, b]);
/** Converts to a dtype. */
export const convert = (x: Tensor, dtype: DType): Tensor =>
  x.dtype === dtype ? x : call("convert", [x], { dtype });
/** Blocks differentiation. */
export const stopGradient = (x: Tensor): Tensor => call("stopGradient", [x]);

/** Sum over sorted axes, dropping them. */
export const reduceSum = (x: Tensor, axes: readonly number[]): Tensor =>
  axes.length === 0 ? x : call("reduceSum", [x], { axes });
/** Maximum over sorted axes, dropping them. */
export const reduceMax = (x: Tensor, axes: readonly number[]): Tensor =>
  axes.length === 0 ? x : call("reduceMax", [x], { axes });
/** Minimum over sorted axes, dropping them. */
export const reduceMin = (x: Tensor, axes: readonly number[]): Tensor =>
  axes.length === 0 ? x : call("reduceMin", [x], { axes });
/** Product over sorted axes, dropping them. */
export const reduceProd = (x: Tensor, axes: readonly number[]): Tensor =>
  axes.length === 0 ? x : call("reduceProd", [x], { axes });
/** Index of the maximum along an axis (int32). */
export const argmax = (x: Tensor, axis: number): Tensor => call("argmax", [x], { axis });
/** Index of the minimum along an axis (int32). */
export const argmin = (x: Tensor, axis: number): Tensor => call("argmin", [x], { axis });

/**
 * A new tensor with `x`'s values: a view of its storage where the backend has views. Public
 * operations return it where their result would otherwise be their input itself, so that
 * disposing a result never frees an input.
 */
export const view = (x: Tensor): Tensor => call("reshape", [x], { shape: [...x.shape] });

/** Same values, new shape of equal size. */
export const reshape = (x: Tensor, shape: Shape): Tensor =>
  sameShape(x.shape, shape) ? x : call("reshape", [x], { shape: [...shape] });
/** NumPy broadcast to `shape`. */
export const broadcast = (x: Tensor, shape: Shape): Tensor =>
  sameShape(x.shape, shape) ? x : call("broadcast", [x], { shape: [...shape] });
/** Output axis i is input axis `perm[i]`. */
export const transpose = (x: Tensor, perm: readonly number[]): Tensor =>
  isIdentity(perm) ? x : call("transpose", [x], { perm: [...perm] });
/** The block at `begin` of extent `size`. */
export const slice = (x: Tensor, begin: readonly number[], size: readonly number[]): Tensor =>
  sameShape(x.shape, size) ? x : call("slice", [x], { begin: [...begin], size: [...size] });
/** Pads each axis by `[before, after]` with `value`. */
export const pad = (
  x: Tensor,
  widths: readonly (readonly [number, number])[],
  value: number,
): Tensor =>
  widths.every(([a, b]) => a === 0 && b === 0)
    ? x
    : call("pad", [x], { widths: widths.map(([a, b]) => [a, b]), value });
/** Joins tensors along an axis. */
export const concat = (xs: Tensor[], axis: number): Tensor =>
  xs.length === 1 ? xs[0] : call("concat", xs, { axis });
/** `x` indexed by `idx` along `axis`. */
export const gather = (x: Tensor, idx: Tensor, axis: number): Tensor =>
  call("gather", [x, idx], { axis });
/** Adds `upd` into zeros of extent `size` at `idx` along `axis`. */
export const scatterAdd = (upd: Tensor, idx: Tensor, axis: number, size: number): Tensor =>
  call("scatterAdd", [upd, idx], { axis, size });
/** Batched matrix product over identical batch dims. */
export const matmul = (a: Tensor, b: Tensor): Tensor => call("matmul", [a, b]);
/** Softmax along an axis. */
export const softmax = (x: Tensor, axis: number): Tensor => call("softmax", [x], { axis });
/** Log-softmax along an axis. */
export const logSoftmax = (x: Tensor, axis: number): Tensor => call("logSoftmax", [x], { axis });
/** Indices along `axis` of a tensor of `shape`. */
export const iota = (shape: Shape, axis: number, dtype: DType, device: Device): Tensor =>
  call("iota", [], { shape: [...shape], axis, dtype, device });

/** Swaps the last two axes. */
export function swapLast(x: Tensor): Tensor {
  const perm = x.shape.map((_, i) => i);
  const n = perm.length;
  [perm[n - 2], perm[n - 1]] = [perm[n - 1], perm[n - 2]];
  return transpose(x, perm);
}

/** Moves axis `from` to position `to`. */
export function moveAxis(x: Tensor, from: number, to: number): Tensor {
  if (from === to) return x;
  const perm = x.shape.map((_, i) => i).filter((i) => i !== from);
  perm.splice(to, 0, from);
  return transpose(x, perm);
}

/** Re-inserts reduced `axes` of an output as size-1 dims, then broadcasts to `shape`. */
export function unreduce(y: Tensor, axes: readonly number[], shape: Shape): Tensor {
  const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  return broadcast(reshape(y, kept), shape);
}

/** Adds two possibly-zero (`null`) tangents. */
export function addMaybe(a: Tensor | null, b: Tensor | null): Tensor | null {
  if (a === null) return b;
  if (b === null) return a;
  return add(a, b);
}

/** Multiplies by a number, keeping the dtype. */
export function scale(x: Tensor, c: number): Tensor {
  return mul(x, fullLike(x, c));
}

function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isIdentity(perm: readonly number[]): boolean {
  for (let i = 0; i < perm.length; i++) if (perm[i] !== i) return false;
  return true;
}
