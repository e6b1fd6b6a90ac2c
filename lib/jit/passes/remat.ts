/**
 * Residuals recomputed rather than stacked: where a loop stacks a per-step value only for a
 * later loop (the residuals a gradient's forward loop keeps for the backward one), and that
 * value is a few elementwise operations away from other values the later loop reads anyway (a
 * sigmoid's derivative `s·(1 − s)` beside `s` itself), the later loop computes it from those
 * per step instead. The forward loop then writes and stacks fewer values, the backward loop
 * reads fewer: both are bound by memory far more than by such arithmetic.
 *
 * @example
 * ```ts
 * import { rematerialize } from "./remat.ts";
 * import * as nb from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const f = (w: nb.Tensor, xs: nb.Tensor) => {
 *   const [, hs] = nb.scan((h: nb.Tensor, x: nb.Tensor) => {
 *     const next = h.mul(w).add(x).sigmoid();
 *     return [next, next];
 *   }, nb.zeros([2]), xs);
 *   return hs.sum();
 * };
 * const program = nb.makeJaxpr(nb.grad(f))(nb.tensor([0.5, 2]), nb.ones([3, 2]));
 * const stackedBy = (p: typeof program) => p.equations[0].outs.length;
 * // The sigmoid's value is stacked either way; its derivative no longer is.
 * assert.equal(stackedBy(rematerialize(program)), stackedBy(program) - 1);
 * ```
 *
 * @module
 */

import { isMultiPrimitive } from "../../core/primitive.ts";
import { type Program, type ProgramEquation, Var } from "../../core/program.ts";
import type { ScanParams } from "../../core/primitives/scan.ts";
import { ELEMENTWISE } from "./_elementwise.ts";
import { readersOf, repeatRewrite } from "./_rewrite.ts";

/** The most operations recomputed per residual. */
const MAX_RECOMPUTED = 4;

/** `program` with the residuals of its loops that are cheap to recompute no longer stacked. */
export function rematerialize(program: Program): Program {
  // One residual at a time: each removal changes what the next may be computed from.
  return repeatRewrite(program, removeOne, 64);
}

// The program with one residual recomputed, or null when none can be.
function removeOne(program: Program): Program | null {
  const readers = readersOf(program);
  const outputs = new Set(program.outputs);
  for (const forward of program.equations) {
    if (forward.prim.name !== "scan") continue;
    const fp = forward.params as ScanParams;
    for (let j = fp.carry; j < forward.outs.length; j++) {
      const stacked = forward.outs[j];
      const users = readers.get(stacked) ?? [];
      if (outputs.has(stacked) || users.length !== 1 || users[0].prim.name !== "scan") continue;
      const backward = users[0];
      const bp = backward.params as ScanParams;
      const at = backward.inputs.indexOf(stacked);
      if (at < bp.consts + bp.carry || backward.inputs.lastIndexOf(stacked) !== at) continue;
      const rewritten = recompute(forward, j, backward, at);
      if (rewritten === null) continue;
      const equations = program.equations.map((eq) =>
        eq === forward ? rewritten.forward : eq === backward ? rewritten.backward : eq
      );
      return program.with({ equations });
    }
  }
  return null;
}

// The two loops with the forward one's output `j` computed by the backward one from its other
// inputs, or null when that value is not a few elementwise operations away from them.
function recompute(
  forward: ProgramEquation,
  j: number,
  backward: ProgramEquation,
  at: number,
): { forward: ProgramEquation; backward: ProgramEquation } | null {
  const fp = forward.params as ScanParams, bp = backward.params as ScanParams;
  const fBody = fp.body, bBody = bp.body;
  // The forward body's values the backward body can have per step: its other stacked outputs,
  // those the backward loop reads already and those it may read as well.
  const perStep = new Map<Var, Var>();
  const stackedAs = new Map<Var, Var>(); // a forward body value -> its stacked output
  for (let k = fp.carry; k < forward.outs.length; k++) {
    if (k === j) continue;
    const i = backward.inputs.indexOf(forward.outs[k]);
    if (i >= bp.consts + bp.carry) perStep.set(fBody.outputs[k], bBody.inputs[i]);
    else if (!stackedAs.has(fBody.outputs[k])) stackedAs.set(fBody.outputs[k], forward.outs[k]);
  }
  for (const v of perStep.keys()) stackedAs.delete(v);
  const constant = new Map(fBody.constVars.map((v, i) => [v, fBody.consts[i]]));
  const definedBy = new Map<Var, ProgramEquation>();
  for (const eq of fBody.equations) for (const v of eq.outs) definedBy.set(v, eq);
  // The operations from those values (or the body's own constants) to the residual.
  const cone = new Set<ProgramEquation>();
  const reach = (v: Var): boolean => {
    if (perStep.has(v) || stackedAs.has(v) || constant.has(v)) return true;
    const eq = definedBy.get(v);
    if (eq === undefined || isMultiPrimitive(eq.prim) || !ELEMENTWISE.has(eq.prim.name)) {
      return false;
    }
    if (cone.has(eq)) return true;
    cone.add(eq);
    return cone.size <= MAX_RECOMPUTED && eq.inputs.every(reach);
  };
  const target = fBody.outputs[j];
  if (perStep.has(target) || !reach(target)) return null;
  // The cone, copied into the backward body ahead of its equations: the residual's input
  // variable is now defined there.
  const mapped = new Map<Var, Var>(perStep);
  const constVars = [...bBody.constVars], consts = [...bBody.consts];
  const extraInputs: Var[] = [], extraArgs: Var[] = []; // stacked values newly read
  const mapVar = (v: Var): Var => {
    let m = mapped.get(v);
    if (m !== undefined) return m;
    m = new Var(v.aval);
    const value = constant.get(v), stacked = stackedAs.get(v);
    if (value !== undefined) {
      constVars.push(m);
      consts.push(value);
    } else if (stacked !== undefined) {
      extraInputs.push(m);
      extraArgs.push(stacked);
    }
    mapped.set(v, m);
    return m;
  };
  mapped.set(target, bBody.inputs[at]);
  const copies = fBody.equations.filter((eq) => cone.has(eq)).map((eq) => ({
    ...eq,
    inputs: eq.inputs.map(mapVar),
    outs: eq.outs.map(mapVar),
  }));
  const newBackward = bBody.with({
    constVars,
    consts,
    inputs: [...bBody.inputs.filter((_, i) => i !== at), ...extraInputs],
    equations: [...copies, ...bBody.equations],
  });
  const newForward = fBody.with({ outputs: fBody.outputs.filter((_, k) => k !== j) });
  return {
    forward: {
      ...forward,
      params: { ...fp, body: newForward },
      outs: forward.outs.filter((_, k) => k !== j),
    },
    backward: {
      ...backward,
      params: { ...bp, body: newBackward },
      inputs: [...backward.inputs.filter((_, i) => i !== at), ...extraArgs],
    },
  };
}
