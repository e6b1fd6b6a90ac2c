/**
 * Slices sink below elementwise work: where an elementwise result is only ever sliced (an
 * LSTM's gates split from one sum of products), each slice is computed from slices of the
 * operands instead. The operation then runs once per slice, as part of whatever reads that
 * slice (the gate's chain, fused), and the whole result is never written. Done only where the
 * slices together are no bigger than the result, so no element is computed twice over.
 *
 * @example
 * ```ts
 * import { sinkSlices } from "./slices.ts";
 * import * as nb from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const f = (a: nb.Tensor, b: nb.Tensor) => nb.split(a.add(b), 2, 0).map((h) => h.exp());
 * const program = nb.makeJaxpr(f)(nb.tensor([1, 2, 3, 4]), nb.tensor([5, 6, 7, 8]));
 * const names = sinkSlices(program).equations.map((e) => e.prim.name);
 * assert.deepEqual(names, ["slice", "slice", "add", "slice", "slice", "add", "exp", "exp"]);
 * ```
 *
 * @module
 */

import { Var } from "../../core/program.ts";
import type { Program, ProgramEquation } from "../../core/program.ts";
import { sizeOf } from "../../core/shape.ts";
import { ELEMENTWISE } from "./_elementwise.ts";
import { readersOf, repeatRewrite } from "./_rewrite.ts";

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** `program` with the slices of elementwise results computed from slices of the operands. */
export function sinkSlices(program: Program): Program {
  // A sunk slice may leave its operands' slices sinkable in turn: a few rounds reach the end
  // of any chain a program has in practice.
  return repeatRewrite(program, sinkOnce, 8);
}

// The program with the slices of some elementwise results sunk, or null when none can be.
function sinkOnce(program: Program): Program | null {
  const readers = readersOf(program);
  const outputs = new Set(program.outputs);
  const sinks = new Set<ProgramEquation>(); // elementwise equations whose slices sink
  for (const eq of program.equations) {
    if (!ELEMENTWISE.has(eq.prim.name) || eq.outs.length !== 1) continue;
    const out = eq.outs[0];
    const slices = readers.get(out) ?? [];
    if (outputs.has(out) || slices.length === 0) continue;
    if (!slices.every((s) => s.prim.name === "slice" && s.inputs.length === 1)) continue;
    if (!eq.inputs.every((v) => sameShape(v.aval.shape, out.aval.shape))) continue;
    const sliced = slices.reduce((n, s) => n + sizeOf(s.outs[0].aval.shape), 0);
    if (sliced <= sizeOf(out.aval.shape)) sinks.add(eq);
  }
  if (sinks.size === 0) return null;
  const definedBy = new Map<Var, ProgramEquation>();
  for (const eq of program.equations) for (const v of eq.outs) definedBy.set(v, eq);
  const equations: ProgramEquation[] = [];
  for (const eq of program.equations) {
    if (sinks.has(eq)) continue;
    const source = eq.prim.name === "slice" ? definedBy.get(eq.inputs[0]) : undefined;
    if (source === undefined || !sinks.has(source)) {
      equations.push(eq);
      continue;
    }
    // slice(f(a, b)) = f(slice(a), slice(b))
    const size = eq.params.size as readonly number[];
    const args = source.inputs.map((a) => {
      const v = new Var({ ...a.aval, shape: size });
      equations.push({ prim: eq.prim, params: eq.params, inputs: [a], outs: [v] });
      return v;
    });
    equations.push({ prim: source.prim, params: source.params, inputs: args, outs: eq.outs });
  }
  return program.with({ equations });
}
