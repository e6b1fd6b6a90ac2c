/** What lowerings share: their type, and how they compile the programs they hold. */

import type { Program, ProgramEquation } from "../../core/program.ts";
import type { CompiledKernel } from "../executable.ts";

/** Compiles a sub-program (its constants included) into a function over buffers. */
export type CompileBody = (program: Program) => (inputs: readonly unknown[]) => unknown[];

/** A lowering: an equation to its kernel. */
export type Lowering = (eq: ProgramEquation, compileBody: CompileBody) => CompiledKernel;
