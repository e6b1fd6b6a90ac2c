/**
 * Dot-product attention that exposes its weights.
 *
 * @module
 */

import { fmt } from "../core/shape.ts";
import type { Tensor } from "../core/tensor.ts";
import { where } from "../ops/elementwise.ts";
import { matmul } from "../ops/linalg.ts";
import { softmax } from "../ops/nn.ts";
import { checkTensor } from "./_checks.ts";

/** The output of `dotProductAttention`. */
export interface AttentionOutput {
  /** The weighted sums of values, `[..., Tq, Dv]`. */
  out: Tensor;
  /** The attention weights `[..., Tq, Tk]`, summing to 1 over the keys. */
  weights: Tensor;
}

/**
 * `softmax(scale · q kᵀ) v` for `q: [..., Tq, D]`, `k: [..., Tk, D]`, `v: [..., Tk, Dv]`.
 * `mask` (bool, broadcastable to `[..., Tq, Tk]`) hides keys where it is false; `scale`
 * defaults to `1/√D`.
 *
 * @example
 * ```ts
 * import { nn, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const q = tensor([[1, 0]]);
 * const k = tensor([[1, 0], [0, 1]]);
 * const v = tensor([[10, 0], [0, 10]]);
 * const { out, weights } = nn.dotProductAttention(q, k, v, { scale: 100 });
 * assert.ok(weights.sum().item() > 0.9999);
 * assert.ok((out.dataSync()[0]) > 9.99);
 * ```
 */
export function dotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: { mask?: Tensor; scale?: number } = {},
): AttentionOutput {
  for (const [name, x] of [["q", q], ["k", k], ["v", v]] as const) {
    checkTensor("dotProductAttention", name, x);
  }
  const D = q.shape[q.ndim - 1];
  if (
    q.ndim < 2 || k.ndim < 2 || v.ndim < 2 || k.shape[k.ndim - 1] !== D ||
    k.shape[k.ndim - 2] !== v.shape[v.ndim - 2]
  ) {
    throw new RangeError(
      `nn.dotProductAttention: expected q [..., Tq, D], k [..., Tk, D], v [..., Tk, Dv], got ${
        fmt(q.shape)
      }, ${fmt(k.shape)}, ${fmt(v.shape)}`,
    );
  }
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const perm = k.shape.map((_, i) => i);
  perm.splice(-2, 2, k.ndim - 1, k.ndim - 2);
  let scores = matmul(q, k.transpose(perm)).mul(scale);
  // A large finite negative (not -inf) keeps fully masked rows finite.
  if (opts.mask) scores = where(opts.mask, scores, -1e30);
  const weights = softmax(scores, { axis: -1 });
  return { out: matmul(weights, v), weights };
}
