/**
 * Choices as values: `cond` and `switchCase` stage every branch into a program held by one
 * `cond` equation, so that `grad`, `vmap` and `jit` handle the choice whichever way it goes:
 * a jitted function compiles each branch once and picks one per call.
 *
 * @module
 */

import type { Aval } from "../core/backend.ts";
import * as lax from "../core/lax.ts";
import { condPrimitive } from "../core/primitives/cond.ts";
import { Var } from "../core/program.ts";
import { fmt } from "../core/shape.ts";
import { stageOpen } from "../core/subprogram.ts";
import { Tensor } from "../core/tensor.ts";
import { bindMulti } from "../core/trace.ts";
import { type TreeDef, unflatten } from "../tree.ts";
import { checkFunction, describeValue, tensorLeaves } from "./_args.ts";
import { leavesLike, type Like, likeOf } from "./_returns.ts";

const avalOf = (t: Tensor): Aval => ({ shape: t.shape, dtype: t.dtype, device: t.device });

/**
 * `trueFn(...operands)` where `pred` is true (nonzero), else `falseFn(...operands)`, as JAX's
 * `lax.cond`. `pred` is a scalar tensor of any dtype, or a JS boolean or number; the operands
 * and results are pytrees of tensors.
 *
 * Both branches are staged (side effects in them run once each per call), and they must
 * return the same structure, shapes and dtypes. Only the chosen branch runs, and the choice
 * is one primitive to `grad`, `vmap` and `jit`: under `vmap` with a batched `pred`, both
 * branches run and each example takes its own branch's values. For an elementwise choice
 * between two computed values, `where` is simpler. A `pred` tensor must be on a device that
 * reads values synchronously (cpu or wasm, not webgpu); a JS boolean or number works anywhere.
 *
 * @example
 * ```ts
 * import { cond, grad, tensor, type Tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const f = (x: Tensor) => cond(x.greater(0), (x: Tensor) => x.square(), (x: Tensor) => x.neg(), x);
 * assert.equal(f(tensor(3)).item(), 9);
 * assert.equal(f(tensor(-2)).item(), 2);
 * assert.equal(grad(f)(tensor(3)).item(), 6);
 * ```
 */
export function cond<A extends unknown[], R>(
  pred: Tensor | boolean | number,
  trueFn: (...operands: A) => R,
  falseFn: (...operands: A) => R,
  ...operands: A
): R {
  checkFunction("cond", trueFn, "trueFn");
  checkFunction("cond", falseFn, "falseFn");
  const [leaves, def] = tensorLeaves("cond", "operands", operands, false);
  // Branch 0 is trueFn, taken where pred is nonzero.
  let index: Tensor;
  if (pred instanceof Tensor) {
    if (pred.ndim !== 0) {
      throw new RangeError(`cond: pred must be a scalar, got shape ${fmt(pred.shape)}`);
    }
    index = lax.convert(lax.eq(pred, lax.zerosLike(pred)), "int32");
  } else if (typeof pred === "boolean" || typeof pred === "number") {
    // A choice known now is kept on the cpu, where it reads at once whatever the operands'
    // device (WebGPU reads its own buffers only asynchronously).
    index = lax.scalar(pred !== false && pred !== 0 ? 0 : 1, "int32", "cpu");
  } else {
    throw new TypeError(
      `cond: pred must be a scalar tensor, a boolean or a number, got ${describeValue(pred)}`,
    );
  }
  return choose("cond", index, [["trueFn", trueFn], ["falseFn", falseFn]], leaves, def);
}

/**
 * `branches[index](...operands)`, as JAX's `lax.switch`: `index` is an int32 scalar tensor
 * or a JS integer, clamped into range (below 0 picks the first branch, past the end the
 * last); the operands and results are pytrees of tensors.
 *
 * Every branch is staged, and all must return the same structure, shapes and dtypes. Only
 * the chosen branch runs; under `vmap` with a batched `index`, every branch runs and each
 * example takes its own branch's values. As with `cond`, an `index` tensor must be on the cpu
 * or wasm device; a JS integer works anywhere.
 *
 * @example
 * ```ts
 * import { switchCase, tensor, type Tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const branches = [(x: Tensor) => x.add(1), (x: Tensor) => x.mul(10), (x: Tensor) => x.neg()];
 * const x = tensor([1, 2]);
 * assert.deepEqual(await switchCase(1, branches, x).toArray(), [10, 20]);
 * assert.deepEqual(await switchCase(tensor(5, { dtype: "int32" }), branches, x).toArray(), [-1, -2]);
 * ```
 */
export function switchCase<A extends unknown[], R>(
  index: Tensor | number,
  branches: readonly ((...operands: A) => R)[],
  ...operands: A
): R {
  if (!Array.isArray(branches)) {
    throw new TypeError(
      `switchCase: branches must be an array of functions, got ${describeValue(branches)}`,
    );
  }
  if (branches.length === 0) {
    throw new RangeError("switchCase: branches must hold at least one function, got none");
  }
  branches.forEach((f, i) => checkFunction("switchCase", f, `branch ${i}`));
  const [leaves, def] = tensorLeaves("switchCase", "operands", operands, false);
  let chosen: Tensor;
  if (index instanceof Tensor) {
    if (index.ndim !== 0) {
      throw new RangeError(`switchCase: index must be a scalar, got shape ${fmt(index.shape)}`);
    }
    if (index.dtype !== "int32") {
      throw new TypeError(`switchCase: index must be an int32 tensor, got ${index.describe()}`);
    }
    chosen = index;
  } else if (Number.isInteger(index)) {
    // Clamped here, so that no number overflows the int32 index.
    chosen = lax.scalar(Math.min(Math.max(index, 0), branches.length - 1), "int32", "cpu");
  } else {
    throw new TypeError(
      `switchCase: index must be an int32 scalar tensor or an integer, got ${describeValue(index)}`,
    );
  }
  const named = branches.map((f, i) => [`branch ${i}`, f] as const);
  return choose("switchCase", chosen, named, leaves, def);
}

// Stages every branch on the operands' types, checks that their results agree with the first
// one's, and binds the choice. Values the branches captured become operands of all of them.
function choose<A extends unknown[], R>(
  op: string,
  index: Tensor,
  branches: readonly (readonly [string, (...operands: A) => R])[],
  leaves: readonly Tensor[],
  def: TreeDef,
): R {
  const [first] = branches[0];
  let like: Like | undefined;
  const staged = branches.map(([name, f]) =>
    stageOpen(
      (ins) => {
        const out = f(...unflatten<A>(def, ins));
        const what = `the output of ${name}`;
        if (like !== undefined) return leavesLike(op, what, `the output of ${first}`, out, like);
        const [outs, outDef] = tensorLeaves(op, what, out, false);
        like = likeOf(outs, outDef);
        return outs;
      },
      leaves.map(avalOf),
      op,
    )
  );
  const captured = [...new Set(staged.flatMap(([, consts]) => consts))];
  const programs = staged.map(([program, consts]) => {
    const own = new Map(consts.map((c, i) => [c, program.inputs[i]]));
    return program.with({
      inputs: [
        ...captured.map((c) => own.get(c) ?? new Var(avalOf(c))),
        ...program.inputs.slice(consts.length),
      ],
    });
  });
  const outs = bindMulti(condPrimitive, [index, ...captured, ...leaves], { branches: programs });
  return unflatten<R>(like!.def, outs);
}
