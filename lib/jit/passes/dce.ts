/**
 * Dead-code elimination: equations whose values no output needs are dropped (every primitive
 * is pure), and so are constants nothing reads.
 *
 * @example
 * ```ts
 * import { eliminateDeadCode } from "./dce.ts";
 * import { makeJaxpr, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const program = makeJaxpr((x) => {
 *   x.exp(); // unused
 *   return x.neg();
 * })(tensor([1, 2]));
 * assert.deepEqual(eliminateDeadCode(program).equations.map((e) => e.prim.name), ["neg"]);
 * ```
 *
 * @module
 */

import type { Program, Var } from "../../core/program.ts";

/** `program` without the equations and constants its outputs do not depend on. */
export function eliminateDeadCode(program: Program): Program {
  const live = new Set<Var>(program.outputs);
  const kept = [];
  for (let i = program.equations.length - 1; i >= 0; i--) {
    const eq = program.equations[i];
    if (!eq.outs.some((v) => live.has(v))) continue;
    kept.push(eq);
    for (const v of eq.inputs) live.add(v);
  }
  kept.reverse();
  const used = program.constVars.map((v) => live.has(v));
  return program.with({
    equations: kept,
    constVars: program.constVars.filter((_, i) => used[i]),
    consts: program.consts.filter((_, i) => used[i]),
  });
}
