/**
 * Indexing: `take`, `takeAlongAxis`, `gather` of points (the `p[arange(N), t]` pattern) and
 * `oneHot`. All lower to the `gather` primitive, whose transpose (`scatterAdd`) gives their
 * gradients.
 *
 * @module
 */

import * as lax from "../core/lax.ts";
import { broadcastShapes, checkSize, fmt, normalizeAxis, stridesOf } from "../core/shape.ts";
import { Tensor, type TensorLike } from "../core/tensor.ts";
import { checkIndices, checkTensor, kindOf } from "./_coerce.ts";

function indexTensor(op: string, indices: TensorLike | number[], device: Tensor["device"]): Tensor {
  if (indices instanceof Tensor) {
    if (indices.device !== device) {
      throw new TypeError(
        `${op}: tensors are on different devices: ${device} and ${indices.device}`,
      );
    }
    return checkIndices(op, indices);
  }
  const scalar = typeof indices === "number";
  const list = scalar ? [indices] : indices;
  if (!Array.isArray(list) || list.some((i) => !Number.isInteger(i))) {
    throw new TypeError(
      `${op}: indices must be an int32 tensor, an integer or an array of integers`,
    );
  }
  return lax.fromArray(Int32Array.from(list as number[]), scalar ? [] : [list.length], device);
}

/**
 * Elements at `indices` along `axis` (of the flattened tensor when no axis). Negative indices
 * count from the end; out-of-range ones are clamped (as JAX).
 *
 * @example
 * ```ts
 * import { take, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const x = tensor([[1, 2], [3, 4], [5, 6]]);
 * assert.deepEqual(await take(x, [2, 0], { axis: 0 }).toArray(), [[5, 6], [1, 2]]);
 * ```
 */
export function take(
  x: Tensor,
  indices: TensorLike | number[],
  opts: { axis?: number } = {},
): Tensor {
  checkTensor("take", x);
  const idx = indexTensor("take", indices, x.device);
  if (opts.axis === undefined) return lax.gather(lax.reshape(x, [x.size]), idx, 0);
  return lax.gather(x, idx, normalizeAxis("take", opts.axis, x.shape));
}

// Row-major flat positions of the points `indices[0][i], indices[1][i], ...` over the
// leading axes of `shape` (indices already broadcast to one shape).
function flatPositions(indices: Tensor[], shape: readonly number[]): Tensor {
  const strides = stridesOf(shape.slice(0, indices.length));
  return indices.reduce((acc, idx, d) => {
    const n = shape[d];
    const wrapped = lax.select(
      lax.lt(idx, lax.zerosLike(idx)),
      lax.add(idx, lax.fullLike(idx, n)),
      idx,
    );
    const clamped = lax.max(lax.min(wrapped, lax.fullLike(idx, n - 1)), lax.zerosLike(idx));
    const term = lax.mul(clamped, lax.fullLike(idx, strides[d]));
    return acc === null ? term : lax.add(acc, term);
  }, null as Tensor | null)!;
}

/**
 * Picks `x[rows[i], cols[i]]` (more generally, one point per index tensor over the leading
 * axes, with broadcasting): the `p[arange(N), t]` pattern.
 *
 * @example
 * ```ts
 * import { arange, gather, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const p = tensor([[0.1, 0.9], [0.8, 0.2]]);
 * const t = tensor([1, 0], { dtype: "int32" });
 * assert.deepEqual(await gather(p, [arange(2), t]).toArray(), [0.9, 0.8].map(Math.fround));
 * ```
 */
export function gather(x: Tensor, indices: (Tensor | number[])[]): Tensor {
  checkTensor("gather", x);
  if (!Array.isArray(indices)) {
    throw new TypeError(
      `gather: indices must be an array of index tensors, got ${kindOf(indices)}`,
    );
  }
  if (indices.length === 0 || indices.length > x.ndim) {
    throw new RangeError(
      `gather: needs between 1 and ${x.ndim} index tensors for shape ${fmt(x.shape)}`,
    );
  }
  const idx = indices.map((i) => indexTensor("gather", i, x.device));
  const shape = broadcastShapes("gather", ...idx.map((i) => i.shape));
  const k = idx.length;
  const lead = x.shape.slice(0, k).reduce((a, b) => a * b, 1);
  const flat = lax.reshape(x, [lead, ...x.shape.slice(k)]);
  return lax.gather(flat, flatPositions(idx.map((i) => lax.broadcast(i, shape)), x.shape), 0);
}

/**
 * NumPy's `take_along_axis`: `indices` has x's rank and picks along `axis`, broadcasting over
 * the other axes.
 *
 * @example
 * ```ts
 * import { takeAlongAxis, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const x = tensor([[10, 30, 20], [60, 40, 50]]);
 * const i = x.argmax({ axis: 1, keepdims: true });
 * assert.deepEqual(await takeAlongAxis(x, i, 1).toArray(), [[30], [60]]);
 * ```
 */
export function takeAlongAxis(x: Tensor, indices: Tensor, axis: number): Tensor {
  checkTensor("takeAlongAxis", x);
  const idx = indexTensor("takeAlongAxis", indices, x.device);
  if (idx.ndim !== x.ndim) {
    throw new RangeError(
      `takeAlongAxis: indices ${fmt(idx.shape)} must have the rank of x ${fmt(x.shape)}`,
    );
  }
  const a = normalizeAxis("takeAlongAxis", axis, x.shape);
  const outShape = broadcastShapes(
    "takeAlongAxis",
    x.shape.map((d, i) => (i === a ? 1 : d)),
    idx.shape.map((d, i) => (i === a ? 1 : d)),
  ).map((d, i) => (i === a ? idx.shape[a] : d));
  const points = outShape.map((_, d) =>
    d === a ? lax.broadcast(idx, outShape) : lax.iota(outShape, d, "int32", x.device)
  );
  const xb = lax.broadcast(x, outShape.map((d, i) => (i === a ? x.shape[a] : d)));
  return lax.gather(lax.reshape(xb, [xb.size]), flatPositions(points, xb.shape), 0);
}

/**
 * One-hot encoding of integer labels: shape `[...labels.shape, numClasses]`, float32.
 *
 * @example
 * ```ts
 * import { oneHot, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const y = oneHot(tensor([0, 2], { dtype: "int32" }), 3);
 * assert.deepEqual(await y.toArray(), [[1, 0, 0], [0, 0, 1]]);
 * ```
 */
export function oneHot(labels: Tensor, numClasses: number): Tensor {
  checkTensor("oneHot", labels);
  if (typeof numClasses !== "number") {
    throw new TypeError(`oneHot: numClasses must be an integer, got ${kindOf(numClasses)}`);
  }
  if (!Number.isInteger(numClasses) || numClasses < 0) {
    throw new RangeError(`oneHot: numClasses must be an integer >= 0, got ${numClasses}`);
  }
  const idx = checkIndices("oneHot", labels);
  const shape = [...idx.shape, numClasses];
  checkSize("oneHot", shape, "float32");
  const classes = lax.iota(shape, idx.ndim, "int32", idx.device);
  const expanded = lax.broadcast(lax.reshape(idx, [...idx.shape, 1]), shape);
  return lax.convert(lax.eq(expanded, classes), "float32");
}
