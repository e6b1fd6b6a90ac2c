/**
 * Loops as values: `scan` and `forLoop` stage their body once into a program held by one
 * `scan` equation, so that `grad`, `vmap` and `jit` handle the whole loop at once: a jitted
 * recurrent network compiles its step once, whatever the sequence length.
 *
 * @module
 */

import { type Aval, getDefaultDevice } from "../core/backend.ts";
import * as lax from "../core/lax.ts";
import { scanPrimitive } from "../core/primitives/scan.ts";
import { fmt } from "../core/shape.ts";
import { stageOpen } from "../core/subprogram.ts";
import { Tensor } from "../core/tensor.ts";
import { bindMulti } from "../core/trace.ts";
import { flatten, type TreeDef, unflatten } from "../tree.ts";
import { checkFunction, checkOptions, tensorLeaves } from "./_args.ts";
import { checkPair, leavesLike, likeOf } from "./_returns.ts";
import { whileLoop } from "./while.ts";

/** Options of {@linkcode scan}. */
export interface ScanOptions {
  /** The number of iterations; required when `xs` has no leaves, else their leading extent. */
  length?: number;
  /** Run from the last index to the first (outputs are still stacked in index order). */
  reverse?: boolean;
  /**
   * Iterations per compiled loop step, as in JAX. Accepted for compatibility: results do not
   * depend on it.
   */
  unroll?: number | boolean;
}

const avalOf = (t: Tensor): Aval => ({ shape: t.shape, dtype: t.dtype, device: t.device });

/**
 * Loops `f` over the leading axis of `xs`, threading a carry: `f(carry, x)` returns
 * `[carry, y]`, and `scan` returns the final carry and the `y`s stacked along a new leading
 * axis, as JAX's `lax.scan`. `init`, `xs` and the results are pytrees of tensors; the carry
 * `f` returns must have `init`'s structure, shapes and dtypes.
 *
 * The body is staged once (side effects in `f` run once per call, not per step), so the loop
 * is one primitive to `grad`, `vmap` and `jit`: reverse mode stores only what each step's
 * derivative needs, and `jit` compiles the body once.
 *
 * @example
 * ```ts
 * import { scan, tensor, type Tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * // running sums
 * const [total, sums] = scan((c: Tensor, x: Tensor) => {
 *   const next = c.add(x);
 *   return [next, next];
 * }, tensor(0), tensor([1, 2, 3, 4]));
 * assert.equal(total.item(), 10);
 * assert.deepEqual(await sums.toArray(), [1, 3, 6, 10]);
 * ```
 */
// deno-lint-ignore no-explicit-any
export function scan<C, X = any, Y = any>(
  f: (carry: C, x: X) => readonly [C, Y],
  init: C,
  xs: X,
  opts: ScanOptions = {},
): [C, Y] {
  checkFunction("scan", f);
  const { length, reverse = false, unroll = 1 } = checkOptions("scan", opts) ?? {};
  if (typeof reverse !== "boolean") {
    throw new TypeError(`scan: reverse must be a boolean, got ${typeof reverse}`);
  }
  if (!(typeof unroll === "boolean" || Number.isInteger(unroll) && unroll >= 1)) {
    throw new RangeError(`scan: unroll must be a positive integer or a boolean, got ${unroll}`);
  }
  const [initLeaves, initDef] = tensorLeaves("scan", "init", init, false);
  const [xLeaves, xsDef] = tensorLeaves("scan", "xs", xs, false);
  const n = loopLength(xLeaves, length);
  const carryLike = likeOf(initLeaves, initDef);
  let yDef: TreeDef | null = null;
  const [body, consts] = stageOpen((ins) => {
    const carry = unflatten<C>(initDef, ins.slice(0, initLeaves.length));
    const x = unflatten<X>(xsDef, ins.slice(initLeaves.length));
    const [next, y] = checkPair("scan", "f", "[carry, y]", f(carry, x));
    const carryOut = leavesLike("scan", "the carry f returned", "init", next, carryLike);
    const [yLeaves, def] = tensorLeaves("scan", "the y f returned", y, false);
    yDef = def;
    return [...carryOut, ...yLeaves];
  }, [
    ...initLeaves.map(avalOf),
    ...xLeaves.map((x) => ({ ...avalOf(x), shape: x.shape.slice(1) })),
  ], "scan");
  const outs = bindMulti(scanPrimitive, [...consts, ...initLeaves, ...xLeaves], {
    body,
    consts: consts.length,
    carry: initLeaves.length,
    length: n,
    reverse,
  });
  return [
    unflatten<C>(initDef, outs.slice(0, initLeaves.length)),
    unflatten<Y>(yDef!, outs.slice(initLeaves.length)),
  ];
}

// The iteration count: `length`, or the common leading extent of the xs.
function loopLength(xs: readonly Tensor[], length: number | undefined): number {
  if (length !== undefined && !(Number.isInteger(length) && length >= 0)) {
    throw new RangeError(`scan: length must be a non-negative integer, got ${length}`);
  }
  for (const x of xs) {
    if (x.ndim === 0) {
      throw new RangeError(`scan: every xs leaf needs a leading axis to loop over, got shape []`);
    }
  }
  const extents = [...new Set(xs.map((x) => x.shape[0]))];
  if (extents.length > 1) {
    throw new RangeError(
      `scan: xs leaves must share their leading extent, got shapes ${
        xs.map((x) => fmt(x.shape)).join(", ")
      }`,
    );
  }
  if (extents.length === 0) {
    if (length === undefined) {
      throw new TypeError("scan: length is required when xs has no tensors");
    }
    return length;
  }
  if (length !== undefined && length !== extents[0]) {
    throw new RangeError(
      `scan: length ${length} does not match the leading extent ${extents[0]} of xs`,
    );
  }
  return extents[0];
}

/**
 * Runs `body(i, carry)` for `i` from `lower` up to `upper - 1` and returns the last carry, as
 * JAX's `lax.fori_loop`. `i` is an int32 scalar tensor. With number bounds the loop is a
 * `scan`, so it can be differentiated in both modes; bounds that are int32 scalar tensors
 * (values known only when the loop runs, inside `jit` say) make it a `whileLoop` over
 * `[i, carry]`, which differentiates in forward mode only.
 *
 * @example
 * ```ts
 * import { forLoop, tensor, type Tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * // 1 + 2 + 3 + 4
 * const total = forLoop(1, 5, (i: Tensor, acc: Tensor) => acc.add(i.astype("float32")), tensor(0));
 * assert.equal(total.item(), 10);
 * // the same with a bound that is a tensor (a whileLoop)
 * const upper = tensor(5, { dtype: "int32" });
 * const add = (i: Tensor, acc: Tensor) => acc.add(i.astype("float32"));
 * assert.equal(forLoop(1, upper, add, tensor(0)).item(), 10);
 * ```
 */
export function forLoop<C>(
  lower: number | Tensor,
  upper: number | Tensor,
  body: (i: Tensor, carry: C) => C,
  init: C,
): C {
  checkFunction("forLoop", body, "body");
  for (const [name, v] of [["lower", lower], ["upper", upper]] as const) {
    if (v instanceof Tensor) {
      if (v.dtype !== "int32" || v.ndim !== 0) {
        throw new TypeError(`forLoop: ${name} must be an int32 scalar tensor, got ${v.describe()}`);
      }
    } else if (!Number.isInteger(v)) {
      throw new TypeError(`forLoop: ${name} must be an integer, got ${String(v)}`);
    }
  }
  const [leaves] = flatten(init);
  const device = leaves.find((l): l is Tensor => l instanceof Tensor)?.device ?? getDefaultDevice();
  if (lower instanceof Tensor || upper instanceof Tensor) {
    const on = lower instanceof Tensor ? lower.device : (upper as Tensor).device;
    const bound = (v: number | Tensor) => (v instanceof Tensor ? v : lax.scalar(v, "int32", on));
    const [first, last] = [bound(lower), bound(upper)];
    const one = lax.scalar(1, "int32", first.device);
    const [, carry] = whileLoop(
      ([i]: [Tensor, C]) => lax.lt(i, last),
      ([i, c]: [Tensor, C]): [Tensor, C] => [lax.add(i, one), body(i, c)],
      [first, init] as [Tensor, C],
    );
    return carry;
  }
  const count = Math.max(upper - lower, 0);
  const steps = lax.add(
    lax.iota([count], 0, "int32", device),
    lax.full([count], lower, "int32", device),
  );
  const [carry] = scan((c: C, i: Tensor) => [body(i, c), null] as const, init, steps);
  return carry;
}
