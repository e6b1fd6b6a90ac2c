/**
 * From a staged program to an executable: the optimisation passes in order, then one launch per
 * remaining equation (or fused cluster).
 *
 * @example
 * ```ts
 * import { compile } from "./compile.ts";
 * import { makeJaxpr, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const program = makeJaxpr((x) => x.exp().add(x.exp()).reshape([2]))(tensor([1, 2]));
 * const { executable } = compile(program);
 * assert.deepEqual(executable.kernels.map((k) => k.ops), [["exp"], ["add"]]);
 * ```
 *
 * @module
 */

import type { Program } from "../core/program.ts";
import { asOwnedByCaller } from "../core/transient.ts";
import { Executable } from "./executable.ts";
import { eliminateCommonSubexpressions } from "./passes/cse.ts";
import { eliminateDeadCode } from "./passes/dce.ts";
import { foldConstants } from "./passes/fold.ts";
import { removeIdentities } from "./passes/simplify.ts";

/** The optimisation passes, in the order they run. */
export const passes: readonly ((program: Program) => Program)[] = [
  removeIdentities,
  foldConstants,
  eliminateCommonSubexpressions,
  eliminateDeadCode,
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
    return { program: optimised, executable: Executable.fromProgram(optimised, donatedInputs) };
  });
}
