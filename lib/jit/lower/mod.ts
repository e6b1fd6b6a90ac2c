/**
 * Lowerings: how a compiled program runs the primitives that hold programs of their own
 * (control flow). Each turns an equation into a kernel over backend buffers, compiling its
 * sub-programs once.
 *
 * @module
 */

import type { ProgramEquation } from "../../core/program.ts";
import type { Lowering } from "./_lowering.ts";
import { lowerCall } from "./call.ts";
import { lowerScan, readsStepwise } from "./scan.ts";
import { lowerCond } from "./cond.ts";
import { lowerWhile } from "./while.ts";

export type { CompileBody, Lowering, ReadStepwise } from "./_lowering.ts";

/** The lowering of each multi-result primitive, by name. */
export const lowerings: ReadonlyMap<string, Lowering> = new Map([
  ["scan", lowerScan],
  ["cond", lowerCond],
  ["while", lowerWhile],
  ["checkpoint", lowerCall],
]);

/**
 * The primitives that read some inputs step by step, with which: such an input may come as
 * the steps of the loop that made it (see `lower/scan.ts`).
 *
 * @example
 * ```ts
 * import { stepwiseReaders } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.ok(stepwiseReaders.has("scan"));
 * ```
 */
export const stepwiseReaders: ReadonlyMap<
  string,
  (eq: ProgramEquation, input: number) => boolean
> = new Map([["scan", readsStepwise]]);
