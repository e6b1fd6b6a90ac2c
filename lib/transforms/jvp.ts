/**
 * Forward-mode differentiation: `jvp` over pytrees.
 *
 * @module
 */

import { jvpFlat } from "../core/jvp.ts";
import * as lax from "../core/lax.ts";
import { fmt } from "../core/shape.ts";
import { describe, sameStructure, unflatten } from "../tree.ts";
import { checkFunction, tensorLeaves } from "./_args.ts";

/**
 * Evaluates `f` at `primals` and its directional derivative along `tangents` (a list of
 * pytrees with the primals' structure, shapes and dtypes): `[out, tangentOut]`.
 *
 * @example
 * ```ts
 * import { jvp, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const [y, dy] = jvp((x) => x.mul(x).sum(), [tensor([1, 2])], [tensor([1, 0])]);
 * assert.deepEqual([y.item(), dy.item()], [5, 2]);
 * ```
 */
// deno-lint-ignore no-explicit-any
export function jvp<Out = any>(
  // deno-lint-ignore no-explicit-any
  f: (...primals: any[]) => Out,
  primals: unknown[],
  tangents: unknown[],
): [Out, Out] {
  checkFunction("jvp", f);
  if (!Array.isArray(primals) || !Array.isArray(tangents) || primals.length !== tangents.length) {
    throw new TypeError("jvp: primals and tangents must be arrays of the same length");
  }
  const [ps, def] = tensorLeaves("jvp", "primals", primals, true);
  const [ts, tdef] = tensorLeaves("jvp", "tangents", tangents, false);
  if (!sameStructure(def, tdef)) {
    throw new TypeError(
      `jvp: tangents must have the structure of the primals: ${describe(def)}, got ${
        describe(tdef)
      }`,
    );
  }
  ts.forEach((t, i) => {
    if (t.shape.join() !== ps[i].shape.join()) {
      throw new RangeError(
        `jvp: tangent ${i} has shape ${fmt(t.shape)} but its primal has ${fmt(ps[i].shape)}`,
      );
    }
    if (t.dtype !== ps[i].dtype) {
      throw new TypeError(
        `jvp: tangent ${i} is ${t.describe()} but its primal is ${ps[i].describe()}`,
      );
    }
  });
  let outDef = null as ReturnType<typeof tensorLeaves>[1] | null;
  const [outs, touts] = jvpFlat(
    (xs) => {
      const args = unflatten<unknown[]>(def, xs);
      const [ls, d] = tensorLeaves("jvp", "the output of f", f(...args), false);
      outDef = d;
      return ls;
    },
    ps,
    ts,
  );
  return [
    unflatten<Out>(outDef!, outs),
    unflatten<Out>(outDef!, touts.map((t, i) => t ?? lax.zerosLike(outs[i]))),
  ];
}
