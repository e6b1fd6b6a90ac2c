/**
 * Reductions with `{ axis?, keepdims? }`: negative axes count from the end; no axis reduces
 * everything.
 *
 * @module
 */

import { isFloat } from "../core/dtype.ts";
import * as lax from "../core/lax.ts";
import { fmt, normalizeAxes, normalizeAxis } from "../core/shape.ts";
import type { ReduceOptions, Tensor } from "../core/tensor.ts";
import { checkTensor, fresh } from "./_coerce.ts";

function prepare(op: string, x: Tensor, opts: ReduceOptions | undefined) {
  checkTensor(op, x);
  const axes = normalizeAxes(op, opts?.axis, x.shape);
  const keep = (y: Tensor) =>
    opts?.keepdims ? lax.reshape(y, x.shape.map((d, i) => (axes.includes(i) ? 1 : d))) : y;
  return { axes, keep };
}

const asArith = (x: Tensor) => (x.dtype === "bool" ? lax.convert(x, "int32") : x);
const asFloat = (x: Tensor) => (isFloat(x.dtype) ? x : lax.convert(x, "float32"));

/**
 * Sum over axes.
 *
 * @example
 * ```ts
 * import { sum, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const x = tensor([[1, 2], [3, 4]]);
 * assert.equal(sum(x).item(), 10);
 * assert.deepEqual(await sum(x, { axis: -1, keepdims: true }).toArray(), [[3], [7]]);
 * ```
 */
export function sum(x: Tensor, opts?: ReduceOptions): Tensor {
  const { axes, keep } = prepare("sum", x, opts);
  return fresh(keep(lax.reduceSum(asArith(x), axes)), x);
}

/**
 * Arithmetic mean over axes (integers give float32).
 *
 * @example
 * ```ts
 * import { mean, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await mean(tensor([[1, 2], [3, 4]]), { axis: 0 }).toArray(), [2, 3]);
 * ```
 */
export function mean(x: Tensor, opts?: ReduceOptions): Tensor {
  const { axes, keep } = prepare("mean", x, opts);
  const count = axes.reduce((n, a) => n * x.shape[a], 1);
  const total = lax.reduceSum(asFloat(x), axes);
  return keep(lax.div(total, lax.fullLike(total, count)));
}

function extremum(op: "max" | "min", x: Tensor, opts: ReduceOptions | undefined): Tensor {
  const { axes, keep } = prepare(op, x, opts);
  if (axes.some((a) => x.shape[a] === 0)) {
    throw new RangeError(
      `${op}: cannot reduce an empty axis of shape ${fmt(x.shape)} (no identity)`,
    );
  }
  const y = asArith(x);
  return fresh(keep(op === "max" ? lax.reduceMax(y, axes) : lax.reduceMin(y, axes)), x);
}

/**
 * Maximum over axes (NaN propagates).
 *
 * @example
 * ```ts
 * import { max, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await max(tensor([[1, 5], [3, 4]]), { axis: 1 }).toArray(), [5, 4]);
 * ```
 */
export function max(x: Tensor, opts?: ReduceOptions): Tensor {
  return extremum("max", x, opts);
}

/**
 * Minimum over axes (NaN propagates).
 *
 * @example
 * ```ts
 * import { min, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.equal(min(tensor([[1, 5], [3, 4]])).item(), 1);
 * ```
 */
export function min(x: Tensor, opts?: ReduceOptions): Tensor {
  return extremum("min", x, opts);
}

/**
 * Product over axes.
 *
 * @example
 * ```ts
 * import { prod, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.equal(prod(tensor([1, 2, 3, 4])).item(), 24);
 * ```
 */
export function prod(x: Tensor, opts?: ReduceOptions): Tensor {
  const { axes, keep } = prepare("prod", x, opts);
  return fresh(keep(lax.reduceProd(asArith(x), axes)), x);
}

function argExtremum(
  op: "argmax" | "argmin",
  x: Tensor,
  opts?: { axis?: number; keepdims?: boolean },
): Tensor {
  checkTensor(op, x);
  const y = asArith(x);
  if (opts?.axis === undefined) {
    if (x.size === 0) {
      throw new RangeError(`${op}: attempt to take ${op} of an empty tensor ${fmt(x.shape)}`);
    }
    const flat = lax[op](lax.reshape(y, [x.size]), 0);
    return opts?.keepdims ? lax.reshape(flat, x.shape.map(() => 1)) : flat;
  }
  const axis = normalizeAxis(op, opts.axis, x.shape);
  if (x.shape[axis] === 0) {
    throw new RangeError(
      `${op}: cannot take ${op} along empty axis ${axis} of shape ${fmt(x.shape)}`,
    );
  }
  const out = lax[op](y, axis);
  return opts.keepdims ? lax.reshape(out, x.shape.map((d, i) => (i === axis ? 1 : d))) : out;
}

/**
 * Index (int32) of the first maximum along an axis, or of the flattened tensor.
 *
 * @example
 * ```ts
 * import { argmax, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await argmax(tensor([[1, 5], [7, 4]]), { axis: 1 }).toArray(), [1, 0]);
 * ```
 */
export function argmax(x: Tensor, opts?: { axis?: number; keepdims?: boolean }): Tensor {
  return argExtremum("argmax", x, opts);
}

/**
 * Index (int32) of the first minimum along an axis, or of the flattened tensor.
 *
 * @example
 * ```ts
 * import { argmin, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.equal(argmin(tensor([[1, 5], [0, 4]])).item(), 2);
 * ```
 */
export function argmin(x: Tensor, opts?: { axis?: number; keepdims?: boolean }): Tensor {
  return argExtremum("argmin", x, opts);
}

/**
 * `log(sum(exp(x)))` over axes, stable for large values (the maximum is factored out).
 *
 * @example
 * ```ts
 * import { logsumexp, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.ok(Math.abs(logsumexp(tensor([1000, 1000])).item() - (1000 + Math.LN2)) < 1e-3);
 * ```
 */
export function logsumexp(x: Tensor, opts?: ReduceOptions): Tensor {
  const { axes, keep } = prepare("logsumexp", x, opts);
  const xf = asFloat(x);
  const m = lax.stopGradient(lax.reduceMax(xf, axes));
  // An infinite maximum would make x - m NaN; shifting by 0 there gives the right ±inf.
  const finite = lax.select(lax.eq(lax.sub(m, m), lax.zerosLike(m)), m, lax.zerosLike(m));
  const shifted = lax.sub(xf, lax.unreduce(finite, axes, x.shape));
  return keep(lax.add(lax.log(lax.reduceSum(lax.exp(shifted), axes)), finite));
}

/**
 * Population variance over axes: `mean((x - mean(x))²)`.
 *
 * @example
 * ```ts
 * import { tensor, variance } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.equal(variance(tensor([1, 2, 3, 4])).item(), 1.25);
 * assert.deepEqual(await variance(tensor([[1, 3], [2, 6]]), { axis: 0 }).toArray(), [0.25, 2.25]);
 * ```
 */
export function variance(x: Tensor, opts?: ReduceOptions): Tensor {
  const { axes } = prepare("var", x, opts);
  const xf = asFloat(x);
  const centered = lax.sub(xf, lax.broadcast(mean(xf, { axis: axes, keepdims: true }), x.shape));
  return mean(lax.mul(centered, centered), { axis: axes, keepdims: opts?.keepdims });
}
