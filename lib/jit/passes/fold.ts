/**
 * Constant folding: an equation whose arguments are all concrete constants is computed once,
 * when the program is compiled, and its result becomes a constant. Only small results are
 * folded, so that folding never holds much memory for the program's lifetime.
 *
 * @example
 * ```ts
 * import { foldConstants } from "./fold.ts";
 * import { makeJaxpr, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const scale = tensor([2, 3]);
 * const program = makeJaxpr((x) => x.mul(scale.exp()))(tensor([1, 1]));
 * assert.deepEqual(foldConstants(program).equations.map((e) => e.prim.name), ["mul"]);
 * ```
 *
 * @module
 */

import type { Program, ProgramEquation, Var } from "../../core/program.ts";
import { Var as ProgramVar } from "../../core/program.ts";
import { isMultiPrimitive } from "../../core/primitive.ts";
import { sizeOf } from "../../core/shape.ts";
import type { Tensor } from "../../core/tensor.ts";
import { bind } from "../../core/trace.ts";

// Results up to this many elements are folded.
const MAX_FOLDED = 1 << 16;

/** `program` with its constant computations done. */
export function foldConstants(program: Program): Program {
  const known = new Map<Var, Tensor>();
  program.constVars.forEach((v, i) => {
    if (!program.consts[i].isTracer) known.set(v, program.consts[i]);
  });
  const constVars = [...program.constVars];
  const consts = [...program.consts];
  const equations: ProgramEquation[] = [];
  const replace = new Map<Var, Var>();
  for (const eq of program.equations) {
    const inputs = eq.inputs.map((v) => replace.get(v) ?? v);
    const values = inputs.map((v) => known.get(v));
    const prim = eq.prim;
    const foldable = !isMultiPrimitive(prim) && !prim.impl &&
      values.every((t) => t !== undefined) && sizeOf(eq.outs[0].aval.shape) <= MAX_FOLDED;
    if (!foldable) {
      equations.push({ ...eq, inputs });
      continue;
    }
    const value = bind(prim, values as Tensor[], eq.params);
    const v = new ProgramVar(value);
    known.set(v, value);
    constVars.push(v);
    consts.push(value);
    replace.set(eq.outs[0], v);
  }
  const outputs = program.outputs.map((v) => replace.get(v) ?? v);
  return program.with({ constVars, consts, equations, outputs });
}
