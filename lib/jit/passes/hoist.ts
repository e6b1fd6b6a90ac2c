/**
 * Accumulated products hoisted out of loops: a loop that carries a sum `acc + aₜᵀ·bₜ` of one
 * product per step (a recurrent layer's weight gradient, in the backward loop) stacks `aₜ` and
 * `bₜ` instead, and the sum is one product after the loop, `acc + Aᵀ·B` over all steps'
 * rows at once. That is the same arithmetic as one large product in place of many small ones
 * (which a matrix kernel runs far better), and no pass adding each step's product to the sum.
 *
 * @example
 * ```ts
 * import { hoistAccumulations } from "./hoist.ts";
 * import * as nb from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const f = (w: nb.Tensor, xs: nb.Tensor) => {
 *   const [, hs] = nb.scan((h: nb.Tensor, x: nb.Tensor) => {
 *     const next = h.matmul(w).add(x).tanh();
 *     return [next, next];
 *   }, nb.zeros([4, 3]), xs);
 *   return hs.sum();
 * };
 * const program = nb.makeJaxpr(nb.grad(f))(nb.ones([3, 3]), nb.ones([5, 4, 3]));
 * const hoisted = hoistAccumulations(program);
 * // The gradient of w: one product after the backward loop, not one per step inside it.
 * const after = hoisted.equations.slice(hoisted.equations.findLastIndex((e) => e.prim.name === "scan"));
 * assert.ok(after.some((e) => e.prim.name === "matmul"));
 * ```
 *
 * @module
 */

import type { Params } from "../../core/backend.ts";
import { getPrimitive } from "../../core/primitive.ts";
import { type Program, type ProgramEquation, Var } from "../../core/program.ts";
import type { ScanParams } from "../../core/primitives/scan.ts";
import { repeatRewrite } from "./_rewrite.ts";
import { eliminateDeadCode } from "./dce.ts";

/** `program` with the products its loops accumulate computed once after each loop. */
export function hoistAccumulations(program: Program): Program {
  return repeatRewrite(program, hoistOne, 16);
}

// An accumulation `acc + transpose(a)·b` of a loop's carry `c`: its parts in the body.
interface Accumulation {
  readonly carry: number;
  readonly a: Var;
  readonly b: Var;
}

function findAccumulation(body: Program, consts: number, carry: number): Accumulation | null {
  const definedBy = new Map<Var, ProgramEquation>();
  const readers = new Map<Var, number>();
  for (const eq of body.equations) {
    for (const v of eq.outs) definedBy.set(v, eq);
    for (const v of eq.inputs) readers.set(v, (readers.get(v) ?? 0) + 1);
  }
  for (const v of body.outputs) readers.set(v, (readers.get(v) ?? 0) + 1);
  for (let c = 0; c < carry; c++) {
    const acc = body.inputs[consts + c];
    const sum = definedBy.get(body.outputs[c]);
    if (sum?.prim.name !== "add" || readers.get(acc) !== 1) continue;
    const product = sum.inputs[0] === acc ? sum.inputs[1] : sum.inputs[0];
    const mm = definedBy.get(product);
    if (!sum.inputs.includes(acc) || mm?.prim.name !== "matmul" || readers.get(product) !== 1) {
      continue;
    }
    const t = definedBy.get(mm.inputs[0]);
    const perm = t?.params.perm as readonly number[] | undefined;
    if (t?.prim.name !== "transpose" || perm?.length !== 2 || perm[0] !== 1) continue;
    const [a, b] = [t.inputs[0], mm.inputs[1]];
    // Per-step values: not the loop's constants (whose sum would be a different product).
    const constant = (v: Var) => body.inputs.indexOf(v) >= 0 && body.inputs.indexOf(v) < consts;
    if (constant(a) || constant(b) || body.constVars.includes(a) || body.constVars.includes(b)) {
      continue;
    }
    if (a.aval.shape.length !== 2 || b.aval.shape.length !== 2) continue;
    return { carry: c, a, b };
  }
  return null;
}

function hoistOne(program: Program): Program | null {
  for (const [index, loop] of program.equations.entries()) {
    if (loop.prim.name !== "scan") continue;
    const p = loop.params as ScanParams;
    const found = findAccumulation(p.body, p.consts, p.carry);
    if (found === null) continue;
    const { carry: c, a, b } = found;
    const body = p.body;
    // The stacked values after the loop: an xs input or a stacked output as it is, anything
    // else a new output.
    const xsStart = p.consts + p.carry;
    const newOutputs: Var[] = [];
    const newOuts: Var[] = [];
    const stackedOf = (v: Var): Var => {
      const i = body.inputs.indexOf(v);
      if (i >= xsStart) return loop.inputs[i];
      const k = body.outputs.findIndex((o, k) => k >= p.carry && o === v);
      if (k >= 0) return loop.outs[k];
      const stacked = new Var({ ...v.aval, shape: [p.length, ...v.aval.shape] });
      newOutputs.push(v);
      newOuts.push(stacked);
      return stacked;
    };
    const [as, bs] = [stackedOf(a), stackedOf(b)];
    // (The sum and its product go with the carry: nothing else reads them.)
    const newBody = eliminateDeadCode(body.with({
      inputs: body.inputs.filter((_, i) => i !== p.consts + c),
      outputs: [...body.outputs.filter((_, i) => i !== c), ...newOutputs],
    }));
    const init = loop.inputs[p.consts + c];
    const final = loop.outs[c];
    const newLoop: ProgramEquation = {
      ...loop,
      params: { ...p, body: newBody, carry: p.carry - 1 },
      inputs: loop.inputs.filter((_, i) => i !== p.consts + c),
      outs: [...loop.outs.filter((_, i) => i !== c), ...newOuts],
    };
    // final = init + transpose(A)·B over every step's rows.
    const [rows, h] = a.aval.shape, g = b.aval.shape[1];
    const eqs: ProgramEquation[] = [];
    const apply = (name: string, params: Params, inputs: Var[], shape: number[]): Var => {
      const out = new Var({ ...inputs[0].aval, shape });
      eqs.push({ prim: getPrimitive(name), params, inputs, outs: [out] });
      return out;
    };
    const flatA = apply("reshape", { shape: [p.length * rows, h] }, [as], [p.length * rows, h]);
    const flatB = apply("reshape", { shape: [p.length * rows, g] }, [bs], [p.length * rows, g]);
    const aT = apply("transpose", { perm: [1, 0] }, [flatA], [h, p.length * rows]);
    const product = apply("matmul", {}, [aT, flatB], [h, g]);
    eqs.push({ prim: getPrimitive("add"), params: {}, inputs: [init, product], outs: [final] });
    const equations = [
      ...program.equations.slice(0, index),
      newLoop,
      ...eqs,
      ...program.equations.slice(index + 1),
    ];
    return program.with({ equations });
  }
  return null;
}
