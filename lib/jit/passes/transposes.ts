/**
 * Transposed products: `transpose(a·b)` over the last two axes is `bᵀ·aᵀ`, and a product reads
 * transposed operands as cheaply as any (its packing reads through strides). Computed so, the
 * result comes out in the layout its readers want, where the transposed view of `a·b` would
 * have to be copied before an elementwise kernel could stream it (an attention's gradient, as
 * `[batch, query, key]` from a product that makes `[batch, key, query]`).
 *
 * @example
 * ```ts
 * import { transposeProducts } from "./transposes.ts";
 * import { makeJaxpr, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const a = tensor([[1, 2], [3, 4]]), b = tensor([[0, 1], [1, 0]]);
 * const program = makeJaxpr((a, b) => a.matmul(b).T.exp())(a, b);
 * const names = transposeProducts(program).equations.map((e) => e.prim.name);
 * assert.deepEqual(names, ["transpose", "transpose", "matmul", "exp"]);
 * ```
 *
 * @module
 */

import { type Program, type ProgramEquation, Var } from "../../core/program.ts";
import { readersOf } from "./_rewrite.ts";

// Whether `perm` swaps the last two of its axes and keeps the others in place.
function swapsLastTwo(perm: readonly number[]): boolean {
  const r = perm.length;
  return r >= 2 && perm[r - 2] === r - 1 && perm[r - 1] === r - 2 &&
    perm.slice(0, r - 2).every((p, i) => p === i);
}

const swapLastTwo = (rank: number) => [
  ...Array.from({ length: rank - 2 }, (_, i) => i),
  rank - 1,
  rank - 2,
];

/** `program` with each transpose of a product that only it reads computed as `bᵀ·aᵀ`. */
export function transposeProducts(program: Program): Program {
  const readers = readersOf(program);
  const outputs = new Set(program.outputs);
  const definedBy = new Map<Var, ProgramEquation>();
  for (const eq of program.equations) for (const v of eq.outs) definedBy.set(v, eq);
  const flipped = new Set<ProgramEquation>(); // products whose one reader transposes them
  for (const eq of program.equations) {
    if (eq.prim.name !== "transpose" || !swapsLastTwo(eq.params.perm as number[])) continue;
    const product = definedBy.get(eq.inputs[0]);
    if (product?.prim.name !== "matmul" || outputs.has(product.outs[0])) continue;
    if (product.inputs.some((v) => v.aval.shape.length < 2)) continue;
    if ((readers.get(product.outs[0]) ?? []).length === 1) flipped.add(product);
  }
  if (flipped.size === 0) return program;
  const equations: ProgramEquation[] = [];
  for (const eq of program.equations) {
    if (flipped.has(eq)) continue;
    const product = definedBy.get(eq.inputs[0]);
    if (eq.prim.name !== "transpose" || product === undefined || !flipped.has(product)) {
      equations.push(eq);
      continue;
    }
    const [a, b] = product.inputs.map((v) => {
      const shape = v.aval.shape, rank = shape.length;
      const t = new Var({
        ...v.aval,
        shape: [...shape.slice(0, rank - 2), shape[rank - 1], shape[rank - 2]],
      });
      equations.push({
        prim: eq.prim,
        params: { perm: swapLastTwo(rank) },
        inputs: [v],
        outs: [t],
      });
      return t;
    });
    equations.push({ prim: product.prim, params: product.params, inputs: [b, a], outs: eq.outs });
  }
  return program.with({ equations });
}
