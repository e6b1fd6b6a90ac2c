/**
 * Simplifications that remove equations: those that return their input unchanged (a reshape,
 * broadcast or slice to the same shape, an identity transpose, a convert to the same dtype, a
 * reduction over no axis, a pad by zero widths, a concat of one operand), and reshapes of
 * reshapes, which read the first reshape's input instead (row-major order is the same).
 *
 * @example
 * ```ts
 * import { removeIdentities } from "./simplify.ts";
 * import { makeJaxpr, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const program = makeJaxpr((x) => x.reshape([2]).exp())(tensor([1, 2]));
 * assert.deepEqual(removeIdentities(program).equations.map((e) => e.prim.name), ["exp"]);
 * ```
 *
 * @module
 */

import type { Program, ProgramEquation, Var } from "../../core/program.ts";
import { substitute } from "./_rewrite.ts";

const same = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

function isIdentity({ prim, params, inputs, outs }: ProgramEquation): boolean {
  if (inputs.length !== 1 || outs.length !== 1) return false;
  const [x, out] = [inputs[0].aval, outs[0]];
  if (x.dtype !== out.aval.dtype || !same(x.shape, out.aval.shape)) return false;
  switch (prim.name) {
    case "reshape":
    case "broadcast":
    case "slice":
    case "convert":
    case "concat":
      return true;
    case "transpose":
      return (params.perm as number[]).every((p, i) => p === i);
    case "pad":
      return (params.widths as [number, number][]).every(([a, b]) => a === 0 && b === 0);
    case "reduceSum":
    case "reduceMax":
    case "reduceMin":
    case "reduceProd":
      return (params.axes as number[]).length === 0;
    default:
      return false;
  }
}

/** `program` with identity equations removed and their uses reading the input instead. */
export function removeIdentities(program: Program): Program {
  const replace = new Map<Var, Var>();
  for (const eq of program.equations) if (isIdentity(eq)) replace.set(eq.outs[0], eq.inputs[0]);
  return substitute(program, replace, (eq) => !replace.has(eq.outs[0]));
}

/**
 * `program` with each reshape of a reshape reading the first one's input: a chain of reshapes
 * becomes one (or none, where it ends in the shape it started from, once identities go), and
 * the reshapes left unread go with dead-code elimination.
 *
 * @example
 * ```ts
 * import { collapseReshapes, removeIdentities } from "./simplify.ts";
 * import { makeJaxpr, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const program = makeJaxpr((x) => x.reshape([2, 1]).reshape([2]).exp())(tensor([1, 2]));
 * const simple = removeIdentities(collapseReshapes(program));
 * assert.deepEqual(simple.equations.map((e) => e.prim.name), ["reshape", "exp"]);
 * ```
 */
export function collapseReshapes(program: Program): Program {
  const reshapeOf = new Map<Var, Var>(); // a reshape's result -> the value it reshapes
  let changed = false;
  const equations = program.equations.map((eq) => {
    if (eq.prim.name !== "reshape") return eq;
    const source = reshapeOf.get(eq.inputs[0]);
    reshapeOf.set(eq.outs[0], source ?? eq.inputs[0]);
    if (source === undefined) return eq;
    changed = true;
    return { ...eq, inputs: [source] };
  });
  return changed ? program.with({ equations }) : program;
}
