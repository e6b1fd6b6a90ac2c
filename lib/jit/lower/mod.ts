/**
 * Lowerings: how a compiled program runs the primitives that hold programs of their own
 * (control flow). Each turns an equation into a kernel over backend buffers, compiling its
 * sub-programs once.
 *
 * @module
 */

import type { Lowering } from "./_lowering.ts";
import { lowerCall } from "./call.ts";
import { lowerScan } from "./scan.ts";
import { lowerCond } from "./cond.ts";
import { lowerWhile } from "./while.ts";

export type { CompileBody, Lowering } from "./_lowering.ts";

/** The lowering of each multi-result primitive, by name. */
export const lowerings: ReadonlyMap<string, Lowering> = new Map([
  ["scan", lowerScan],
  ["cond", lowerCond],
  ["while", lowerWhile],
  ["checkpoint", lowerCall],
]);
