/**
 * Linear algebra with NumPy semantics: `matmul` (1-d promotion, batched, broadcast batch
 * dims), `dot`, `outer`.
 *
 * @module
 */

import * as lax from "../core/lax.ts";
import { broadcastShapes, checkSize, fmt } from "../core/shape.ts";
import type { Tensor } from "../core/tensor.ts";
import { checkTensor, commonDevice, resultType } from "./_coerce.ts";

function operands(op: string, a: Tensor, b: Tensor): [Tensor, Tensor] {
  checkTensor(op, a, "argument 0");
  checkTensor(op, b, "argument 1");
  commonDevice(op, [a, b]);
  let dtype = resultType([a, b]);
  if (dtype === "bool") dtype = "int32";
  return [lax.convert(a, dtype), lax.convert(b, dtype)];
}

/**
 * Matrix product with NumPy semantics: 1-d operands are promoted to matrices (and the added
 * axis removed), leading batch dims broadcast.
 *
 * @example
 * ```ts
 * import { matmul, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const a = tensor([[1, 2], [3, 4]]);
 * assert.deepEqual(await matmul(a, tensor([1, 1])).toArray(), [3, 7]);
 * assert.deepEqual(matmul(tensor([[[1, 0], [0, 1]]]), a).shape, [1, 2, 2]);
 * ```
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const [x, y] = operands("matmul", a, b);
  if (x.ndim === 0 || y.ndim === 0) {
    throw new RangeError(
      `matmul: operands must be at least 1-d, got shapes ${fmt(a.shape)} and ${fmt(b.shape)}`,
    );
  }
  const x2 = x.ndim === 1 ? lax.reshape(x, [1, x.shape[0]]) : x;
  const y2 = y.ndim === 1 ? lax.reshape(y, [y.shape[0], 1]) : y;
  const k = x2.shape[x2.ndim - 1];
  if (y2.shape[y2.ndim - 2] !== k) {
    throw new RangeError(
      `matmul: inner dimensions differ: ${fmt(a.shape)} @ ${fmt(b.shape)} (${k} vs ${
        y2.shape[y2.ndim - 2]
      })`,
    );
  }
  const batch = batchShape(x2.shape.slice(0, -2), y2.shape.slice(0, -2), a, b);
  const m = x2.shape[x2.ndim - 2];
  const n = y2.shape[y2.ndim - 1];
  checkSize("matmul", [...batch, m, n], x.dtype);
  const out = lax.matmul(lax.broadcast(x2, [...batch, m, k]), lax.broadcast(y2, [...batch, k, n]));
  const shape = [...batch, ...(x.ndim === 1 ? [] : [m]), ...(y.ndim === 1 ? [] : [n])];
  return lax.reshape(out, shape);
}

/**
 * NumPy `dot`: the inner product of vectors, the matrix product of matrices, and in general a
 * sum over the last axis of `a` and the second-to-last of `b`.
 *
 * @example
 * ```ts
 * import { dot, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.equal(dot(tensor([1, 2, 3]), tensor([4, 5, 6])).item(), 32);
 * ```
 */
export function dot(a: Tensor, b: Tensor): Tensor {
  const [x, y] = operands("dot", a, b);
  if (x.ndim === 0 || y.ndim === 0) return lax.mul(...broadcastPair(x, y));
  // The sum runs over a's last axis and b's second-to-last (its only one for a vector).
  const k = y.shape[Math.max(y.ndim - 2, 0)];
  if (x.shape[x.ndim - 1] !== k) {
    throw new RangeError(
      `dot: shapes ${fmt(a.shape)} and ${fmt(b.shape)} are not aligned (${
        x.shape[x.ndim - 1]
      } vs ${k})`,
    );
  }
  if (y.ndim <= 2) return matmul(x, y);
  // [..., k] · [..., k, n]: move b's contracted axis first and fold the rest into columns.
  const rest = [...y.shape.slice(0, -2), y.shape[y.ndim - 1]];
  const cols = lax.reshape(lax.moveAxis(y, y.ndim - 2, 0), [k, rest.reduce((p, d) => p * d, 1)]);
  const out = matmul(lax.reshape(x, [x.size / k, k]), cols);
  return lax.reshape(out, [...x.shape.slice(0, -1), ...rest]);
}

// The broadcast of the batch dims, with an error that names the operands' full shapes.
function batchShape(xb: readonly number[], yb: readonly number[], a: Tensor, b: Tensor): number[] {
  try {
    return broadcastShapes("matmul", xb, yb);
  } catch {
    throw new RangeError(
      `matmul: cannot broadcast the batch dimensions of ${fmt(a.shape)} and ${fmt(b.shape)}`,
    );
  }
}

function broadcastPair(x: Tensor, y: Tensor): [Tensor, Tensor] {
  const shape = broadcastShapes("dot", x.shape, y.shape);
  return [lax.broadcast(x, shape), lax.broadcast(y, shape)];
}

/**
 * Outer product of two vectors (flattened first): `out[i, j] = a[i] * b[j]`.
 *
 * @example
 * ```ts
 * import { outer, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await outer(tensor([1, 2]), tensor([3, 4])).toArray(), [[3, 4], [6, 8]]);
 * ```
 */
export function outer(a: Tensor, b: Tensor): Tensor {
  const [x, y] = operands("outer", a, b);
  const shape = [x.size, y.size];
  checkSize("outer", shape, x.dtype);
  return lax.mul(
    lax.broadcast(lax.reshape(x, [x.size, 1]), shape),
    lax.broadcast(lax.reshape(y, [1, y.size]), shape),
  );
}
