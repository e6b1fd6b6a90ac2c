/**
 * The optimizer abstraction (optax's): a gradient transformation is a pair of pure functions,
 * `init(params) → state` and `update(grads, state, params?) → [updates, newState]`. States are
 * immutable pytrees; an old state stays valid after `update`.
 *
 * @module
 */

import type { Tensor } from "../core/tensor.ts";
import * as tree from "../tree.ts";
import { checkMatching, checkTransform, PARAMS, UPDATES } from "./_checks.ts";

/** A pure gradient transformation with state `S`. */
export interface GradientTransformation<S = unknown> {
  /** The initial state for a parameter pytree. */
  init(params: unknown): S;
  /** Maps gradients (and the state, and optionally the parameters) to updates and a new state. */
  update<G>(grads: G, state: S, params?: unknown): [G, S];
}

/**
 * The state of a stateless transformation (`scale`, `clip`, ...): an empty object, so it
 * composes in `chain` and saves with `io` like any other state.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const opt: optim.GradientTransformation<optim.EmptyState> = optim.scale(2);
 * const [updates, state] = opt.update({ w: tensor(3) }, opt.init({ w: tensor(0) }));
 * assert.deepEqual([updates.w.item(), state], [6, {}]);
 * ```
 */
export type EmptyState = Record<never, never>;

/** A learning-rate schedule: the value at a step, counted from 0. */
export type Schedule = (step: number) => number;

/** A constant learning rate or a schedule. */
export type LearningRate = number | Schedule;

/** Rejects an `update` call that lacks the parameters a transformation needs. */
export function requireParams(op: string, params: unknown): unknown {
  if (params === undefined) {
    throw new TypeError(`optim.${op}: update needs params (the third argument)`);
  }
  return params;
}

/** Applies `f` to the tensor leaves of one or more pytrees of the same structure. */
export function mapTensors<T>(f: (...xs: Tensor[]) => Tensor, t: T, ...rest: unknown[]): T {
  return tree.map(f, t, ...rest) as T;
}

/**
 * Composes transformations: each one's updates feed the next; the state is the tuple of
 * their states.
 *
 * @example
 * ```ts
 * import { optim, tensor, testing } from "@nabla/nabla";
 * const opt = optim.chain(optim.clipByGlobalNorm(1), optim.sgd(0.1));
 * const params = { w: tensor([3, 4]) };
 * const [updates] = opt.update({ w: tensor([3, 4]) }, opt.init(params), params);
 * await testing.assertAllClose(updates.w, [-0.06, -0.08]); // clipped to norm 1, then -0.1·g
 * ```
 */
export function chain(...transforms: GradientTransformation[]): GradientTransformation<unknown[]> {
  transforms.forEach((t, i) => checkTransform("chain", `argument ${i}`, t));
  return {
    init: (params) => transforms.map((t) => t.init(params)),
    update: (grads, state, params) => {
      if (!Array.isArray(state) || state.length !== transforms.length) {
        const got = Array.isArray(state) ? `an array of ${state.length}` : String(state);
        throw new TypeError(`optim.chain: update needs the state from init(), got ${got}`);
      }
      const next: unknown[] = [];
      let updates = grads;
      transforms.forEach((t, i) => {
        const [u, s] = t.update(updates, state[i], params);
        updates = u;
        next.push(s);
      });
      return [updates, next];
    },
  };
}

/**
 * `params + updates`, leaf by leaf.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const p = optim.applyUpdates({ w: tensor(1) }, { w: tensor(-0.5) });
 * assert.equal(p.w.item(), 0.5);
 * ```
 */
export function applyUpdates<P>(params: P, updates: unknown): P {
  checkMatching("applyUpdates", PARAMS, params);
  checkMatching("applyUpdates", UPDATES, updates, PARAMS, params);
  return mapTensors((p, u) => p.add(u), params, updates);
}
