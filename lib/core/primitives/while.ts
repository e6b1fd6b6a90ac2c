/**
 * `while`: a loop that runs its body as long as its predicate holds, as JAX's
 * `lax.while_loop`. Predicate and body are staged programs, so the loop is differentiated
 * (forward mode), batched and compiled once, not once per iteration.
 *
 * Arguments are `[...condConsts, ...bodyConsts, ...carry]`; `cond` maps
 * `[...condConsts, ...carry]` to a bool scalar and `body` maps `[...bodyConsts, ...carry]` to
 * the next carry. The results are the carry once the predicate fails.
 *
 * The number of iterations is known only when the loop runs, so there is no tangent loop to
 * run backwards: reverse mode is an error, raised where a gradient would stage the loop's
 * tangents.
 *
 * @module
 */

import { type Aval, type Device, getBackend, type Params } from "../backend.ts";
import type { TypedArray } from "../dtype.ts";
import { StagingTracer } from "../ir.ts";
import * as lax from "../lax.ts";
import { type BatchDim, defineMultiPrimitive, type MultiPrimitive } from "../primitive.ts";
import { evalProgram, type Program, stageProgram, Var } from "../program.ts";
import { jvpProgram, vmapProgram } from "../subprogram.ts";
import type { Tensor } from "../tensor.ts";
import { bindMulti, scoped } from "../trace.ts";

/** The parameters of a `while` equation. */
export interface WhileParams extends Params {
  /** `[...condConsts, ...carry]` → `[pred]`, a bool scalar. */
  readonly cond: Program;
  /** `[...bodyConsts, ...carry]` → the next carry. */
  readonly body: Program;
  /** How many leading arguments are constants of `cond`. */
  readonly condConsts: number;
  /** How many arguments after them are constants of `body`. */
  readonly bodyConsts: number;
}

// A list cut into consecutive parts of the given sizes, and the rest.
function parts<T>(list: readonly T[], ...sizes: number[]): T[][] {
  let at = 0;
  const out = sizes.map((n) => list.slice(at, at += n));
  out.push(list.slice(at));
  return out;
}

const REVERSE_MODE =
  "reverse-mode differentiation of whileLoop is not supported, because its number of iterations is not known in advance; use scan or forLoop with number bounds";

/**
 * Whether the loop goes on, from its predicate's values read synchronously (`null` where the
 * device reads only asynchronously, which cannot decide a loop while it runs).
 *
 * @example
 * ```ts
 * import { loopContinues } from "./while.ts";
 * import assert from "node:assert/strict";
 * assert.equal(loopContinues(new Uint8Array([1]), "cpu"), true);
 * assert.throws(() => loopContinues(null, "webgpu"), /whileLoop/);
 * ```
 */
export function loopContinues(values: TypedArray | null, device: Device): boolean {
  if (values === null) {
    throw new TypeError(
      `whileLoop: the loop's predicate is on device "${device}", which reads values only asynchronously, so the loop cannot decide when to stop; use scan or forLoop with number bounds`,
    );
  }
  return values[0] !== 0;
}

// `program` taking further inputs of types `avals` that it does not read.
function withUnusedInputs(program: Program, avals: readonly Aval[]): Program {
  return program.with({ inputs: [...program.inputs, ...avals.map((a) => new Var(a))] });
}

// Whether any example of a batch of predicates holds, as a bool scalar.
function anyHolds(pred: Tensor): Tensor {
  const most = lax.reduceMax(lax.convert(pred, "int32"), [0]);
  return lax.gt(most, lax.zerosLike(most));
}

/** The `while` primitive. */
export const whilePrimitive: MultiPrimitive<WhileParams> = defineMultiPrimitive<WhileParams>({
  name: "while",
  multipleResults: true,

  abstractEval: (args, { condConsts, bodyConsts }) => args.slice(condConsts + bodyConsts),

  impl: (args, { cond, body, condConsts, bodyConsts }) => {
    const [cc, bc, init] = parts(args, condConsts, bodyConsts);
    const holds = (carry: Tensor[]) =>
      scoped(() => {
        const [pred] = evalProgram(cond, [...cc, ...carry]);
        return loopContinues(getBackend(pred.device).readSync(pred.buffer), pred.device);
      }, () => []);
    // A carry made by an earlier step is freed once the next step has replaced it, unless it
    // is passed through (an argument, a constant of the programs, part of the new carry).
    const kept = new Set([...args, ...cond.consts, ...body.consts]);
    let carry = init;
    while (holds(carry)) {
      const next = scoped(() => evalProgram(body, [...bc, ...carry]), (outs) => outs);
      const live = new Set(next);
      for (const t of carry) if (!kept.has(t) && !live.has(t)) t.dispose();
      carry = next;
    }
    return carry;
  },

  jvp: (primals, tangents, params) => {
    const { cond, body, condConsts, bodyConsts } = params;
    const nonzero = tangents.map((t) => t !== null);
    const [, constNz, initNz] = parts(nonzero, condConsts, bodyConsts);
    // A carry's tangent is nonzero if the body makes it so from nonzero inputs: iterate to the
    // fixed point, starting from the initial carries' tangents. The predicate has no tangent.
    let carryNz = initNz;
    let jvp: Program;
    for (;;) {
      let outNz: boolean[];
      [jvp, outNz] = jvpProgram(body, [...constNz, ...carryNz], carryNz);
      const next = carryNz.map((nz, i) => nz || outNz[i]);
      if (next.every((nz, i) => nz === carryNz[i])) break;
      carryNz = next;
    }
    const [cc, bc, init] = parts(primals, condConsts, bodyConsts);
    if (!carryNz.some(Boolean)) {
      return [bindMulti(whilePrimitive, primals, params), init.map(() => null)];
    }
    // A gradient stages these tangents to run them backwards, which a loop of unknown length
    // cannot do: say so now, before the loop runs.
    if (tangents.some((t) => t instanceof StagingTracer && t.trace.purpose === "grad")) {
      throw new TypeError(REVERSE_MODE);
    }
    const [, tc, tInit] = parts(tangents, condConsts, bodyConsts);
    const constTangents = tc.filter((t): t is Tensor => t !== null);
    const carryTangents = tInit.flatMap((t, i) => carryNz[i] ? [t ?? lax.zerosLike(init[i])] : []);
    // The differentiated body reads [...consts, ...carry, ...constTangents, ...carryTangents];
    // the loop wants its constants first.
    const [vConsts, vCarry, vTc, vTcarry] = parts(
      jvp.inputs,
      bc.length,
      init.length,
      constTangents.length,
    );
    const outs = bindMulti(
      whilePrimitive,
      [...cc, ...bc, ...constTangents, ...init, ...carryTangents],
      {
        cond: withUnusedInputs(cond, carryTangents),
        body: jvp.with({ inputs: [...vConsts, ...vTc, ...vCarry, ...vTcarry] }),
        condConsts,
        bodyConsts: bodyConsts + constTangents.length,
      },
    );
    const [results, outTangents] = parts(outs, init.length);
    let k = 0;
    const carryTangentsOut = carryNz.map((nz) => (nz ? outTangents[k++] : null));
    // Partial evaluation (a scan's or checkpoint's derivative) may split staged tangents from
    // their primals, and it keeps an equation whole on the side of its unknown inputs: staged
    // primal results come from a loop of their own, which reads no tangent.
    if (!tangents.some((t) => t instanceof StagingTracer)) return [results, carryTangentsOut];
    return [bindMulti(whilePrimitive, primals, params), carryTangentsOut];
  },

  vmap: (args, dims, params, size) => {
    const { cond, body, condConsts, bodyConsts } = params;
    const batched = dims.map((d) => d !== null);
    const [condB, constB, initB] = parts(batched, condConsts, bodyConsts);
    const vmapBody = (carryB: boolean[]) => {
      for (;;) {
        const [program, outB] = vmapProgram(body, [...constB, ...carryB], size, carryB);
        const next = carryB.map((b, i) => b || outB[i]);
        if (next.every((b, i) => b === carryB[i])) return [program, carryB] as const;
        carryB = next;
      }
    };
    const fixed = vmapBody(initB);
    const [, [predB]] = vmapProgram(cond, [...condB, ...fixed[1]], size);
    // A batched predicate stops examples at different steps, so then every carry varies.
    const [batchedBody, carryB] = predB ? vmapBody(initB.map(() => true)) : fixed;
    const [batchedCond] = vmapProgram(cond, [...condB, ...carryB], size);
    const [cc, bc, init] = parts(args, condConsts, bodyConsts);
    const carried = init.map((x, i) =>
      carryB[i] && !initB[i] ? lax.broadcast(x, [size, ...x.shape]) : x
    );
    const outDims = carryB.map((b): BatchDim => (b ? 0 : null));
    if (!predB) {
      const outs = bindMulti(whilePrimitive, [...cc, ...bc, ...carried], {
        ...params,
        cond: batchedCond,
        body: batchedBody,
      });
      return [outs, outDims];
    }
    // Run while any example's predicate holds; an example whose predicate fails keeps its
    // carry from then on.
    const condAvals = batchedCond.inputs.map((v) => v.aval);
    const bodyAvals = batchedBody.inputs.map((v) => v.aval);
    const carryAvals = bodyAvals.slice(bc.length);
    const anyCond = stageProgram((ins) => [anyHolds(evalProgram(batchedCond, ins)[0])], condAvals);
    const guardedBody = stageProgram((ins) => {
      const [cs, bs, carry] = parts(ins, cc.length, bc.length);
      const [pred] = evalProgram(batchedCond, [...cs, ...carry]);
      const next = evalProgram(batchedBody, [...bs, ...carry]);
      return next.map((n, i) => {
        const mask = lax.broadcast(
          lax.reshape(pred, [size, ...n.shape.slice(1).map(() => 1)]),
          n.shape,
        );
        return lax.select(mask, n, carry[i]);
      });
    }, [...condAvals.slice(0, cc.length), ...bodyAvals.slice(0, bc.length), ...carryAvals]);
    const outs = bindMulti(whilePrimitive, [...cc, ...cc, ...bc, ...carried], {
      cond: anyCond,
      body: guardedBody,
      condConsts: cc.length,
      bodyConsts: cc.length + bc.length,
    });
    return [outs, outDims];
  },
});
