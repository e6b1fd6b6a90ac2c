/**
 * Losses and metrics. Shapes must match exactly (as optax asserts): a target of shape `[N, 1]`
 * against predictions `[N]` is an error, not a broadcast to `[N, N]`. Integer labels must lie
 * in `[0, classes)`: where they can be read at once (on the CPU devices, outside `jit` and
 * `vmap`) one outside is a RangeError naming it; elsewhere (on the GPU, or traced) the loss or
 * metric is NaN, never a plausible number.
 *
 * @module
 */

import { getBackend } from "../core/backend.ts";
import { fmt, shapesEqual } from "../core/shape.ts";
import type { Tensor } from "../core/tensor.ts";
import { checkTensor } from "../ops/_coerce.ts";
import { notEqual, where } from "../ops/elementwise.ts";
import { arange } from "../ops/creation.ts";
import { logSoftmax } from "../ops/nn.ts";
import { argmax, mean, sum } from "../ops/reduce.ts";

// Checks logits [..., C] against integer labels [...]; the result says whether the labels were
// read and found in range (else a mask of the rows whose label is out of range is needed).
function checkLabels(op: string, logits: unknown, labels: unknown, ignoreIndex?: number): boolean {
  checkTensor(op, logits, "logits");
  checkTensor(op, labels, "labels");
  const [x, y] = [logits as Tensor, labels as Tensor];
  if (x.ndim < 1 || !shapesEqual(y.shape, x.shape.slice(0, -1))) {
    throw new RangeError(
      `${op}: labels ${fmt(y.shape)} must match logits ${fmt(x.shape)} without its last axis`,
    );
  }
  if (y.dtype !== "int32") {
    throw new TypeError(`${op}: labels must be int32, got ${y.describe()}`);
  }
  if (ignoreIndex !== undefined && !Number.isInteger(ignoreIndex)) {
    const got = typeof ignoreIndex === "number" ? ignoreIndex : typeof ignoreIndex;
    throw new TypeError(`${op}: ignoreIndex must be an integer, got ${got}`);
  }
  if (y.isTracer) return false;
  const values = getBackend(y.device).readSync(y.buffer);
  if (values === null) return false;
  const classes = x.shape[x.ndim - 1];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if ((v < 0 || v >= classes) && v !== ignoreIndex) {
      const at = y.ndim <= 1 ? `${i}` : fmt(unravel(i, y.shape));
      throw new RangeError(`${op}: label ${v} at index ${at} is outside [0, ${classes})`);
    }
  }
  return true;
}

function unravel(flat: number, shape: readonly number[]): number[] {
  const out = shape.map(() => 0);
  for (let d = shape.length - 1; d >= 0; d--) {
    [out[d], flat] = [flat % shape[d], Math.floor(flat / shape[d])];
  }
  return out;
}

// Where each label lies outside [0, classes) (and is not ignored).
function outside(labels: Tensor, classes: number, ignoreIndex?: number): Tensor {
  const bad = where(labels.less(0), true, labels.greaterEqual(classes));
  return ignoreIndex === undefined ? bad : where(labels.equal(ignoreIndex), false, bad);
}

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
  checkTensor("nn.meanSquaredError", pred, "pred");
  checkTensor("nn.meanSquaredError", target, "target");
  if (!shapesEqual(pred.shape, target.shape)) {
    throw new RangeError(
      `nn.meanSquaredError: pred ${fmt(pred.shape)} and target ${
        fmt(target.shape)
      } must have the same shape`,
    );
  }
  return mean(pred.sub(target).square());
}

/**
 * Cross-entropy of `logits [..., C]` against integer `labels [...]`, averaged over the rows
 * whose label is not `ignoreIndex` (stable for large logits). A label outside `[0, C)` (other
 * than `ignoreIndex`) is a RangeError where the labels can be read at once, and makes the loss
 * NaN where they cannot (on the GPU, inside `jit` or `vmap`).
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
  const { ignoreIndex } = opts;
  const checked = checkLabels("nn.softmaxCrossEntropy", logits, labels, ignoreIndex);
  const classes = logits.shape[logits.ndim - 1];
  // Each row's log-probability at its label, as a sum over the classes masked by a one-hot
  // comparison: elementwise work and a reduction (which compile into few kernels, forward and
  // backward) where picking by index would gather, and scatter in the backward pass.
  const hit = labels.expandDims(-1).equal(arange(classes, undefined, 1, { device: labels.device }));
  let picked = sum(where(hit, logSoftmax(logits, { axis: -1 }), 0), { axis: -1 });
  if (!checked) picked = where(outside(labels, classes, ignoreIndex), NaN, picked);
  if (ignoreIndex === undefined) return mean(picked).neg();
  const counted = notEqual(labels, ignoreIndex);
  const total = sum(where(counted, picked, 0)).neg();
  return total.div(sum(counted.astype(logits.dtype)).maximum(1));
}

/**
 * The fraction of rows whose largest logit is at the label. Labels must have the shape of
 * the logits without their last axis; one outside `[0, C)` is a RangeError, or makes the
 * accuracy NaN where the labels cannot be read at once.
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
  const checked = checkLabels("nn.accuracy", logits, labels);
  const hits = argmax(logits, { axis: -1 }).equal(labels).astype("float32");
  const classes = logits.shape[logits.ndim - 1];
  return mean(checked ? hits : where(outside(labels, classes), NaN, hits));
}
