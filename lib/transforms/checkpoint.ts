/**
 * `checkpoint`: trade computation for memory in reverse mode. The function's intermediate
 * values are not kept for the backward pass but recomputed there from its inputs (and, with
 * the `"dotsSaveable"` policy, from the matrix products it keeps), as JAX's `jax.checkpoint`.
 *
 * @module
 */

import type { Aval } from "../core/backend.ts";
import { type CheckpointPolicy, checkpointPrimitive } from "../core/primitives/checkpoint.ts";
import { stageOpen } from "../core/subprogram.ts";
import { Tensor } from "../core/tensor.ts";
import { bindMulti } from "../core/trace.ts";
import { flatten, type TreeDef, unflatten } from "../tree.ts";
import { checkFunction, checkOptions } from "./_args.ts";
import type { Fn } from "./grad.ts";

export type { CheckpointPolicy } from "../core/primitives/checkpoint.ts";

/** Options of {@linkcode checkpoint}. */
export interface CheckpointOptions {
  /**
   * What reverse mode may keep: `"nothingSaveable"` (the default) recomputes every
   * intermediate value from the inputs; `"dotsSaveable"` keeps matrix products and recomputes
   * the rest (the cheap elementwise work around them).
   */
  policy?: CheckpointPolicy;
}

const POLICIES: readonly CheckpointPolicy[] = ["nothingSaveable", "dotsSaveable"];

/**
 * `f` with the same values and gradients, whose intermediate values reverse mode recomputes in
 * the backward pass instead of storing them: a deep or long computation (a recurrent step
 * inside `scan`) then needs memory for its inputs only. Tensor leaves of the arguments are
 * traced; other leaves are fixed values.
 *
 * @example
 * ```ts
 * import { checkpoint, grad, tensor, type Tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const block = checkpoint((x: Tensor) => x.sin().mul(x).exp());
 * const f = (x: Tensor) => block(block(x)).sum();
 * const g = grad(f)(tensor([0.1, 0.2]));
 * const plain = grad((x: Tensor) => x.sin().mul(x).exp().sin().mul(x.sin().mul(x).exp()).exp().sum());
 * const expected = plain(tensor([0.1, 0.2]));
 * const [a, b] = [await g.toArray(), await expected.toArray()] as number[][];
 * assert.ok(a.every((v, i) => Math.abs(v - b[i]) < 1e-5));
 * ```
 */
export function checkpoint<F extends Fn>(f: F, opts: CheckpointOptions = {}): F {
  checkFunction("checkpoint", f);
  const { policy = "nothingSaveable" } = checkOptions("checkpoint", opts) ?? {};
  if (!POLICIES.includes(policy)) {
    throw new RangeError(
      `checkpoint: policy must be one of ${POLICIES.map((p) => `"${p}"`).join(", ")}, got ${
        JSON.stringify(policy)
      }`,
    );
  }
  const label = `checkpoint(${f.name || "anonymous"})`;
  return ((...args: unknown[]) => {
    const [leaves, def] = flatten(args);
    const traced = leaves.filter((l): l is Tensor => l instanceof Tensor);
    let outDef: TreeDef | null = null;
    let outLeaves: unknown[] = [];
    const [body, consts] = stageOpen(
      (xs) => {
        let k = 0;
        const rebuilt = unflatten<unknown[]>(
          def,
          leaves.map((l) => (l instanceof Tensor ? xs[k++] : l)),
        );
        const [ls, d] = flatten(f(...rebuilt));
        outDef = d;
        outLeaves = ls.map((l) => (l instanceof Tensor ? null : l));
        return ls.filter((l): l is Tensor => l instanceof Tensor);
      },
      traced.map((t): Aval => ({ shape: t.shape, dtype: t.dtype, device: t.device })),
      label,
    );
    const outs = bindMulti(checkpointPrimitive, [...consts, ...traced], { body, policy });
    let pos = 0;
    return unflatten(outDef!, outLeaves.map((l) => (l === null ? outs[pos++] : l)));
  }) as F;
}
