/**
 * The book's optimizer arithmetic ("Deep Learning from Scratch 2", common/util.py and
 * common/optimizer.py) as a nabla gradient transformation, for experiments that set it beside
 * `optim.chain(optim.clipByGlobalNorm(5), optim.adam(1e-3))`:
 *
 * - clipping multiplies by `rate = maxNorm / (‖g‖ + 1e-6)` when `rate < 1`;
 * - Adam folds the bias correction into the step size and adds eps = 1e-7 to `√v`:
 *   `p -= lr·√(1 − b2^t)/(1 − b1^t) · m/(√v + 1e-7)`. That is optax's update with eps
 *   `1e-7/√(1 − b2^t)` on `√v̂`: 3.2e-6 at the first step, 3.3e-7 at step 100, and larger
 *   than optax's 1e-8 throughout, so parameters with tiny gradients move less early on.
 *
 * @module
 */

import * as nb from "../mod.ts";
import { optim, type Tensor, tree } from "../mod.ts";

interface BookAdamState {
  /** Steps taken. */
  t: number;
  m: unknown;
  v: unknown;
}

function bookClip(maxNorm: number): optim.GradientTransformation<optim.EmptyState> {
  return {
    init: () => ({}),
    update: (grads, state) => {
      const leaves = tree.leaves<Tensor>(grads);
      const norm = leaves.map((g) => g.square().sum()).reduce((a, b) => a.add(b)).sqrt();
      const factor = nb.div(maxNorm, norm.add(1e-6)).minimum(1);
      return [tree.map((g: Tensor) => g.mul(factor), grads), state];
    },
  };
}

function bookAdam(lr: number, b1 = 0.9, b2 = 0.999): optim.GradientTransformation<BookAdamState> {
  return {
    init: (params) => ({
      t: 0,
      m: tree.map(nb.zerosLike, params),
      v: tree.map(nb.zerosLike, params),
    }),
    update: (grads, state) => {
      const t = state.t + 1;
      const lrT = lr * Math.sqrt(1 - b2 ** t) / (1 - b1 ** t);
      const m = tree.map((m: Tensor, g: Tensor) => m.add(g.sub(m).mul(1 - b1)), state.m, grads);
      const v = tree.map(
        (v: Tensor, g: Tensor) => v.add(g.square().sub(v).mul(1 - b2)),
        state.v,
        grads,
      );
      const updates = tree.map((m: Tensor, v: Tensor) => m.mul(-lrT).div(v.sqrt().add(1e-7)), m, v);
      return [updates, { t, m, v }];
    },
  };
}

/** The book's clipping by global norm, then the book's Adam. */
export function bookOptimizer(
  lr: number,
  maxNorm: number,
): optim.GradientTransformation<unknown[]> {
  return optim.chain(bookClip(maxNorm), bookAdam(lr));
}
