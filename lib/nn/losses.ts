/**
 * Losses and metrics.
 *
 * @module
 */

import { fmt } from "../core/shape.ts";
import type { Tensor } from "../core/tensor.ts";
import { notEqual, where } from "../ops/elementwise.ts";
import { takeAlongAxis } from "../ops/indexing.ts";
import { logSoftmax } from "../ops/nn.ts";
import { argmax, mean, sum } from "../ops/reduce.ts";

/**
 * The mean over all elements of `(pred - target)²`.
 *
 * @example
 * ```ts
 * import { nn, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.equal(nn.meanSquaredError(tensor([1, 2]), tensor([1, 4])).item(), 2);
 * ```
 */
export function meanSquaredError(pred: Tensor, target: Tensor): Tensor {
  return mean(pred.sub(target).square());
}

/**
 * Cross-entropy of `logits [..., C]` against integer `labels [...]`, averaged over the rows
 * whose label is not `ignoreIndex` (stable for large logits).
 *
 * @example
 * ```ts
 * import { nn, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const logits = tensor([[0, 0], [0, 0]]);
 * const labels = tensor([0, 1], { dtype: "int32" });
 * assert.ok(Math.abs(nn.softmaxCrossEntropy(logits, labels).item() - Math.LN2) < 1e-6);
 * ```
 */
export function softmaxCrossEntropy(
  logits: Tensor,
  labels: Tensor,
  opts: { ignoreIndex?: number } = {},
): Tensor {
  if (logits.ndim < 1 || labels.shape.join() !== logits.shape.slice(0, -1).join()) {
    throw new RangeError(
      `nn.softmaxCrossEntropy: labels ${fmt(labels.shape)} must match logits ${
        fmt(logits.shape)
      } without its last axis`,
    );
  }
  if (labels.dtype !== "int32") {
    throw new TypeError(`nn.softmaxCrossEntropy: labels must be int32, got ${labels.dtype}`);
  }
  const logp = logSoftmax(logits, { axis: -1 });
  const picked = takeAlongAxis(logp, labels.expandDims(-1), -1).squeeze(-1);
  if (opts.ignoreIndex === undefined) return mean(picked).neg();
  const counted = notEqual(labels, opts.ignoreIndex);
  const total = sum(where(counted, picked, 0)).neg();
  return total.div(sum(counted.astype(logits.dtype)).maximum(1));
}

/**
 * The fraction of rows whose largest logit is at the label.
 *
 * @example
 * ```ts
 * import { nn, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const acc = nn.accuracy(tensor([[2, 1], [0, 3]]), tensor([0, 0], { dtype: "int32" }));
 * assert.equal(acc.item(), 0.5);
 * ```
 */
export function accuracy(logits: Tensor, labels: Tensor): Tensor {
  return mean(argmax(logits, { axis: -1 }).equal(labels).astype("float32"));
}
