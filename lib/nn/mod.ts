/**
 * Neural networks as pure functions over parameter pytrees: a module is `{ init, apply }`.
 *
 * ```ts
 * import { grad, nn, random, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const model = nn.mlp([2, 8, 3]);
 * const params = model.init(random.key(0));
 * const x = tensor([[0.1, 0.2]]);
 * const y = tensor([2], { dtype: "int32" });
 * const loss = (p: typeof params) => nn.softmaxCrossEntropy(model.apply(p, x), y);
 * const g = grad(loss)(params);
 * assert.deepEqual(g[0].w.shape, [2, 8]);
 * ```
 *
 * @module
 */

export * from "./module.ts";
export * from "./activations.ts";
export * from "./layers.ts";
export * from "./recurrent.ts";
export * from "./attention.ts";
export * from "./losses.ts";
export * from "./seq2seq.ts";
