/**
 * From a staged program to an executable: the optimisation passes in order, then fusion (the
 * clusters each backend can compile into one kernel), then one launch per remaining equation
 * or fused cluster.
 *
 * @example
 * ```ts
 * import { compile } from "./compile.ts";
 * import { makeJaxpr, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const program = makeJaxpr((x) => x.exp().add(x.exp()).reshape([2]).sum())(tensor([1, 2]));
 * const { executable } = compile(program);
 * // exp is computed once (common subexpressions); where the backend can, one kernel computes
 * // exp and add and sums their values as it goes
 * const kernels = executable.kernels.map((k) => k.ops.join("+"));
 * assert.ok(["exp+add+reduceSum", "exp,add,reduceSum"].includes(kernels.join()));
 * ```
 *
 * @module
 */

import { type Device, type FusedSpec, getBackend } from "../core/backend.ts";
import type { Program, ProgramEquation, Var } from "../core/program.ts";
import { isMultiPrimitive } from "../core/primitive.ts";
import { asOwnedByCaller } from "../core/transient.ts";
import { type CompiledKernel, Executable, type FusedLaunch } from "./executable.ts";
import { lowerings, stepwiseReaders } from "./lower/mod.ts";
import { type Cluster, findClusters, wholeProgram } from "./passes/fusion.ts";
import { eliminateCommonSubexpressions } from "./passes/cse.ts";
import { eliminateDeadCode } from "./passes/dce.ts";
import { foldConstants } from "./passes/fold.ts";
import { collapseReshapes, removeIdentities } from "./passes/simplify.ts";
import { flattenBatchedProducts } from "./passes/batched.ts";
import { hoistAccumulations } from "./passes/hoist.ts";
import { rematerialize } from "./passes/remat.ts";
import { sinkSlices } from "./passes/slices.ts";
import { transposeProducts } from "./passes/transposes.ts";

/** The optimisation passes, in the order they run. */
export const passes: readonly ((program: Program) => Program)[] = [
  collapseReshapes,
  removeIdentities,
  transposeProducts,
  flattenBatchedProducts,
  sinkSlices,
  foldConstants,
  eliminateCommonSubexpressions,
  eliminateDeadCode,
  rematerialize,
  hoistAccumulations,
];

/** A program after the passes, and its executable. */
export interface Compiled {
  /** The optimised program. */
  readonly program: Program;
  /** The launches that run it. */
  readonly executable: Executable;
}

/**
 * Optimises `program` and plans its launches; `donatedInputs` are inputs whose storage a call
 * may take. Constants made here (folded values) belong to the compiled program, never to a
 * transformation that happens to be running.
 */
export function compile(program: Program, donatedInputs: readonly number[] = []): Compiled {
  return asOwnedByCaller(() => {
    const optimised = passes.reduce((p, pass) => pass(p), program);
    const executable = Executable.fromProgram(
      optimised,
      donatedInputs,
      fuse(optimised),
      lower(optimised),
    );
    return { program: optimised, executable };
  });
}

// The kernels of the equations that hold programs of their own (loops), their bodies compiled.
function lower(program: Program): Map<ProgramEquation, CompiledKernel> {
  const stepwise = stepwiseValues(program);
  const kernels = new Map<ProgramEquation, CompiledKernel>();
  for (const eq of program.equations) {
    if (!isMultiPrimitive(eq.prim)) continue;
    const lowering = lowerings.get(eq.prim.name);
    if (lowering === undefined) {
      throw new Error(`internal: no lowering for primitive "${eq.prim.name}"`);
    }
    kernels.set(eq, lowering(eq, compileBody, (v) => stepwise.has(v)));
  }
  return kernels;
}

// The values only loops read, each as one of their `xs` (never as a constant or a carry), and
// that are no output of the program.
function stepwiseValues(program: Program): Set<Var> {
  const stepwise = new Set<Var>();
  const not = new Set<Var>(program.outputs);
  for (const eq of program.equations) {
    const reads = stepwiseReaders.get(eq.prim.name);
    eq.inputs.forEach((v, i) => (reads?.(eq, i) ? stepwise : not).add(v));
  }
  for (const v of not) stepwise.delete(v);
  return stepwise;
}

function compileBody(
  body: Program,
): (inputs: readonly unknown[], into?: readonly unknown[]) => unknown[] {
  const { program, executable } = compile(body);
  const consts = program.consts.map((c) => c.buffer);
  return (inputs, into) => executable.runBuffers([...consts, ...inputs], into);
}

// The clusters of `program` that their backend compiled into fused kernels: the whole program
// as one, where its backend runs it so, or else the clusters fusion finds.
function fuse(program: Program): Map<ProgramEquation, FusedLaunch> {
  const canFuse = ({ prim, params, inputs, outs: [out] }: ProgramEquation) =>
    !isMultiPrimitive(prim) &&
    (getBackend(out.aval.device).fusible?.(
      prim.name,
      inputs.map((v) => v.aval),
      out.aval,
      params,
    ) ??
      false);
  const canReduce = ({ prim, params, inputs, outs: [out] }: ProgramEquation) =>
    inputs.length === 1 &&
    (getBackend(out.aval.device).fusibleReduction?.(prim.name, inputs[0].aval, out.aval, params) ??
      false);
  const fused = new Map<ProgramEquation, FusedLaunch>();
  const whole = wholeProgram(program, (eq) => isMultiPrimitive(eq.prim));
  if (whole !== null) {
    const root = whole.equations[whole.equations.length - 1];
    const kernel = getBackend(root.outs[0].aval.device).compileProgram?.(specOf(whole)) ?? null;
    if (kernel !== null) return fused.set(root, { cluster: whole, kernel });
  }
  const maxInputs = (device: string) => getBackend(device as Device).maxFusedInputs ?? Infinity;
  const canHead = ({ prim, inputs, outs: [out] }: ProgramEquation) =>
    prim.name === "matmul" &&
    (getBackend(out.aval.device).fusibleMatmul?.(inputs[0].aval, inputs[1].aval, out.aval) ??
      false);
  const canConcat = ({ prim, params, inputs, outs: [out] }: ProgramEquation) =>
    prim.name === "concat" &&
    (getBackend(out.aval.device).fusibleConcat?.(inputs.map((v) => v.aval), out.aval, params) ??
      false);
  const clusters = findClusters(program, canFuse, maxInputs, canReduce, canHead, canConcat);
  // A fusible equation left alone runs as a chain of one: the generated kernel covers every
  // dtype and layout, where the eager kernel of a select or an int32 op may be a plain loop.
  const inside = new Set([...clusters.values()].flatMap((c) => c.equations));
  for (const eq of program.equations) {
    if (inside.has(eq) || eq.outs.length !== 1 || !canFuse(eq)) continue;
    clusters.set(eq, { equations: [eq], inputs: [...new Set(eq.inputs)], outputs: eq.outs });
  }
  for (const [root, cluster] of clusters) {
    const kernel = getBackend(root.outs[0].aval.device).compileFused?.(specOf(cluster)) ?? null;
    if (kernel !== null) fused.set(root, { cluster, kernel });
  }
  return fused;
}

// A cluster as its backend sees it: input types and operations over indices.
function specOf({ equations, inputs, outputs }: Cluster): FusedSpec {
  const index = new Map<Var, number>();
  inputs.forEach((v, i) => index.set(v, i));
  const ops = equations.map(({ prim, params, inputs: args, outs: [out] }, k) => {
    index.set(out, inputs.length + k);
    return { name: prim.name, params, args: args.map((v) => index.get(v)!), out: out.aval };
  });
  const outs = outputs.map((v) => index.get(v)! - inputs.length);
  return { inputs: inputs.map((v) => v.aval), ops, outputs: outs };
}
