/** Turning op arguments into tensors of one dtype, device and shape, with precise errors. */

import { type Device, getDefaultDevice } from "../core/backend.ts";
import { type DType, isFloat, promoteTypes, type PromotionInput } from "../core/dtype.ts";
import * as lax from "../core/lax.ts";
import { broadcastShapes, checkSize, fmt, type Shape } from "../core/shape.ts";
import { Tensor, type TensorLike } from "../core/tensor.ts";

/** Rejects anything that is not a tensor, number or boolean. */
export function checkTensorLike(op: string, x: unknown, what = "argument"): TensorLike {
  if (isTensorLike(x)) return x;
  throw notTensorLike(op, x, what);
}

function isTensorLike(x: unknown): x is TensorLike {
  return x instanceof Tensor || typeof x === "number" || typeof x === "boolean";
}

function notTensorLike(op: string, x: unknown, what: string): TypeError {
  const kind = Array.isArray(x) ? "an array (wrap it with tensor())" : kindOf(x);
  return new TypeError(`${op}: ${what} must be a Tensor or a number, got ${kind}`);
}

/** Rejects anything that is not a tensor. */
export function checkTensor(op: string, x: unknown, what = "argument"): Tensor {
  if (x instanceof Tensor) return x;
  throw new TypeError(`${op}: ${what} must be a Tensor, got ${kindOf(x)}`);
}

/** What a value is, for messages: `an array`, `null`, `string`. */
export function kindOf(x: unknown): string {
  if (x instanceof Tensor) return `a tensor ${x.describe()}`;
  if (Array.isArray(x)) return "an array";
  return x === null ? "null" : typeof x;
}

/**
 * `result`, or a new tensor with its values when it is one of the operation's `inputs`: no
 * operation returns its input, so disposing a result never frees what the caller passed in.
 */
export function fresh(result: Tensor, ...inputs: Tensor[]): Tensor {
  return inputs.includes(result) ? lax.view(result) : result;
}

// The shape a number broadcasts as.
const SCALAR: Shape = Object.freeze([]);

function promotionType(x: TensorLike): PromotionInput {
  if (x instanceof Tensor) return x.dtype;
  if (typeof x === "boolean") return "bool";
  return Number.isInteger(x) ? "weakInt" : "weakFloat";
}

/** The common device of the tensor arguments (a TypeError naming both when they differ). */
export function commonDevice(op: string, xs: readonly TensorLike[]): Device {
  let device: Device | null = null;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    if (!(x instanceof Tensor)) continue;
    if (device !== null && x.device !== device) {
      throw new TypeError(`${op}: tensors are on different devices: ${device} and ${x.device}`);
    }
    device = x.device;
  }
  return device ?? getDefaultDevice();
}

/** The promoted dtype of the arguments (JAX rules with weak numbers). */
export function resultType(xs: readonly TensorLike[]): DType {
  return promoteTypes(xs.map(promotionType));
}

/** A tensor of `dtype` on `device` from a tensor or a number. */
export function asTensor(x: TensorLike, dtype: DType, device: Device): Tensor {
  if (x instanceof Tensor) return lax.convert(x, dtype);
  return lax.scalar(typeof x === "boolean" ? Number(x) : x, dtype, device);
}

/**
 * Validates, promotes and broadcasts operands to one dtype, device and shape. `arith` makes
 * booleans int32 (bool behaves as int32 in arithmetic); `float` makes the result floating.
 * An integer number that does not fit an int32 result is a RangeError (as JAX), not a wrap.
 */
export function coerce(
  op: string,
  xs: readonly unknown[],
  { arith = false, float = false }: { arith?: boolean; float?: boolean } = {},
): Tensor[] {
  for (let i = 0; i < xs.length; i++) {
    if (!isTensorLike(xs[i])) {
      throw notTensorLike(op, xs[i], xs.length > 1 ? `argument ${i}` : "argument");
    }
  }
  const args = xs as readonly TensorLike[];
  const device = commonDevice(op, args);
  let dtype = resultType(args);
  if (arith && dtype === "bool") dtype = "int32";
  if (float && !isFloat(dtype)) dtype = "float32";
  if (dtype === "int32") {
    const big = args.find((a) => typeof a === "number" && (a < -(2 ** 31) || a >= 2 ** 31));
    if (big !== undefined) throw new RangeError(`${op}: the number ${big} does not fit in int32`);
  }
  const shapes = new Array<Shape>(args.length);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    shapes[i] = a instanceof Tensor ? a.shape : SCALAR;
  }
  const shape = broadcastShapes(op, ...shapes);
  checkSize(op, shape, dtype);
  const out = new Array<Tensor>(args.length);
  for (let i = 0; i < args.length; i++) {
    out[i] = lax.broadcast(asTensor(args[i], dtype, device), shape);
  }
  return out;
}

/** Checks that a tensor has an integer dtype (for indices). */
export function checkIndices(op: string, idx: Tensor): Tensor {
  if (idx.dtype !== "int32" && idx.dtype !== "bool") {
    throw new TypeError(`${op}: indices must be int32, got ${idx.describe()}`);
  }
  return lax.convert(idx, "int32");
}

/** Formats shapes for messages. */
export { fmt };
