/**
 * Common-subexpression elimination: an equation that applies the same primitive with the same
 * parameters to the same values as an earlier one reuses its result. Small constants with the
 * same values are merged first, so that the scalars a function makes again and again (the `1`
 * of every `1 - x`) count as the same value.
 *
 * @example
 * ```ts
 * import { eliminateCommonSubexpressions } from "./cse.ts";
 * import { makeJaxpr, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const program = makeJaxpr((x) => x.exp().add(x.exp()))(tensor([1, 2]));
 * const names = eliminateCommonSubexpressions(program).equations.map((e) => e.prim.name);
 * assert.deepEqual(names, ["exp", "add"]);
 * ```
 *
 * @module
 */

import { getBackend } from "../../core/backend.ts";
import { isMultiPrimitive } from "../../core/primitive.ts";
import { Program, type Var } from "../../core/program.ts";
import { Tensor } from "../../core/tensor.ts";
import { substitute } from "./_rewrite.ts";

// Constants up to this many elements are compared by value.
const SMALL = 16;

// Primitives whose two operands can be swapped: `a*b` and `b*a` are one value.
const COMMUTATIVE = new Set(["add", "mul", "max", "min", "eq", "ne"]);

/** `program` with repeated computations and duplicate small constants merged. */
export function eliminateCommonSubexpressions(program: Program): Program {
  const replace = new Map<Var, Var>();
  const numbers = new Map<Var, number>();
  const id = (v: Var) => {
    const r = replace.get(v) ?? v;
    let n = numbers.get(r);
    if (n === undefined) numbers.set(r, n = numbers.size);
    return n;
  };
  const seen = new Map<string, Var>();
  program.constVars.forEach((v, i) => {
    const key = constKey(program.consts[i]);
    if (key === null) return;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, v);
    else replace.set(v, first);
  });
  for (const eq of program.equations) {
    const params = paramsKey(eq.params);
    // Equations holding programs (loops, checkpoints) are never merged: a checkpoint's
    // recomputation must stay apart from the forward computation it repeats.
    if (params === null || isMultiPrimitive(eq.prim)) continue;
    const ids = eq.inputs.map(id);
    if (COMMUTATIVE.has(eq.prim.name)) ids.sort((a, b) => a - b);
    const key = `${eq.prim.name}${params}(${ids.join(",")})`;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, eq.outs[0]);
    else replace.set(eq.outs[0], first);
  }
  const keptConsts = program.constVars.map((v) => !replace.has(v));
  return substitute(program, replace, (eq) => !replace.has(eq.outs[0])).with({
    constVars: program.constVars.filter((_, i) => keptConsts[i]),
    consts: program.consts.filter((_, i) => keptConsts[i]),
  });
}

// A key naming a small concrete constant by its values, or null when it cannot be read now.
function constKey(t: Tensor): string | null {
  if (t.isTracer || t.size > SMALL) return null;
  let data;
  try {
    data = getBackend(t.device).readSync(t.buffer);
  } catch {
    return null; // disposed
  }
  if (data === null) return null;
  return `const ${t.dtype}[${t.shape}]@${t.device}:${
    Array.from(data, (x) => Object.is(x, -0) ? "-0" : String(x))
  }`;
}

// Parameters as text, or null when they hold values that only compare by identity.
function paramsKey(params: Readonly<Record<string, unknown>>): string | null {
  let plain = true;
  const text = JSON.stringify(params, (_k, v) => {
    if (v instanceof Tensor || v instanceof Program || typeof v === "function") plain = false;
    return v;
  });
  return plain ? text : null;
}
