/**
 * `scan`: a loop over the leading axis of its `xs`, threading a carry, as JAX's `lax.scan`.
 * The body is a staged program, so the loop is differentiated, batched and compiled once, not
 * once per iteration.
 *
 * Arguments are `[...consts, ...carry, ...xs]`; the body maps `[...consts, ...carry, ...x]` to
 * `[...carry, ...y]`, and the results are the final carry and the `y`s stacked along a new
 * leading axis.
 *
 * Reverse mode splits the differentiated body (partial evaluation) into a primal loop, which
 * also stacks the residuals each step needs, and a tangent loop, which is linear; its
 * transpose is a loop running the other way.
 *
 * @module
 */

import type { Aval, Params } from "../backend.ts";
import * as lax from "../lax.ts";
import {
  type BatchDim,
  defineMultiPrimitive,
  LinearArg,
  type MultiPrimitive,
} from "../primitive.ts";
import { evalProgram, type Program, stageProgram } from "../program.ts";
import { jvpProgram, partialEval, transposeProgram, vmapProgram } from "../subprogram.ts";
import type { Tensor } from "../tensor.ts";
import { bindMulti, scoped } from "../trace.ts";

/** The parameters of a `scan` equation. */
export interface ScanParams extends Params {
  /** `[...consts, ...carry, ...x]` → `[...carry, ...y]`. */
  readonly body: Program;
  /** How many leading arguments are loop constants. */
  readonly consts: number;
  /** How many arguments after them are carried. */
  readonly carry: number;
  /** The number of iterations (the leading extent of every `xs`). */
  readonly length: number;
  /** Whether the loop runs from the last index to the first. */
  readonly reverse: boolean;
}

const stacked = (aval: Aval, length: number): Aval => ({
  shape: [length, ...aval.shape],
  dtype: aval.dtype,
  device: aval.device,
});

// Indices of a list cut into consecutive parts of the given sizes.
function parts<T>(list: readonly T[], ...sizes: number[]): T[][] {
  let at = 0;
  const out = sizes.map((n) => list.slice(at, at += n));
  out.push(list.slice(at));
  return out;
}

/** The `scan` primitive. */
export const scanPrimitive: MultiPrimitive<ScanParams> = defineMultiPrimitive<ScanParams>({
  name: "scan",
  multipleResults: true,

  abstractEval: (args, { body, consts, carry, length }) => [
    ...args.slice(consts, consts + carry),
    ...body.outputs.slice(carry).map((v) => stacked(v.aval, length)),
  ],

  impl: (args, { body, consts, carry, length, reverse }) => {
    const [cs, init, xs] = parts(args, consts, carry);
    let state = init;
    const ys: Tensor[][] = body.outputs.slice(carry).map(() => []);
    for (let n = 0; n < length; n++) {
      const t = reverse ? length - 1 - n : n;
      const outs = scoped(
        () => evalProgram(body, [...cs, ...state, ...xs.map((x) => step(x, t))]),
        (outs) => outs,
      );
      state = outs.slice(0, carry);
      outs.slice(carry).forEach((y, j) => ys[j].push(y));
    }
    const avals = body.outputs.slice(carry).map((v) => v.aval);
    return [...state, ...ys.map((list, j) => stack(reverse ? list.reverse() : list, avals[j]))];
  },

  jvp: (primals, tangents, params) => {
    const { body, consts, carry } = params;
    const nonzero = tangents.map((t) => t !== null);
    const [constNz, initNz, xsNz] = parts(nonzero, consts, carry);
    // A carry's tangent is nonzero if the body makes it so from nonzero inputs: iterate to the
    // fixed point, starting from the initial carries' tangents.
    let carryNz = initNz;
    let jvp: Program, outNz: boolean[];
    for (;;) {
      const ys = body.outputs.length - carry;
      const instantiate = [...carryNz, ...new Array(ys).fill(false)];
      [jvp, outNz] = jvpProgram(body, [...constNz, ...carryNz, ...xsNz], instantiate);
      const next = carryNz.map((nz, i) => nz || outNz[i]);
      if (next.every((nz, i) => nz === carryNz[i])) break;
      carryNz = next;
    }
    const n = primals.length;
    const nTangents = [...constNz, ...carryNz, ...xsNz].filter(Boolean).length;
    // Split the differentiated body: the primal part now, the tangent part as a linear loop.
    const split = partialEval(
      jvp,
      [...new Array(n).fill(false), ...new Array(nTangents).fill(true)],
      jvp.outputs.map((_, i) => i >= body.outputs.length),
    );
    // Residuals that are loop constants are passed once and inputs that are already stacked
    // are passed as they are; the others are stacked per step by the primal loop.
    const source = split.residualInputs.map((i) =>
      i < 0 ? "computed" : i < consts ? "const" : i < consts + carry ? "computed" : "xs"
    );
    const residualVars = split.known.outputs.slice(body.outputs.length);
    const known = split.known.with({
      outputs: [
        ...split.known.outputs.slice(0, body.outputs.length),
        ...residualVars.filter((_, r) => source[r] === "computed"),
      ],
    });
    const primalOuts = bindMulti(scanPrimitive, primals, { ...params, body: known });
    const [outs, computed] = parts(primalOuts, body.outputs.length);
    let next = 0;
    const residuals = split.residualInputs.map((i, r) =>
      source[r] === "computed" ? computed[next++] : primals[i]
    );
    const isConst = source.map((s) => s === "const");
    const [tConsts, tInit, tXs] = parts(tangents, consts, carry);
    const linConsts = tConsts.filter((t): t is Tensor => t !== null);
    const linCarry = tInit.flatMap((t, i) =>
      carryNz[i] ? [t ?? lax.zerosLike(primals[consts + i])] : []
    );
    const linXs = tXs.filter((t): t is Tensor => t !== null);
    const constResiduals = residuals.filter((_, r) => isConst[r]);
    const stepResiduals = residuals.filter((_, r) => !isConst[r]);
    // The tangent body's inputs, in the loop's layout: constants, carry, per-step values.
    const resVars = split.unknown.inputs.slice(0, split.residuals);
    const [tcVars, tcarryVars, txVars] = parts(
      split.unknown.inputs.slice(split.residuals),
      linConsts.length,
      linCarry.length,
    );
    const tangentBody = split.unknown.with({
      inputs: [
        ...resVars.filter((_, r) => isConst[r]),
        ...tcVars,
        ...tcarryVars,
        ...resVars.filter((_, r) => !isConst[r]),
        ...txVars,
      ],
    });
    const tangentOuts = bindMulti(
      scanPrimitive,
      [...constResiduals, ...linConsts, ...linCarry, ...stepResiduals, ...linXs],
      {
        ...params,
        body: tangentBody,
        consts: constResiduals.length + linConsts.length,
        carry: linCarry.length,
      },
    );
    let k = 0;
    const outTangents = outs.map((_, i) =>
      (i < carry ? carryNz[i] : outNz[i]) ? tangentOuts[k++] : null
    );
    return [outs, outTangents];
  },

  transpose: (cts, args, params) => {
    const { body, consts, carry, length, reverse } = params;
    const [cArgs, carryArgs, xArgs] = parts(args, consts, carry);
    const constLinear = cArgs.map((a) => a instanceof LinearArg);
    const xLinear = xArgs.map((a) => a instanceof LinearArg);
    const linear = [...constLinear, ...carryArgs.map(() => true), ...xLinear];
    const back = transposeProgram(body, linear);
    const nlConsts = cArgs.filter((a): a is Tensor => !(a instanceof LinearArg));
    const nlXs = xArgs.filter((a): a is Tensor => !(a instanceof LinearArg));
    const avalOf = (a: Tensor | LinearArg): Aval => (a instanceof LinearArg ? a.aval : a);
    const linConstAvals = cArgs.filter((a) => a instanceof LinearArg).map(avalOf);
    const carryAvals = carryArgs.map(avalOf);
    const outAvals = body.outputs.map((v) => v.aval);
    const nlXAvals = nlXs.map((x) => ({ ...avalOf(x), shape: x.shape.slice(1) }));
    // One backward step: constants' cotangents accumulate in the carry, the carry's flows to
    // the previous step, and each linear x's is a per-step output.
    const stepBody = stageProgram((ins) => {
      const [nlc, acc, ctCarry, nlx, ctY] = parts(
        ins,
        nlConsts.length,
        linConstAvals.length,
        carryAvals.length,
        nlXs.length,
      );
      const outs = evalProgram(back, [...nlc, ...nlx, ...ctCarry, ...ctY]);
      const [ctC, ctPrev, ctX] = parts(outs, linConstAvals.length, carryAvals.length);
      return [...acc.map((a, i) => lax.add(a, ctC[i])), ...ctPrev, ...ctX];
    }, [
      ...nlConsts,
      ...linConstAvals,
      ...carryAvals,
      ...nlXAvals,
      ...outAvals.slice(carry),
    ]);
    const zeros = (a: Aval) => lax.zerosLike(a);
    const ctFinal = carryAvals.map((a, i) => cts[i] ?? zeros(a));
    const ctYs = outAvals.slice(carry).map((a, j) => cts[carry + j] ?? zeros(stacked(a, length)));
    const results = bindMulti(
      scanPrimitive,
      [...nlConsts, ...linConstAvals.map(zeros), ...ctFinal, ...nlXs, ...ctYs],
      {
        body: stepBody,
        consts: nlConsts.length,
        carry: linConstAvals.length + carryAvals.length,
        length,
        reverse: !reverse,
      },
    );
    const [ctConsts, ctInit, ctXs] = parts(results, linConstAvals.length, carryAvals.length);
    let [c, x] = [0, 0];
    return [
      ...constLinear.map((lin) => (lin ? ctConsts[c++] : null)),
      ...ctInit,
      ...xLinear.map((lin) => (lin ? ctXs[x++] : null)),
    ];
  },

  vmap: (args, dims, params, size) => {
    const { body, consts, carry } = params;
    const batched = dims.map((d) => d !== null);
    const [constB, initB, xsB] = parts(batched, consts, carry);
    let carryB = initB;
    let program: Program, outB: boolean[];
    for (;;) {
      const ys = body.outputs.length - carry;
      const instantiate = [...carryB, ...new Array(ys).fill(false)];
      [program, outB] = vmapProgram(body, [...constB, ...carryB, ...xsB], size, instantiate);
      const next = carryB.map((b, i) => b || outB[i]);
      if (next.every((b, i) => b === carryB[i])) break;
      carryB = next;
    }
    const [cs, init, xs] = parts(args, consts, carry);
    const carried = init.map((x, i) =>
      carryB[i] && !initB[i] ? lax.broadcast(x, [size, ...x.shape]) : x
    );
    // Per-step values keep time first: a batched x is [length, batch, ...].
    const perStep = xs.map((x, i) => (xsB[i] ? lax.moveAxis(x, 0, 1) : x));
    const outs = bindMulti(scanPrimitive, [...cs, ...carried, ...perStep], {
      ...params,
      body: program,
    });
    // Batched ys come out as [length, batch, ...]; rules give the batch at axis 0.
    const isBatched = (i: number) => (i < carry ? carryB[i] : outB[i]);
    return [
      outs.map((o, i) => (i >= carry && outB[i] ? lax.moveAxis(o, 1, 0) : o)),
      outs.map((_, i): BatchDim => (isBatched(i) ? 0 : null)),
    ];
  },
});

// Step `t` of a stacked value: its slice at `t` along the leading axis, without that axis.
function step(x: Tensor, t: number): Tensor {
  const rest = x.shape.slice(1);
  return lax.reshape(lax.slice(x, [t, ...rest.map(() => 0)], [1, ...rest]), rest);
}

// Per-step values stacked along a new leading axis.
function stack(list: Tensor[], aval: Aval): Tensor {
  if (list.length === 0) return lax.zerosLike(stacked(aval, 0));
  return lax.concat(list.map((y) => lax.reshape(y, [1, ...y.shape])), 0);
}
