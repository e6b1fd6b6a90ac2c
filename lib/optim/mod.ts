/**
 * Optimizers as pure state transitions (optax semantics): every optimizer and pre-processing
 * step is a `{ init, update }` pair over pytrees, composed with `chain`.
 *
 * ```ts
 * import { grad, optim, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * let params = { w: tensor(5) };
 * const opt = optim.chain(optim.clipByGlobalNorm(10), optim.adam(0.5));
 * let state = opt.init(params);
 * for (let i = 0; i < 100; i++) {
 *   const g = grad((p: typeof params) => p.w.square())(params);
 *   const [updates, next] = opt.update(g, state, params);
 *   [params, state] = [optim.applyUpdates(params, updates), next];
 * }
 * assert.ok(Math.abs(params.w.item()) < 0.5);
 * ```
 *
 * @module
 */

export * from "./transform.ts";
export * from "./optimizers.ts";
export * from "./transforms.ts";
export * from "./schedules.ts";
export type { Count } from "./_count.ts";
