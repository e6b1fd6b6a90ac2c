/**
 * Transformations of whole programs, for the primitives that hold them (loops, branches,
 * `checkpoint`): their rules differentiate, batch, split and transpose the staged body once,
 * as a program, instead of once per iteration.
 *
 * Each transformation stages a function that runs the program through the interpreter it
 * needs (`evalProgram` under a JVP or batch trace), so every primitive's own rules do the
 * work, and the result is again a program.
 *
 * @module
 */

import type { Aval } from "./backend.ts";
import { CotangentSum } from "./_cotangent.ts";
import { BatchTrace, BatchTracer } from "./batch.ts";
import { JVPTrace, JVPTracer } from "./jvp.ts";
import * as lax from "./lax.ts";
import { type BlockCotangent, isMultiPrimitive, LinearArg } from "./primitive.ts";
import { evalProgram, Program, type ProgramEquation, stageProgram, type Var } from "./program.ts";
import type { Tensor } from "./tensor.ts";
import { bind, bindMulti, withTrace } from "./trace.ts";

/**
 * The program with its constants turned into leading inputs, and those constants: what a
 * primitive holding a body passes as explicit arguments, so that values of enclosing
 * transformations that the body captured reach those transformations.
 *
 * @example
 * ```ts
 * import { openProgram } from "./subprogram.ts";
 * import { stageProgram } from "./program.ts";
 * import { tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const w = tensor([2, 3]);
 * const aval = { shape: [2], dtype: "float32", device: w.device } as const;
 * const [open, consts] = openProgram(stageProgram(([x]) => [x.mul(w)], [aval]));
 * assert.equal(open.inputs.length, 2);
 * assert.equal(consts[0], w);
 * ```
 */
export function openProgram(program: Program): [Program, Tensor[]] {
  const open = program.with({
    constVars: [],
    consts: [],
    inputs: [...program.constVars, ...program.inputs],
  });
  return [open, [...program.consts]];
}

/**
 * Stages `f` on inputs of types `avals` into an open program (see {@linkcode openProgram}):
 * the body of a loop or branch, and the values it captured. `purpose` names the primitive in
 * messages.
 *
 * @example
 * ```ts
 * import { stageOpen } from "./subprogram.ts";
 * import { tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const aval = { shape: [], dtype: "float32", device: tensor(0).device } as const;
 * const [body, consts] = stageOpen(([x]) => [x.add(1)], [aval], "scan");
 * assert.equal(body.equations.length, 1);
 * assert.equal(consts.length, 1); // the scalar 1
 * ```
 */
export function stageOpen(
  f: (xs: Tensor[]) => Tensor[],
  avals: readonly Aval[],
  purpose: string,
): [Program, Tensor[]] {
  return openProgram(stageProgram(f, avals, purpose));
}

/**
 * The forward-mode derivative of `program` as a program: inputs are the primals, then the
 * tangents of the inputs marked in `nonzeros`; outputs are the primal outputs, then the
 * tangents of the outputs that are nonzero (or listed in `instantiate`, as zeros if need be).
 * Returns the program and which output tangents it has.
 *
 * @example
 * ```ts
 * import { jvpProgram } from "./subprogram.ts";
 * import { evalProgram, stageProgram } from "./program.ts";
 * import { tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const aval = { shape: [], dtype: "float32", device: tensor(0).device } as const;
 * const square = stageProgram(([x]) => [x.mul(x)], [aval]);
 * const [jvp, nonzero] = jvpProgram(square, [true]);
 * assert.deepEqual(nonzero, [true]);
 * const [y, dy] = evalProgram(jvp, [tensor(3), tensor(1)]);
 * assert.deepEqual([y.item(), dy.item()], [9, 6]);
 * ```
 */
export function jvpProgram(
  program: Program,
  nonzeros: readonly boolean[],
  instantiate: readonly boolean[] = program.outputs.map(() => false),
): [Program, boolean[]] {
  const avals = program.inputs.map((v) => v.aval);
  const tangentAvals = avals.filter((_, i) => nonzeros[i]);
  let outNonzero: boolean[] = [];
  const staged = stageProgram((xs) => {
    const primals = xs.slice(0, avals.length);
    let k = avals.length;
    const tangents = nonzeros.map((nz) => (nz ? xs[k++] : null));
    return withTrace((level) => new JVPTrace(level), (trace) => {
      const ins = primals.map((p, i) => new JVPTracer(trace, p, tangents[i]));
      const outs = evalProgram(program, ins);
      const pairs = outs.map((o, i) => {
        const own = o instanceof JVPTracer && o.trace === trace;
        const primal = own ? o.primal : o;
        const tangent = own ? o.tangent : null;
        return [primal, tangent ?? (instantiate[i] ? lax.zerosLike(primal) : null)] as const;
      });
      outNonzero = pairs.map(([, t]) => t !== null);
      return [...pairs.map(([p]) => p), ...pairs.flatMap(([, t]) => (t === null ? [] : [t]))];
    });
  }, [...avals, ...tangentAvals]);
  return [staged, outNonzero];
}

/**
 * `program` vectorized over a batch of `size`: inputs marked in `batched` carry the batch at
 * axis 0. Outputs are batched at axis 0 where they vary over the batch or are listed in
 * `instantiate` (broadcast if need be). Returns the program and which outputs are batched.
 *
 * @example
 * ```ts
 * import { vmapProgram } from "./subprogram.ts";
 * import { evalProgram, stageProgram } from "./program.ts";
 * import { tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const aval = { shape: [], dtype: "float32", device: tensor(0).device } as const;
 * const add = stageProgram(([x, y]) => [x.add(y)], [aval, aval]);
 * const [batched, out] = vmapProgram(add, [true, false], 3);
 * assert.deepEqual(out, [true]);
 * assert.deepEqual(await evalProgram(batched, [tensor([1, 2, 3]), tensor(10)])[0].toArray(), [11, 12, 13]);
 * ```
 */
export function vmapProgram(
  program: Program,
  batched: readonly boolean[],
  size: number,
  instantiate: readonly boolean[] = program.outputs.map(() => false),
): [Program, boolean[]] {
  const avals = program.inputs.map((v, i) =>
    batched[i] ? { ...v.aval, shape: [size, ...v.aval.shape] } : v.aval
  );
  const outBatched: boolean[] = [];
  const staged = stageProgram((xs) =>
    withTrace((level) => new BatchTrace(level, size), (trace) => {
      const ins = xs.map((x, i) => (batched[i] ? new BatchTracer(trace, x, 0) : x));
      return evalProgram(program, ins).map((o, i) => {
        const own = o instanceof BatchTracer && o.trace === trace;
        const dim = own ? o.batchDim : null;
        const value = own ? o.value : o;
        outBatched[i] = dim !== null || instantiate[i];
        if (dim !== null) return lax.moveAxis(value, dim, 0);
        return instantiate[i] ? lax.broadcast(value, [size, ...value.shape]) : value;
      });
    }), avals);
  return [staged, outBatched];
}

/** A program split by {@linkcode partialEval}. */
export interface SplitProgram {
  /** Known inputs → known outputs, then the residuals. */
  readonly known: Program;
  /** Residuals, then the unknown inputs → the unknown outputs. */
  readonly unknown: Program;
  /** Which outputs are unknown (computed by `unknown`). */
  readonly outUnknown: readonly boolean[];
  /** How many residuals pass from `known` to `unknown`. */
  readonly residuals: number;
  /** For each residual, the index of the known input it is, or -1 if it is computed. */
  readonly residualInputs: readonly number[];
}

/**
 * Splits `program` into what can be computed from its known inputs now and what must wait for
 * the unknown ones (partial evaluation): reverse mode uses it to separate a body's primal
 * computation from its tangent computation. Known values the unknown part needs pass as
 * residuals, except values computed by equations `saveable` rejects, which the unknown part
 * recomputes from their own inputs (rematerialisation). Outputs listed in `instantiate` are
 * unknown outputs even where they are known (they pass through as residuals).
 *
 * @example
 * ```ts
 * import { partialEval } from "./subprogram.ts";
 * import { stageProgram } from "./program.ts";
 * import { tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const aval = { shape: [], dtype: "float32", device: tensor(0).device } as const;
 * // x known, t unknown: sin x and cos x are known; t * cos x waits for t
 * const p = stageProgram(([x, t]) => [x.sin(), t.mul(x.cos())], [aval, aval]);
 * const split = partialEval(p, [false, true]);
 * assert.deepEqual(split.outUnknown, [false, true]);
 * assert.equal(split.residuals, 1); // cos x
 * assert.deepEqual(split.unknown.equations.map((e) => e.prim.name), ["mul"]);
 * ```
 */
export function partialEval(
  program: Program,
  unknownInputs: readonly boolean[],
  instantiate: readonly boolean[] = program.outputs.map(() => false),
  saveable: (eq: ProgramEquation) => boolean = () => true,
): SplitProgram {
  const unknown = new Set<Var>(program.inputs.filter((_, i) => unknownInputs[i]));
  const definedBy = new Map<Var, ProgramEquation>();
  const knownEqs: ProgramEquation[] = [];
  const unknownEqs = new Set<ProgramEquation>();
  for (const eq of program.equations) {
    if (eq.inputs.some((v) => unknown.has(v))) {
      unknownEqs.add(eq);
      eq.outs.forEach((v) => unknown.add(v));
    } else {
      knownEqs.push(eq);
      eq.outs.forEach((v) => definedBy.set(v, eq));
    }
  }
  const isConst = new Set(program.constVars);
  const outUnknown = program.outputs.map((v, i) => unknown.has(v) || instantiate[i]);
  // Known values the unknown side reads: residuals, or recomputed where not saveable.
  const residuals: Var[] = [];
  const recomputed = new Set<ProgramEquation>();
  const seen = new Set<Var>();
  const need = (v: Var): void => {
    if (unknown.has(v) || isConst.has(v) || seen.has(v)) return;
    seen.add(v);
    const eq = definedBy.get(v);
    if (eq !== undefined && !saveable(eq)) {
      recomputed.add(eq);
      eq.inputs.forEach(need);
    } else residuals.push(v);
  };
  for (const eq of program.equations) if (unknownEqs.has(eq)) eq.inputs.forEach(need);
  program.outputs.forEach((v, i) => outUnknown[i] && need(v));
  const constsUsed = (eqs: readonly ProgramEquation[], extra: readonly Var[]) => {
    const used = new Set<Var>(extra);
    for (const eq of eqs) eq.inputs.forEach((v) => used.add(v));
    const keep = program.constVars.map((v) => used.has(v));
    return {
      constVars: program.constVars.filter((_, i) => keep[i]),
      consts: program.consts.filter((_, i) => keep[i]),
    };
  };
  const knownOutputs = [...program.outputs.filter((_, i) => !outUnknown[i]), ...residuals];
  const liveKnown = needed(knownEqs, knownOutputs);
  const known = new Program({
    ...constsUsed(liveKnown, knownOutputs),
    inputs: program.inputs.filter((_, i) => !unknownInputs[i]),
    equations: liveKnown,
    outputs: knownOutputs,
  });
  const unknownOutputs = program.outputs.filter((_, i) => outUnknown[i]);
  const laterEqs = needed(
    program.equations.filter((eq) => unknownEqs.has(eq) || recomputed.has(eq)),
    unknownOutputs,
  );
  const later = new Program({
    ...constsUsed(laterEqs, unknownOutputs),
    inputs: [...residuals, ...program.inputs.filter((_, i) => unknownInputs[i])],
    equations: laterEqs,
    outputs: unknownOutputs,
  });
  const knownInputs = known.inputs;
  return {
    known,
    unknown: later,
    outUnknown,
    residuals: residuals.length,
    residualInputs: residuals.map((v) => knownInputs.indexOf(v)),
  };
}

// The equations that `outputs` depend on (every primitive is pure), in order.
function needed(equations: readonly ProgramEquation[], outputs: readonly Var[]): ProgramEquation[] {
  const live = new Set(outputs);
  const kept: ProgramEquation[] = [];
  for (let i = equations.length - 1; i >= 0; i--) {
    const eq = equations[i];
    if (!eq.outs.some((v) => live.has(v))) continue;
    kept.push(eq);
    eq.inputs.forEach((v) => live.add(v));
  }
  return kept.reverse();
}

/**
 * Runs `program` backwards for the inputs marked `linear`: given the values of the other
 * inputs and a cotangent per output (`null` for zero), returns the cotangent of each linear
 * input (zeros where none reaches it). Equations that do not depend on linear inputs run
 * forward first (a checkpointed body's recomputation); the others must be linear and run
 * backwards through their `transpose` rules.
 *
 * @example
 * ```ts
 * import { backwardPass } from "./subprogram.ts";
 * import { stageProgram } from "./program.ts";
 * import { tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const aval = { shape: [], dtype: "float32", device: tensor(0).device } as const;
 * // linear in t, with x a known input: y = t * cos x
 * const p = stageProgram(([x, t]) => [t.mul(x.cos())], [aval, aval]);
 * const [ct] = backwardPass(p, [false, true], [tensor(0)], [tensor(2)]);
 * assert.equal(ct.item(), 2);
 * ```
 */
export function backwardPass(
  program: Program,
  linear: readonly boolean[],
  nonLinearArgs: readonly Tensor[],
  cotangents: readonly (Tensor | null)[],
): Tensor[] {
  const env = new Map<Var, Tensor>();
  program.constVars.forEach((v, i) => env.set(v, program.consts[i]));
  const linearVars = new Set<Var>();
  let k = 0;
  program.inputs.forEach((v, i) => {
    if (linear[i]) linearVars.add(v);
    else env.set(v, nonLinearArgs[k++]);
  });
  const linearEqs: ProgramEquation[] = [];
  for (const eq of program.equations) {
    if (eq.inputs.some((v) => linearVars.has(v))) {
      linearEqs.push(eq);
      eq.outs.forEach((v) => linearVars.add(v));
      continue;
    }
    const args = eq.inputs.map((v) => env.get(v)!);
    if (isMultiPrimitive(eq.prim)) {
      bindMulti(eq.prim, args, eq.params).forEach((t, i) => env.set(eq.outs[i], t));
    } else env.set(eq.outs[0], bind(eq.prim, args, eq.params));
  }
  const cts = new Map<Var, CotangentSum>();
  const accumulate = (v: Var, ct: Tensor | BlockCotangent) => {
    let sum = cts.get(v);
    if (sum === undefined) cts.set(v, sum = new CotangentSum(false));
    sum.add(ct);
  };
  program.outputs.forEach((v, i) => {
    const ct = cotangents[i];
    if (ct !== null && linearVars.has(v)) accumulate(v, ct);
  });
  for (let e = linearEqs.length - 1; e >= 0; e--) {
    const { prim, params, inputs, outs } = linearEqs[e];
    const sums = outs.map((v) => cts.get(v));
    if (sums.every((s) => s === undefined)) continue;
    if (!prim.transpose) {
      throw new TypeError(
        `${prim.name} cannot be differentiated in reverse mode (it is not linear in the values being differentiated)`,
      );
    }
    const args = inputs.map((v) => (linearVars.has(v) ? new LinearArg(v.aval) : env.get(v)!));
    const totals = sums.map((s) => s?.total()[0] ?? null);
    const argCts = isMultiPrimitive(prim)
      ? prim.transpose!(totals, args, params)
      : prim.transpose(totals[0]!, args, params);
    inputs.forEach((v, i) => {
      const c = argCts[i];
      if (linearVars.has(v) && c !== null && c !== undefined) accumulate(v, c);
    });
  }
  return program.inputs.flatMap((v, i) =>
    linear[i] ? [cts.get(v)?.total()[0] ?? lax.zerosLike(v.aval)] : []
  );
}

/**
 * The transpose of `program` with respect to its inputs marked `linear`, as a program: its
 * inputs are the other inputs, then one cotangent per output; its outputs are the cotangents
 * of the linear inputs.
 *
 * @example
 * ```ts
 * import { transposeProgram } from "./subprogram.ts";
 * import { evalProgram, stageProgram } from "./program.ts";
 * import { tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const aval = { shape: [], dtype: "float32", device: tensor(0).device } as const;
 * const p = stageProgram(([w, t]) => [t.mul(w)], [aval, aval]);
 * const back = transposeProgram(p, [false, true]);
 * assert.equal(evalProgram(back, [tensor(3), tensor(2)])[0].item(), 6);
 * ```
 */
export function transposeProgram(program: Program, linear: readonly boolean[]): Program {
  const nonLinear = program.inputs.filter((_, i) => !linear[i]).map((v) => v.aval);
  const outs = program.outputs.map((v) => v.aval);
  return stageProgram(
    (xs) =>
      backwardPass(program, linear, xs.slice(0, nonLinear.length), xs.slice(nonLinear.length)),
    [...nonLinear, ...outs],
  );
}
