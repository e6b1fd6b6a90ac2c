/**
 * A compiled call of a program held by an equation (`checkpoint`): the program is compiled
 * once and runs as one kernel.
 *
 * @module
 */

import type { Program, ProgramEquation } from "../../core/program.ts";
import type { CompiledKernel } from "../executable.ts";
import type { CompileBody } from "./_lowering.ts";

/** The kernel of an equation whose `body` parameter is the program it computes. */
export function lowerCall(eq: ProgramEquation, compileBody: CompileBody): CompiledKernel {
  return compileBody(eq.params.body as Program);
}
