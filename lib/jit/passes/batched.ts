/**
 * Batched products as one product. A matmul over batches is as many small products, each
 * packing its operands again; two common forms are one large product instead, which the
 * backend splits across threads and packs once:
 *
 * - every batch times the same matrix (an input projection over time steps: `xs·W` with `W`
 *   broadcast to every step) is the batches' rows stacked, times that matrix;
 * - the sum over batches of their products (that projection's weight gradient, `Σₜ xₜᵀ·gₜ`)
 *   is one product whose inner dimension runs through every batch.
 *
 * @example
 * ```ts
 * import { flattenBatchedProducts } from "./batched.ts";
 * import { makeJaxpr, ones } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const program = makeJaxpr((xs, w) => xs.matmul(w))(ones([5, 3, 4]), ones([4, 2]));
 * const products = flattenBatchedProducts(program).equations.filter((e) => e.prim.name === "matmul");
 * assert.deepEqual(products.map((e) => e.inputs.map((v) => v.aval.shape)), [[[15, 4], [4, 2]]]);
 * ```
 *
 * @module
 */

import type { Params } from "../../core/backend.ts";
import { getPrimitive } from "../../core/primitive.ts";
import { type Program, type ProgramEquation, Var } from "../../core/program.ts";
import { readersOf } from "./_rewrite.ts";

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const product = (dims: readonly number[]) => dims.reduce((a, d) => a * d, 1);

// Whether `eq` transposes the last two axes of its operand and keeps the others.
function swapsLastTwo(eq: ProgramEquation | undefined): eq is ProgramEquation {
  if (eq?.prim.name !== "transpose") return false;
  const perm = eq.params.perm as number[], r = perm.length;
  return r >= 2 && perm[r - 2] === r - 1 && perm[r - 1] === r - 2 &&
    range(r - 2).every((i) => perm[i] === i);
}

/** `program` with batched products over a shared matrix, or summed over batches, flattened. */
export function flattenBatchedProducts(program: Program): Program {
  const readers = readersOf(program);
  const outputs = new Set(program.outputs);
  const definedBy = new Map<Var, ProgramEquation>();
  for (const eq of program.equations) for (const v of eq.outs) definedBy.set(v, eq);
  // The matrix a batched operand repeats in every batch (broadcast from it, or the transpose
  // of such a broadcast), as a recipe for it; null when it is no such operand.
  const sharedMatrix = (v: Var): ((emit: Emit) => Var) | null => {
    const rank = v.aval.shape.length;
    const direct = definedBy.get(v);
    const flipped = swapsLastTwo(direct) ? definedBy.get(direct.inputs[0]) : undefined;
    const source = flipped ?? direct;
    if (source?.prim.name !== "broadcast" || rank < 3) return null;
    const w = source.inputs[0];
    if (w.aval.shape.length !== 2) return null;
    return flipped
      ? (emit) => emit("transpose", { perm: [1, 0] }, [w], [...w.aval.shape].reverse())
      : () => w;
  };
  const rewrites = new Map<ProgramEquation, (emit: Emit) => void>();
  const dropped = new Set<ProgramEquation>();
  for (const eq of program.equations) {
    if (eq.prim.name === "matmul") {
      const [a, b] = eq.inputs, out = eq.outs[0];
      const w = sharedMatrix(b);
      if (w === null) continue;
      const shape = a.aval.shape, r = shape.length;
      const [k, n] = [shape[r - 1], out.aval.shape[r - 1]];
      const rows = product(shape.slice(0, r - 1));
      rewrites.set(eq, (emit) => {
        const flat = emit("reshape", { shape: [rows, k] }, [a], [rows, k]);
        const p = emit("matmul", {}, [flat, w(emit)], [rows, n]);
        emit("reshape", { shape: out.aval.shape }, [p], out.aval.shape, out);
      });
    } else if (eq.prim.name === "reduceSum") {
      const made = definedBy.get(eq.inputs[0]);
      if (made?.prim.name !== "matmul" || outputs.has(made.outs[0])) continue;
      if ((readers.get(made.outs[0]) ?? []).length !== 1) continue;
      const [a, b] = made.inputs, shape = a.aval.shape, r = shape.length;
      const batch = r - 2, axes = eq.params.axes as number[];
      if (batch < 1 || axes.length !== batch || !axes.every((x, i) => x === i)) continue;
      const [m, k, n] = [shape[r - 2], shape[r - 1], b.aval.shape[r - 1]];
      const inner = product(shape.slice(0, batch)) * k;
      const flipped = definedBy.get(a);
      dropped.add(made);
      rewrites.set(eq, (emit) => {
        // [m, batches·k]: from aᵀ's rows where a transposes a stored x (a view), else by
        // moving a's rows axis first.
        const left = swapsLastTwo(flipped)
          ? emit("transpose", { perm: [1, 0] }, [
            emit("reshape", { shape: [inner, m] }, [flipped.inputs[0]], [inner, m]),
          ], [m, inner])
          : emit("reshape", { shape: [m, inner] }, [
            emit("transpose", { perm: [batch, ...range(batch), batch + 1] }, [a], [
              m,
              ...shape.slice(0, batch),
              k,
            ]),
          ], [m, inner]);
        const right = emit("reshape", { shape: [inner, n] }, [b], [inner, n]);
        emit("matmul", {}, [left, right], [m, n], eq.outs[0]);
      });
    }
  }
  if (rewrites.size === 0) return program;
  const equations: ProgramEquation[] = [];
  for (const eq of program.equations) {
    const rewrite = rewrites.get(eq);
    if (dropped.has(eq)) continue;
    if (rewrite === undefined) {
      equations.push(eq);
      continue;
    }
    rewrite((name, params, inputs, shape, into) => {
      const out = into ?? new Var({ ...inputs[0].aval, shape });
      equations.push({ prim: getPrimitive(name), params, inputs, outs: [out] });
      return out;
    });
  }
  return program.with({ equations });
}

// Appends an equation of primitive `name` (its result `into`, or a new value of `shape`).
type Emit = (
  name: string,
  params: Params,
  inputs: Var[],
  shape: readonly number[],
  into?: Var,
) => Var;
