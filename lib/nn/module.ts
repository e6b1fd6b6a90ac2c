/**
 * The module pattern: a model is a pair of pure functions, `init(key) → params` and
 * `apply(params, ...inputs) → output`. Parameters are plain typed objects (pytrees), so every
 * transformation, optimizer and `io.save` works on them directly.
 *
 * @module
 */

import type { Tensor } from "../core/tensor.ts";
import { type Key, split } from "../random/mod.ts";
import { checkModule } from "./_checks.ts";

/** A model: parameters from a key, and a pure function of parameters and inputs. */
export interface Module<P, A extends unknown[], O> {
  /** Fresh parameters drawn with `key`. */
  init(key: Key): P;
  /** The output for `params` and inputs. */
  apply(params: P, ...args: A): O;
}

/** A module that maps one tensor to one tensor. */
export type Layer<P = unknown> = Module<P, [Tensor], Tensor>;

/**
 * Chains layers: the output of each is the input of the next; the parameters are the array
 * of each layer's parameters.
 *
 * @example
 * ```ts
 * import { nn, random, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const model = nn.sequential(nn.linear(2, 4), { init: () => null, apply: (_p, x) => nn.relu(x) }, nn.linear(4, 1));
 * const params = model.init(random.key(0));
 * assert.deepEqual(model.apply(params, tensor([[1, 2]])).shape, [1, 1]);
 * ```
 */
// deno-lint-ignore no-explicit-any
export function sequential(...layers: Layer<any>[]): Layer<unknown[]> {
  layers.forEach((layer, i) => checkModule("sequential", `layer ${i}`, layer));
  return {
    init: (key) => {
      const keys = split(key, layers.length);
      return layers.map((layer, i) => layer.init(keys[i]));
    },
    apply: (params, x) => layers.reduce((h, layer, i) => layer.apply(params[i], h), x),
  };
}
