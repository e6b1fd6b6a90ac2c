/**
 * `cond`: the choice of one of several branches by an index, as JAX's `lax.switch`. Every
 * branch is a staged program of the same input and output types, so the choice is one
 * primitive to differentiate, batch and compile, whichever branch runs.
 *
 * Arguments are `[index, ...operands]`, `index` an int32 scalar clamped into range; each branch
 * maps the operands to the outputs.
 *
 * Reverse mode splits every differentiated branch (partial evaluation) into a primal branch,
 * which also returns the residuals its tangent needs, and a linear tangent branch. The primal
 * branches must agree on their outputs, so each returns a slot for every residual type any
 * branch needs, zeros where it needs none, as JAX does; the tangent `cond` reads the same index.
 *
 * @module
 */

import { type Aval, type Device, getBackend, type Params } from "../backend.ts";
import type { TypedArray } from "../dtype.ts";
import * as lax from "../lax.ts";
import {
  type BatchDim,
  defineMultiPrimitive,
  LinearArg,
  type MultiPrimitive,
} from "../primitive.ts";
import { evalProgram, type Program, stageProgram, Var } from "../program.ts";
import { fmt } from "../shape.ts";
import { jvpProgram, partialEval, transposeProgram, vmapProgram } from "../subprogram.ts";
import type { Tensor } from "../tensor.ts";
import { bindMulti, scoped } from "../trace.ts";

/** The parameters of a `cond` equation. */
export interface CondParams extends Params {
  /** The branches, each mapping the operands to outputs of the same types as the others. */
  readonly branches: readonly Program[];
}

/**
 * The branch an index selects, clamped into `[0, count)` as `lax.switch` does, from the
 * index's values as its backend reads them synchronously (`null` where it cannot, as on
 * WebGPU: a TypeError).
 *
 * @example
 * ```ts
 * import { branchAt } from "./cond.ts";
 * import assert from "node:assert/strict";
 * assert.equal(branchAt(Int32Array.of(1), "cpu", 3), 1);
 * assert.equal(branchAt(Int32Array.of(7), "cpu", 3), 2);
 * assert.equal(branchAt(Int32Array.of(-1), "cpu", 3), 0);
 * assert.throws(() => branchAt(null, "webgpu", 2), /cond: .*webgpu.*where/);
 * ```
 */
export function branchAt(values: TypedArray | null, device: Device, count: number): number {
  if (values === null) {
    throw new TypeError(
      `cond: the branch index is on device "${device}", which reads values only asynchronously, so the branch cannot be chosen; compute both results and choose with where(pred, a, b), or pass pred (or the index) as a JS value or a cpu or wasm tensor`,
    );
  }
  return Math.min(Math.max(Number(values[0]), 0), count - 1);
}

const keyOf = ({ shape, dtype, device }: Aval) => `${dtype}${fmt(shape)}@${device}`;

/**
 * The residual slots common to all branches: for each type, as many as the branch needing
 * most of that type. Returns the slots' types and, per branch, the slot of each residual.
 */
function mergeResiduals(perBranch: readonly (readonly Aval[])[]): [Aval[], number[][]] {
  const slots: Aval[] = [];
  const placements = perBranch.map((avals) => {
    const used = new Map<string, number>();
    return avals.map((aval) => {
      const key = keyOf(aval);
      const nth = used.get(key) ?? 0;
      used.set(key, nth + 1);
      const ofType = slots.flatMap((s, i) => (keyOf(s) === key ? [i] : []));
      if (nth < ofType.length) return ofType[nth];
      slots.push(aval);
      return slots.length - 1;
    });
  });
  return [slots, placements];
}

const avalsOf = (vars: readonly Var[]): Aval[] => vars.map((v) => v.aval);

/** The `cond` primitive. */
export const condPrimitive: MultiPrimitive<CondParams> = defineMultiPrimitive<CondParams>({
  name: "cond",
  multipleResults: true,

  abstractEval: (_args, { branches }) => avalsOf(branches[0].outputs),

  impl: ([index, ...operands], { branches }) => {
    const values = getBackend(index.device).readSync(index.buffer);
    const branch = branches[branchAt(values, index.device, branches.length)];
    return scoped(() => evalProgram(branch, operands), (outs) => outs);
  },

  jvp: ([index, ...operands], [, ...tangents], params) => {
    const { branches } = params;
    const nonzero = tangents.map((t) => t !== null);
    // All branches must give tangents to the same outputs: those any branch gives one to.
    const outNz = branches
      .map((b) => jvpProgram(b, nonzero)[1])
      .reduce((acc, nz) => acc.map((a, i) => a || nz[i]));
    if (!outNz.some(Boolean)) {
      return [bindMulti(condPrimitive, [index, ...operands], params), outNz.map(() => null)];
    }
    const nOut = outNz.length;
    const nTangents = nonzero.filter(Boolean).length;
    const splits = branches.map((b) => {
      const jvp = jvpProgram(b, nonzero, outNz)[0];
      return partialEval(
        jvp,
        [...operands.map(() => false), ...new Array(nTangents).fill(true)],
        jvp.outputs.map((_, i) => i >= nOut),
      );
    });
    const [slots, placements] = mergeResiduals(
      splits.map((s) => avalsOf(s.known.outputs.slice(nOut))),
    );
    // The residual of branch `b` in slot `s`, if it has one there.
    const residualIn = (b: number, s: number) => placements[b].indexOf(s);
    const known = splits.map((split, b) =>
      stageProgram(
        (xs) => {
          const outs = evalProgram(split.known, xs);
          const own = outs.slice(nOut);
          return [
            ...outs.slice(0, nOut),
            ...slots.map((aval, s) => {
              const r = residualIn(b, s);
              return r < 0 ? lax.zerosLike(aval) : own[r];
            }),
          ];
        },
        operands,
        "cond",
      )
    );
    const unknown = splits.map(({ unknown, residuals }, b) =>
      unknown.with({
        inputs: [
          ...slots.map((aval, s) => {
            const r = residualIn(b, s);
            return r < 0 ? new Var(aval) : unknown.inputs[r];
          }),
          ...unknown.inputs.slice(residuals),
        ],
      })
    );
    const primalOuts = bindMulti(condPrimitive, [index, ...operands], { branches: known });
    const linear = tangents.filter((t): t is Tensor => t !== null);
    const tangentOuts = bindMulti(
      condPrimitive,
      [index, ...primalOuts.slice(nOut), ...linear],
      { branches: unknown },
    );
    let k = 0;
    return [primalOuts.slice(0, nOut), outNz.map((nz) => (nz ? tangentOuts[k++] : null))];
  },

  transpose: (cts, [index, ...operands], { branches }) => {
    const linear = operands.map((a) => a instanceof LinearArg);
    const back = branches.map((b) => transposeProgram(b, linear));
    const nonLinear = operands.filter((a): a is Tensor => !(a instanceof LinearArg));
    const outCts = avalsOf(branches[0].outputs).map((aval, i) => cts[i] ?? lax.zerosLike(aval));
    // An int32 index is never linear.
    const results = bindMulti(condPrimitive, [index as Tensor, ...nonLinear, ...outCts], {
      branches: back,
    });
    let k = 0;
    return [null, ...linear.map((lin) => (lin ? results[k++] : null))];
  },

  vmap: ([index, ...operands], [indexDim, ...dims], params, size) => {
    const { branches } = params;
    const batched = dims.map((d) => d !== null);
    if (indexDim === null) {
      // One branch for the whole batch: the batched branches must agree on batched outputs.
      const outB = branches
        .map((b) => vmapProgram(b, batched, size)[1])
        .reduce((acc, bs) => acc.map((a, i) => a || bs[i]));
      const programs = branches.map((b) => vmapProgram(b, batched, size, outB)[0]);
      const outs = bindMulti(condPrimitive, [index, ...operands], { branches: programs });
      return [outs, outB.map((b): BatchDim => (b ? 0 : null))];
    }
    // A branch per example: every branch runs on the whole batch and `select` picks, as JAX
    // converts a batched index.
    const all = branches[0].outputs.map(() => true);
    const results = branches.map((b) =>
      evalProgram(vmapProgram(b, batched, size, all)[0], operands)
    );
    const last = lax.full([size], branches.length - 1, "int32", index.device);
    const zero = lax.full([size], 0, "int32", index.device);
    const chosen = lax.max(lax.min(index, last), zero);
    const outs = results[0].map((first, j) =>
      results.slice(1).reduce((acc, outs, b) => {
        const picked = lax.eq(chosen, lax.full([size], b + 1, "int32", index.device));
        const axes = acc.shape.slice(1).map((_, i) => i + 1);
        return lax.select(lax.unreduce(picked, axes, acc.shape), outs[j], acc);
      }, first)
    );
    return [outs, outs.map((): BatchDim => 0)];
  },
});
