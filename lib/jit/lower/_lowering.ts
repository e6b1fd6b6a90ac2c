/** What lowerings share: their type, and how they compile the programs they hold. */

import type { Program, ProgramEquation, Var } from "../../core/program.ts";
import type { CompiledKernel } from "../executable.ts";

/**
 * Compiles a sub-program (its constants included) into a function over buffers, which writes
 * outputs into the buffers `into` names where its kernels can (see `Executable.runBuffers`).
 */
export type CompileBody = (
  program: Program,
) => (inputs: readonly unknown[], into?: readonly unknown[]) => unknown[];

/**
 * Whether every reader of a value in the program takes it step by step (as a loop's `xs`), so
 * that its loop may hand it over as its steps (`Steps`) rather than stacked.
 */
export type ReadStepwise = (v: Var) => boolean;

/** A lowering: an equation to its kernel. */
export type Lowering = (
  eq: ProgramEquation,
  compileBody: CompileBody,
  readStepwise: ReadStepwise,
) => CompiledKernel;
