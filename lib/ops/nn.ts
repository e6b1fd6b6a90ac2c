/**
 * `softmax` and `logSoftmax`, numerically stable for logits of ±1e4.
 *
 * @module
 */

import { isFloat } from "../core/dtype.ts";
import * as lax from "../core/lax.ts";
import { normalizeAxis } from "../core/shape.ts";
import type { Tensor } from "../core/tensor.ts";
import { checkTensor } from "./_coerce.ts";

function prepare(op: string, x: Tensor, axis: number): [Tensor, number] {
  checkTensor(op, x);
  const a = normalizeAxis(op, axis, x.shape);
  return [isFloat(x.dtype) ? x : lax.convert(x, "float32"), a];
}

/**
 * `exp(x) / sum(exp(x))` along an axis (the last by default).
 *
 * @example
 * ```ts
 * import { softmax, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await softmax(tensor([1e4, -1e4])).toArray(), [1, 0]);
 * ```
 */
export function softmax(x: Tensor, opts: { axis?: number } = {}): Tensor {
  const [xf, axis] = prepare("softmax", x, opts.axis ?? -1);
  return lax.softmax(xf, axis);
}

/**
 * `x - logsumexp(x)` along an axis (the last by default).
 *
 * @example
 * ```ts
 * import { logSoftmax, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await logSoftmax(tensor([1e4, 0])).toArray(), [0, -1e4]);
 * ```
 */
export function logSoftmax(x: Tensor, opts: { axis?: number } = {}): Tensor {
  const [xf, axis] = prepare("logSoftmax", x, opts.axis ?? -1);
  return lax.logSoftmax(xf, axis);
}
