/**
 * Gradient pre-processing as transformations (the hooks of stateful frameworks): global-norm
 * clipping, weight decay, elementwise clipping, scaling, masking and freezing.
 *
 * @module
 */

import * as lax from "../core/lax.ts";
import type { Tensor } from "../core/tensor.ts";
import { zerosLike } from "../ops/creation.ts";
import * as tree from "../tree.ts";
import {
  type EmptyState,
  type GradientTransformation,
  mapTensors,
  requireParams,
} from "./transform.ts";
import { checkMatching, checkNumber, checkTransform, GRADIENTS, PARAMS } from "./_checks.ts";

const stateless = (
  op: string,
  update: (grads: unknown, params?: unknown) => unknown,
): GradientTransformation<EmptyState> => ({
  init: () => ({}),
  update: <G>(grads: G, state: EmptyState, params?: unknown): [G, EmptyState] => {
    checkMatching(op, GRADIENTS, grads);
    return [update(grads, params) as G, state];
  },
});

/**
 * Scales all gradients by `maxNorm/‖g‖` when their global L2 norm `‖g‖` exceeds `maxNorm`.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const [u] = optim.clipByGlobalNorm(1).update({ a: tensor(3), b: tensor(4) }, {});
 * assert.deepEqual([u.a.item(), u.b.item()], [0.6, 0.8].map(Math.fround));
 * ```
 */
export function clipByGlobalNorm(maxNorm: number): GradientTransformation<EmptyState> {
  checkNumber("clipByGlobalNorm", "maxNorm", maxNorm, { min: 0 });
  return stateless("clipByGlobalNorm", (grads) => {
    const leaves = tree.leaves<Tensor>(grads);
    if (leaves.length === 0) return grads;
    const sq = leaves.map((g) => g.square().sum()).reduce((a, b) => a.add(b));
    const norm = sq.sqrt();
    // min(1, maxNorm/‖g‖) computed on the device, so clipping needs no read-back.
    const factor = lax.select(
      lax.gt(norm, lax.fullLike(norm, maxNorm)),
      lax.div(lax.fullLike(norm, maxNorm), norm),
      lax.fullLike(norm, 1),
    );
    return mapTensors((g) => g.mul(factor.astype(g.dtype)), grads);
  });
}

/**
 * Adds `weightDecay·p` to each gradient (L2 regularisation as a transformation).
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const [u] = optim.addDecayedWeights(0.1).update({ w: tensor(1) }, {}, { w: tensor(10) });
 * assert.equal(u.w.item(), 2);
 * ```
 */
export function addDecayedWeights(weightDecay: number): GradientTransformation<EmptyState> {
  checkNumber("addDecayedWeights", "weightDecay", weightDecay);
  return stateless("addDecayedWeights", (grads, params) => {
    requireParams("addDecayedWeights", params);
    checkMatching("addDecayedWeights", PARAMS, params, GRADIENTS, grads);
    return mapTensors((g, p) => g.add(p.mul(weightDecay)), grads, params);
  });
}

/**
 * Clips each gradient element to `[-maxDelta, maxDelta]`.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const [u] = optim.clip(1).update({ w: tensor([-3, 0.5]) }, {});
 * assert.deepEqual(await u.w.toArray(), [-1, 0.5]);
 * ```
 */
export function clip(maxDelta: number): GradientTransformation<EmptyState> {
  checkNumber("clip", "maxDelta", maxDelta, { min: 0 });
  return stateless("clip", (grads) => mapTensors((g) => g.clip(-maxDelta, maxDelta), grads));
}

/**
 * Multiplies gradients by a constant.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const [u] = optim.scale(-2).update({ w: tensor(3) }, {});
 * assert.equal(u.w.item(), -6);
 * ```
 */
export function scale(factor: number): GradientTransformation<EmptyState> {
  checkNumber("scale", "factor", factor);
  return stateless("scale", (grads) => mapTensors((g) => g.mul(factor), grads));
}

/**
 * Replaces every gradient by zeros (with `masked`, freezes parameters).
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const [u] = optim.setToZero().update({ w: tensor(3) }, {});
 * assert.equal(u.w.item(), 0);
 * ```
 */
export function setToZero(): GradientTransformation<EmptyState> {
  return stateless("setToZero", (grads) => mapTensors(zerosLike, grads));
}

/** The state of `masked`: the inner transformation's state over the masked leaves. */
export interface MaskedState {
  /** The inner state. */
  inner: unknown;
}

/**
 * Applies `transform` only to the leaves where `mask` (a pytree of booleans with the
 * parameters' structure, or a function of the parameters giving one) is true; the others pass
 * through unchanged.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const freezeB = optim.masked(optim.setToZero(), { w: false, b: true });
 * const params = { w: tensor(1), b: tensor(1) };
 * const [u] = freezeB.update({ w: tensor(5), b: tensor(5) }, freezeB.init(params), params);
 * assert.deepEqual([u.w.item(), u.b.item()], [5, 0]);
 * ```
 */
export function masked(
  transform: GradientTransformation,
  mask: unknown | ((params: unknown) => unknown),
): GradientTransformation<MaskedState> {
  checkTransform("masked", "transform", transform);
  const resolve = (params: unknown) =>
    tree.leaves<boolean>(typeof mask === "function" ? mask(params) : mask);
  const pick = (t: unknown, flags: boolean[]) => tree.leaves<Tensor>(t).filter((_, i) => flags[i]);
  return {
    init: (params) => ({ inner: transform.init(pick(params, resolve(params))) }),
    update: (grads, state, params) => {
      const [leaves, def] = tree.flatten<Tensor>(grads);
      const flags = resolve(params ?? grads);
      if (flags.length !== leaves.length) {
        throw new TypeError(
          `optim.masked: the mask has ${flags.length} leaves but the gradients have ${leaves.length}`,
        );
      }
      const sub = params === undefined ? undefined : pick(params, flags);
      const [updates, inner] = transform.update(pick(grads, flags), state.inner, sub);
      let pos = 0;
      const merged = leaves.map((g, i) => (flags[i] ? updates[pos++] : g));
      return [tree.unflatten(def, merged), { inner }];
    },
  };
}
