/**
 * A compiled `while`: predicate and body are compiled once, and the kernel alternates them on
 * backend buffers, reading the predicate synchronously after each step to decide whether to
 * go on.
 *
 * @module
 */

import { getBackend } from "../../core/backend.ts";
import { loopContinues, type WhileParams } from "../../core/primitives/while.ts";
import type { ProgramEquation } from "../../core/program.ts";
import type { CompiledKernel } from "../executable.ts";
import type { CompileBody } from "./_lowering.ts";

/** The kernel of a `while` equation, with its programs compiled by `compileBody`. */
export function lowerWhile(eq: ProgramEquation, compileBody: CompileBody): CompiledKernel {
  const { cond, body, condConsts, bodyConsts } = eq.params as WhileParams;
  const runCond = compileBody(cond);
  const runBody = compileBody(body);
  const avals = eq.outs.map((v) => v.aval);
  const { device } = cond.outputs[0].aval;
  const backend = getBackend(device);
  const holds = (ins: readonly unknown[]) => {
    const [pred] = runCond(ins);
    try {
      return loopContinues(backend.readSync(pred), device);
    } finally {
      backend.dispose(pred);
    }
  };
  return (ins) => {
    const cs = ins.slice(0, condConsts);
    const bs = ins.slice(condConsts, condConsts + bodyConsts);
    // The first carry belongs to the caller; later ones were made here.
    let carry = ins.slice(condConsts + bodyConsts);
    let steps = 0;
    while (holds([...cs, ...carry])) {
      const next = runBody([...bs, ...carry]);
      if (steps++ > 0) carry.forEach((b, i) => getBackend(avals[i].device).dispose(b));
      carry = next;
    }
    if (steps > 0) return carry;
    // No step ran: the results are views of the caller's carry, which it still owns.
    return carry.map((b, i) => {
      const aval = avals[i];
      return getBackend(aval.device).run("reshape", [b], { shape: aval.shape }, aval);
    });
  };
}
