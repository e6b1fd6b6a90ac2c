/**
 * Activation functions for models (the ops of the same names, gathered under `nn`).
 *
 * @module
 */

import type { Tensor } from "../core/tensor.ts";
import { add, mul, sigmoid, tanh } from "../ops/elementwise.ts";
import { checkTensor } from "./_checks.ts";

export { logSoftmax, softmax } from "../ops/nn.ts";
export { relu, sigmoid, tanh } from "../ops/elementwise.ts";

/**
 * The Gaussian error linear unit, in the tanh approximation (JAX's default):
 * `x/2 · (1 + tanh(√(2/π)·(x + 0.044715x³)))`.
 *
 * @example
 * ```ts
 * import { nn, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.equal(nn.gelu(tensor(0)).item(), 0);
 * ```
 */
export function gelu(x: Tensor): Tensor {
  checkTensor("gelu", "x", x);
  const inner = mul(add(x, mul(x.pow(3), 0.044715)), Math.sqrt(2 / Math.PI));
  return mul(mul(x, 0.5), add(tanh(inner), 1));
}

/**
 * `x·sigmoid(x)` (SiLU, swish).
 *
 * @example
 * ```ts
 * import { nn, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.equal(nn.silu(tensor(0)).item(), 0);
 * ```
 */
export function silu(x: Tensor): Tensor {
  checkTensor("silu", "x", x);
  return mul(x, sigmoid(x));
}
