/**
 * Elementwise operations with NumPy broadcasting and JAX type promotion. Numbers are accepted
 * wherever a tensor is.
 *
 * @module
 */

import { type DType, isDType, isFloat } from "../core/dtype.ts";
import * as lax from "../core/lax.ts";
import { broadcastShapes } from "../core/shape.ts";
import type { Tensor, TensorLike } from "../core/tensor.ts";
import { checkTensor, coerce, commonDevice, fresh } from "./_coerce.ts";

const binary = (name: string, prim: (x: Tensor, y: Tensor) => Tensor, float = false) => {
  const options = { arith: true, float };
  return (x: TensorLike, y: TensorLike): Tensor => {
    const [a, b] = coerce(name, [x, y], options);
    return prim(a, b);
  };
};

const compare =
  (name: string, prim: (x: Tensor, y: Tensor) => Tensor) =>
  (x: TensorLike, y: TensorLike): Tensor => {
    const [a, b] = coerce(name, [x, y]);
    return prim(a, b);
  };

const FLOAT = { float: true };

const floating = (name: string, prim: (x: Tensor) => Tensor) => (x: TensorLike): Tensor =>
  prim(coerce(name, [x], FLOAT)[0]);

const integral = (name: string, prim: (x: Tensor) => Tensor) => (x: TensorLike): Tensor =>
  prim(coerce(name, [x], { arith: true })[0]);

/**
 * `x + y` elementwise, with broadcasting.
 *
 * @example
 * ```ts
 * import { add, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await add(tensor([[1], [2]]), tensor([10, 20])).toArray(), [[11, 21], [12, 22]]);
 * ```
 */
export const add: (x: TensorLike, y: TensorLike) => Tensor = binary("add", lax.add);
/**
 * `x - y` elementwise, with broadcasting.
 *
 * @example
 * ```ts
 * import { sub, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await sub(tensor([5, 7]), 2).toArray(), [3, 5]);
 * ```
 */
export const sub: (x: TensorLike, y: TensorLike) => Tensor = binary("sub", lax.sub);
/**
 * `x * y` elementwise, with broadcasting.
 *
 * @example
 * ```ts
 * import { mul, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await mul(tensor([1, 2]), tensor([3, 4])).toArray(), [3, 8]);
 * ```
 */
export const mul: (x: TensorLike, y: TensorLike) => Tensor = binary("mul", lax.mul);
/**
 * `x / y` elementwise (true division: integers give float32).
 *
 * @example
 * ```ts
 * import { div, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await div(tensor([1, 3]), 2).toArray(), [0.5, 1.5]);
 * ```
 */
export const div: (x: TensorLike, y: TensorLike) => Tensor = binary("div", lax.div, true);
/**
 * `x ** y` elementwise.
 *
 * @example
 * ```ts
 * import { pow, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await pow(tensor([2, 3]), 2).toArray(), [4, 9]);
 * ```
 */
export const pow: (x: TensorLike, y: TensorLike) => Tensor = binary("pow", lax.pow);
/**
 * Elementwise maximum (NaN propagates).
 *
 * @example
 * ```ts
 * import { maximum, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await maximum(tensor([1, 5]), 3).toArray(), [3, 5]);
 * ```
 */
export const maximum: (x: TensorLike, y: TensorLike) => Tensor = binary("maximum", lax.max);
/**
 * Elementwise minimum (NaN propagates).
 *
 * @example
 * ```ts
 * import { minimum, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await minimum(tensor([1, 5]), 3).toArray(), [1, 3]);
 * ```
 */
export const minimum: (x: TensorLike, y: TensorLike) => Tensor = binary("minimum", lax.min);

/**
 * `x == y` elementwise (bool).
 *
 * @example
 * ```ts
 * import { equal, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await equal(tensor([1, 2]), 2).toArray(), [false, true]);
 * ```
 */
export const equal: (x: TensorLike, y: TensorLike) => Tensor = compare("equal", lax.eq);
/**
 * `x != y` elementwise (bool).
 *
 * @example
 * ```ts
 * import { notEqual, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await notEqual(tensor([1, 2]), 2).toArray(), [true, false]);
 * ```
 */
export const notEqual: (x: TensorLike, y: TensorLike) => Tensor = compare("notEqual", lax.ne);
/**
 * `x < y` elementwise (bool).
 *
 * @example
 * ```ts
 * import { less, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await less(tensor([1, 2]), 2).toArray(), [true, false]);
 * ```
 */
export const less: (x: TensorLike, y: TensorLike) => Tensor = compare("less", lax.lt);
/**
 * `x <= y` elementwise (bool).
 *
 * @example
 * ```ts
 * import { lessEqual, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await lessEqual(tensor([1, 2, 3]), 2).toArray(), [true, true, false]);
 * ```
 */
export const lessEqual: (x: TensorLike, y: TensorLike) => Tensor = compare("lessEqual", lax.le);
/**
 * `x > y` elementwise (bool).
 *
 * @example
 * ```ts
 * import { greater, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await greater(tensor([1, 3]), 2).toArray(), [false, true]);
 * ```
 */
export const greater: (x: TensorLike, y: TensorLike) => Tensor = compare("greater", lax.gt);
/**
 * `x >= y` elementwise (bool).
 *
 * @example
 * ```ts
 * import { greaterEqual, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await greaterEqual(tensor([1, 2]), 2).toArray(), [false, true]);
 * ```
 */
export const greaterEqual: (x: TensorLike, y: TensorLike) => Tensor = compare(
  "greaterEqual",
  lax.ge,
);

/**
 * `-x`.
 *
 * @example
 * ```ts
 * import { neg, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await neg(tensor([1, -2])).toArray(), [-1, 2]);
 * ```
 */
export const neg: (x: TensorLike) => Tensor = integral("neg", lax.neg);
/**
 * `|x|`.
 *
 * @example
 * ```ts
 * import { abs, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await abs(tensor([1, -2])).toArray(), [1, 2]);
 * ```
 */
export const abs: (x: TensorLike) => Tensor = integral("abs", lax.abs);
/**
 * The sign of x: -1, 0 or 1.
 *
 * @example
 * ```ts
 * import { sign, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await sign(tensor([3, 0, -2])).toArray(), [1, 0, -1]);
 * ```
 */
export const sign: (x: TensorLike) => Tensor = integral("sign", lax.sign);
/**
 * `x * x`.
 *
 * @example
 * ```ts
 * import { square, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await square(tensor([3, -2])).toArray(), [9, 4]);
 * ```
 */
export const square: (x: TensorLike) => Tensor = integral("square", (x) => lax.mul(x, x));
/**
 * `e ** x`.
 *
 * @example
 * ```ts
 * import { exp, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.equal(exp(tensor(0)).item(), 1);
 * ```
 */
export const exp: (x: TensorLike) => Tensor = floating("exp", lax.exp);
/**
 * The natural logarithm.
 *
 * @example
 * ```ts
 * import { log, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.equal(log(tensor(1)).item(), 0);
 * ```
 */
export const log: (x: TensorLike) => Tensor = floating("log", lax.log);
/**
 * The square root.
 *
 * @example
 * ```ts
 * import { sqrt, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await sqrt(tensor([4, 9])).toArray(), [2, 3]);
 * ```
 */
export const sqrt: (x: TensorLike) => Tensor = floating("sqrt", lax.sqrt);
/**
 * The sine.
 *
 * @example
 * ```ts
 * import { sin, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.equal(sin(tensor(0)).item(), 0);
 * ```
 */
export const sin: (x: TensorLike) => Tensor = floating("sin", lax.sin);
/**
 * The cosine.
 *
 * @example
 * ```ts
 * import { cos, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.equal(cos(tensor(0)).item(), 1);
 * ```
 */
export const cos: (x: TensorLike) => Tensor = floating("cos", lax.cos);
/**
 * The hyperbolic tangent.
 *
 * @example
 * ```ts
 * import { tanh, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.equal(tanh(tensor(0)).item(), 0);
 * ```
 */
export const tanh: (x: TensorLike) => Tensor = floating("tanh", lax.tanh);
/**
 * The logistic sigmoid `1 / (1 + e^-x)`, stable for large |x|.
 *
 * @example
 * ```ts
 * import { sigmoid, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.equal(sigmoid(tensor(0)).item(), 0.5);
 * ```
 */
export const sigmoid: (x: TensorLike) => Tensor = floating("sigmoid", lax.sigmoid);
/**
 * `ln(1 + x)`, accurate for small x.
 *
 * @example
 * ```ts
 * import { log1p, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.equal(log1p(tensor(0)).item(), 0);
 * ```
 */
export const log1p: (x: TensorLike) => Tensor = floating("log1p", lax.log1p);
/**
 * `e^x - 1`, accurate for small x.
 *
 * @example
 * ```ts
 * import { expm1, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.equal(expm1(tensor(0)).item(), 0);
 * ```
 */
export const expm1: (x: TensorLike) => Tensor = floating("expm1", lax.expm1);

/**
 * `max(x, 0)`, with derivative 0 at 0 (as JAX); NaN stays NaN.
 *
 * @example
 * ```ts
 * import { relu, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await relu(tensor([-1, 2, NaN])).toArray(), [0, 2, NaN]);
 * ```
 */
export function relu(x: TensorLike): Tensor {
  const [a] = coerce("relu", [x], { arith: true });
  const zero = lax.zerosLike(a);
  // `x <= 0` is false for NaN, so NaN passes through.
  return lax.select(lax.le(a, zero), zero, a);
}

/**
 * Picks `a` where `cond` is true and `b` elsewhere, with broadcasting.
 *
 * @example
 * ```ts
 * import { tensor, where } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const x = tensor([-1, 2]);
 * assert.deepEqual(await where(x.greater(0), x, 0).toArray(), [0, 2]);
 * ```
 */
export function where(cond: TensorLike, a: TensorLike, b: TensorLike): Tensor {
  const [c] = coerce("where", [cond]);
  commonDevice("where", [c, a, b]);
  const [x, y] = coerce("where", [a, b]);
  const shape = broadcastShapes("where", c.shape, x.shape);
  return lax.select(
    lax.broadcast(lax.convert(c, "bool"), shape),
    lax.broadcast(x, shape),
    lax.broadcast(y, shape),
  );
}

/**
 * Limits values to `[lo, hi]`.
 *
 * @example
 * ```ts
 * import { clip, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await clip(tensor([-5, 0.5, 5]), 0, 1).toArray(), [0, 0.5, 1]);
 * ```
 */
export function clip(x: TensorLike, lo: TensorLike, hi: TensorLike): Tensor {
  const [a, l, h] = coerce("clip", [x, lo, hi], { arith: true });
  return lax.min(lax.max(a, l), h);
}

/**
 * Converts to another dtype, always as a new tensor. Float to int32 truncates toward zero and
 * saturates as JAX does: values beyond the int32 range become its ends, NaN becomes 0. To bool
 * tests `!= 0` (NaN is true).
 *
 * @example
 * ```ts
 * import { astype, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const y = astype(tensor([1.7, -1.7, 3e9, NaN]), "int32");
 * assert.deepEqual([y.dtype, await y.toArray()], ["int32", [1, -1, 2147483647, 0]]);
 * ```
 */
export function astype(x: Tensor, dtype: DType): Tensor {
  checkTensor("astype", x);
  if (!isDType(dtype)) {
    throw new TypeError(
      `astype: unknown dtype ${JSON.stringify(dtype)}; expected float32, float64, int32 or bool`,
    );
  }
  if (dtype === "int32" && isFloat(x.dtype)) return saturatingInt32(x);
  return fresh(lax.convert(x, dtype), x);
}

// Float to int32 with JAX's saturation (a plain conversion wraps out-of-range values).
function saturatingInt32(x: Tensor): Tensor {
  const bound = (v: number) => lax.fullLike(x, v);
  const int = (v: number) => lax.full(x.shape, v, "int32", x.device);
  const inRange = lax.select(lax.ne(x, x), int(0), lax.convert(x, "int32"));
  const high = lax.select(lax.ge(x, bound(2 ** 31)), int(2 ** 31 - 1), inRange);
  return lax.select(lax.le(x, bound(-(2 ** 31))), int(-(2 ** 31)), high);
}

/**
 * Blocks gradients: the identity whose derivative is zero.
 *
 * @example
 * ```ts
 * import { grad, stopGradient, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.equal(grad((x) => x.mul(stopGradient(x)))(tensor(3)).item(), 3);
 * ```
 */
export function stopGradient(x: Tensor): Tensor {
  checkTensor("stopGradient", x);
  return isFloat(x.dtype) ? lax.stopGradient(x) : lax.view(x);
}
