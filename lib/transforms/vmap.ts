/**
 * Vectorization: `vmap` over pytrees.
 *
 * @module
 */

import { vmapFlat } from "../core/batch.ts";
import * as lax from "../core/lax.ts";
import { fmt, normalizeAxis } from "../core/shape.ts";
import type { Tensor } from "../core/tensor.ts";
import { type TreeDef, unflatten } from "../tree.ts";
import { checkFunction, checkOptions, describeValue, tensorLeaves } from "./_args.ts";

/** Options of `vmap`. */
export interface VmapOptions {
  /** The batch axis of each argument (`null`: shared by every example); one number for all. */
  inAxes?: number | null | (number | null)[];
  /** Where the outputs get their batch axis (default 0; negative counts from the end). */
  outAxes?: number;
}

/**
 * Vectorizes `f` over a batch axis of its arguments, as if it were applied to each example
 * and the results stacked.
 *
 * @example
 * ```ts
 * import { tensor, vmap } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const dots = vmap((a, b) => a.dot(b));
 * assert.deepEqual(await dots(tensor([[1, 2], [3, 4]]), tensor([[1, 1], [0, 1]])).toArray(), [3, 4]);
 * const scaled = vmap((x, s) => x.mul(s), { inAxes: [0, null] });
 * assert.deepEqual(await scaled(tensor([[1], [2]]), tensor(10)).toArray(), [[10], [20]]);
 * ```
 */
// deno-lint-ignore no-explicit-any
export function vmap<F extends (...args: any[]) => any>(f: F, opts: VmapOptions = {}): F {
  checkFunction("vmap", f);
  const { inAxes = 0, outAxes = 0 } = checkOptions("vmap", opts) ?? {};
  if (typeof outAxes !== "number") {
    throw new TypeError(`vmap: outAxes must be an integer, got ${describeValue(outAxes)}`);
  }
  if (!Number.isInteger(outAxes)) {
    throw new RangeError(`vmap: outAxes must be an integer, got ${outAxes}`);
  }
  const wrapped = (...args: unknown[]) => {
    const axes = Array.isArray(inAxes) ? inAxes : args.map(() => inAxes);
    if (axes.length !== args.length) {
      throw new TypeError(`vmap: inAxes has ${axes.length} entries for ${args.length} arguments`);
    }
    const leaves: Tensor[] = [];
    const leafAxes: (number | null)[] = [];
    const defs = args.map((arg, i) => {
      const [ls, def] = tensorLeaves("vmap", `argument ${i}`, arg, false);
      for (const l of ls) {
        const axis = axes[i];
        leaves.push(l);
        leafAxes.push(axis === null ? null : normalizeAxis("vmap", axis, l.shape));
      }
      return [ls.length, def] as const;
    });
    const sizes = new Set(
      leaves.flatMap((l, i) => (leafAxes[i] === null ? [] : [l.shape[leafAxes[i]!]])),
    );
    if (sizes.size === 0) {
      throw new TypeError("vmap: no argument is batched (every inAxes is null)");
    }
    if (sizes.size > 1) {
      throw new RangeError(
        `vmap: batched arguments have different sizes along their axes: ${[...sizes].join(", ")}`,
      );
    }
    let outDef: TreeDef | null = null;
    const outs = vmapFlat(
      (xs) => {
        let pos = 0;
        const rebuilt = defs.map(([n, def]) => unflatten(def, xs.slice(pos, pos += n)));
        const [ls, d] = tensorLeaves("vmap", "the output of f", f(...rebuilt), false);
        outDef = d;
        return ls;
      },
      leaves,
      leafAxes,
      [...sizes][0],
      0,
    );
    return unflatten(outDef!, outs.map((o) => lax.moveAxis(o, 0, outAxis(o, outAxes))));
  };
  return wrapped as F;
}

// Where an output (batched at axis 0) gets its batch axis.
function outAxis(out: Tensor, outAxes: number): number {
  if (outAxes < -out.ndim || outAxes >= out.ndim) {
    throw new RangeError(
      `vmap: outAxes ${outAxes} is out of bounds for an output of shape ${fmt(out.shape)}`,
    );
  }
  return outAxes < 0 ? outAxes + out.ndim : outAxes;
}
