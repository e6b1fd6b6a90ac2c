/**
 * `whileLoop`: a loop whose length the values decide. Predicate and body are staged once into
 * programs held by one `while` equation, so that `jvp`, `vmap` and `jit` handle the whole loop
 * at once, whatever the number of iterations.
 *
 * @module
 */

import type { Aval } from "../core/backend.ts";
import * as lax from "../core/lax.ts";
import { whilePrimitive } from "../core/primitives/while.ts";
import { fmt } from "../core/shape.ts";
import { stageOpen } from "../core/subprogram.ts";
import { Tensor } from "../core/tensor.ts";
import { bindMulti } from "../core/trace.ts";
import { unflatten } from "../tree.ts";
import { checkFunction, describeValue, tensorLeaves } from "./_args.ts";
import { leavesLike, likeOf } from "./_returns.ts";

const avalOf = (t: Tensor): Aval => ({ shape: t.shape, dtype: t.dtype, device: t.device });

/**
 * Runs `body` on a carry as long as `cond(carry)` holds and returns the last carry, as JAX's
 * `lax.while_loop`. `init` and the carry are pytrees of tensors; `body` must return `init`'s
 * structure, shapes and dtypes; `cond` returns a scalar tensor, bool or numeric (nonzero
 * holds).
 *
 * `cond` and `body` are staged once (their side effects run once per call, not per step), so
 * the loop is one primitive to `jvp`, `vmap` and `jit`. Under `vmap`, a predicate that varies
 * over the batch runs the loop while any example's holds, each example keeping its carry once
 * its own predicate fails. Reverse mode (`grad`, `vjp`) is an error, since the number of
 * iterations is not known in advance: `scan`, or `forLoop` with number bounds, differentiate
 * in both modes. Reading the predicate needs a device that reads synchronously (not webgpu).
 *
 * @example
 * ```ts
 * import { tensor, type Tensor, whileLoop } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * // Newton's method for √2, until the step is small
 * const [x] = whileLoop(
 *   ([, step]: Tensor[]) => step.abs().greater(1e-6),
 *   ([x]: Tensor[]) => {
 *     const next = x.sub(x.mul(x).sub(2).div(x.mul(2)));
 *     return [next, next.sub(x)];
 *   },
 *   [tensor(1), tensor(1)],
 * );
 * assert.ok(Math.abs(x.item() - Math.SQRT2) < 1e-6);
 * ```
 */
export function whileLoop<C>(
  cond: (carry: C) => Tensor,
  body: (carry: C) => C,
  init: C,
): C {
  checkFunction("whileLoop", cond, "cond");
  checkFunction("whileLoop", body, "body");
  const [initLeaves, initDef] = tensorLeaves("whileLoop", "init", init, false);
  const carryLike = likeOf(initLeaves, initDef);
  const avals = initLeaves.map(avalOf);
  const [condProgram, condConsts] = stageOpen(
    (ins) => [predicate(cond(unflatten<C>(initDef, ins)))],
    avals,
    "whileLoop",
  );
  const [bodyProgram, bodyConsts] = stageOpen(
    (ins) =>
      leavesLike(
        "whileLoop",
        "the carry body returned",
        "init",
        body(unflatten<C>(initDef, ins)),
        carryLike,
      ),
    avals,
    "whileLoop",
  );
  const outs = bindMulti(whilePrimitive, [...condConsts, ...bodyConsts, ...initLeaves], {
    cond: condProgram,
    body: bodyProgram,
    condConsts: condConsts.length,
    bodyConsts: bodyConsts.length,
  });
  return unflatten<C>(initDef, outs);
}

// `cond`'s value as a bool scalar: numbers hold where nonzero.
function predicate(value: unknown): Tensor {
  if (!(value instanceof Tensor) || value.ndim !== 0) {
    throw new TypeError(
      `whileLoop: cond must return a scalar tensor (shape []), got ${
        value instanceof Tensor ? `shape ${fmt(value.shape)}` : describeValue(value)
      }`,
    );
  }
  return value.dtype === "bool" ? value : lax.ne(value, lax.zerosLike(value));
}
