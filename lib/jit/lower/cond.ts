/**
 * A compiled `cond`: every branch is compiled once, and each call reads the index from its
 * buffer and runs the chosen branch's executable on the operands' buffers.
 *
 * @module
 */

import { getBackend } from "../../core/backend.ts";
import { branchAt, type CondParams } from "../../core/primitives/cond.ts";
import type { ProgramEquation } from "../../core/program.ts";
import type { CompiledKernel } from "../executable.ts";
import type { CompileBody } from "./_lowering.ts";

/** The kernel of a `cond` equation, with its branches compiled by `compileBody`. */
export function lowerCond(eq: ProgramEquation, compileBody: CompileBody): CompiledKernel {
  const { branches } = eq.params as CondParams;
  const runs = branches.map(compileBody);
  const { device } = eq.inputs[0].aval;
  return ([index, ...operands]) => {
    const values = getBackend(device).readSync(index);
    return runs[branchAt(values, device, runs.length)](operands);
  };
}
