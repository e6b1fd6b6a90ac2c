/**
 * Fused elementwise kernels on the GPU: a chain of elementwise primitives that `jit` grouped
 * into one cluster becomes one map kernel computing the chain's operations one after another
 * (a `let` each), so the intermediate values stay in registers, and writing every value the
 * chain must give: the whole chain costs one dispatch.
 *
 * @module
 */

import type { Aval, FusedSpec } from "../../core/backend.ts";
import { binaryFn, compareFn, convertFn, SELECT, unaryFn } from "./_elementwise.ts";
import type { MapFn, MultiMapFn } from "./_map.ts";

const UNARY = new Set([
  "neg",
  "exp",
  "log",
  "sqrt",
  "sin",
  "cos",
  "tanh",
  "sigmoid",
  "abs",
  "sign",
  "log1p",
  "expm1",
]);
const BINARY = new Set(["add", "sub", "mul", "div", "pow", "max", "min"]);
const COMPARE = new Set(["eq", "ne", "lt", "le", "gt", "ge"]);

/** Whether the GPU fuses primitive `name` with these types. */
export function fusibleOnGpu(name: string, args: readonly Aval[], out: Aval): boolean {
  if ([out, ...args].some((a) => a.dtype === "float64")) return false;
  const floats = out.dtype === "float32" && args.every((a) => a.dtype === "float32");
  if (UNARY.has(name)) return floats || ["neg", "abs", "sign"].includes(name);
  if (BINARY.has(name)) return out.dtype !== "bool" || name !== "pow";
  return COMPARE.has(name) || name === "select" || name === "convert";
}

/** The expression of one operation of a fused chain, given its operands' types. */
export function fusedOpFn(op: FusedSpec["ops"][number], args: readonly Aval[]): MapFn {
  const { name, out } = op;
  if (UNARY.has(name)) return unaryFn(name, out.dtype);
  if (BINARY.has(name)) return binaryFn(name, out.dtype);
  if (COMPARE.has(name)) return compareFn(name, args[0].dtype);
  if (name === "select") return SELECT;
  if (args[0].dtype === out.dtype) return { name: "id", expr: ([x]) => x };
  return convertFn(args[0].dtype, out.dtype);
}

/**
 * The statements of a fused chain: one `let` per operation, over the chain's inputs `a0, a1,
 * ...`, whose results are the values of the operations `outputs` (by default the chain's).
 *
 * @example
 * ```ts
 * import { fusedFn } from "./_fused.ts";
 * import assert from "node:assert/strict";
 * const f32 = { shape: [2], dtype: "float32", device: "webgpu" } as const;
 * const exp = { name: "exp", params: {}, args: [0], out: f32 };
 * const neg = { name: "neg", params: {}, args: [1], out: f32 };
 * const { lets, results } = fusedFn({ inputs: [f32], ops: [exp, neg], outputs: [0, 1] })
 *   .body(["a0"]);
 * assert.equal(lets, "  let v1 = exp(a0);\n  let v2 = -v1;\n");
 * assert.deepEqual(results, ["v1", "v2"]);
 * ```
 */
export function fusedFn(spec: FusedSpec, outputs: readonly number[] = spec.outputs): MultiMapFn {
  const avals: Aval[] = [...spec.inputs, ...spec.ops.map((op) => op.out)];
  const fns = spec.ops.map((op) => fusedOpFn(op, op.args.map((a) => avals[a])));
  const name = `fused(${
    spec.ops.map((op, j) => `${fns[j].name}:${op.args}`).join(";")
  }>${outputs})`;
  const first = spec.inputs.length;
  return {
    name,
    body: (args) => {
      const values = [...args];
      let lets = "";
      spec.ops.forEach((op, j) => {
        values.push(`v${first + j}`);
        lets += `  let v${first + j} = ${fns[j].expr(op.args.map((a) => values[a]), 0)};\n`;
      });
      return { lets, results: outputs.map((k) => values[first + k]) };
    },
  };
}

/**
 * A fused spec headed by a product, taken apart: the chain after the product as a spec of its
 * own, whose input 0 is the product's value and whose other inputs are those of the spec the
 * chain reads (`inputs`, their indices in the spec), and the product's operands (`operands`).
 * Where the product's value is itself an output, the chain copies it out.
 *
 * @example
 * ```ts
 * import { epilogueOf } from "./_fused.ts";
 * import assert from "node:assert/strict";
 * const aval = (shape: number[]) => ({ shape, dtype: "float32", device: "webgpu" }) as const;
 * // sigmoid(x · w + bias)
 * const { chain, operands, inputs } = epilogueOf({
 *   inputs: [aval([4, 3]), aval([3, 2]), aval([4, 2])],
 *   ops: [
 *     { name: "matmul", params: {}, args: [0, 1], out: aval([4, 2]) },
 *     { name: "add", params: {}, args: [3, 2], out: aval([4, 2]) },
 *     { name: "sigmoid", params: {}, args: [4], out: aval([4, 2]) },
 *   ],
 *   outputs: [2],
 * }, 0);
 * assert.deepEqual([operands, inputs], [[0, 1], [2]]);
 * assert.deepEqual(chain.ops.map((op) => [op.name, op.args]), [["add", [0, 1]], ["sigmoid", [2]]]);
 * ```
 */
export function epilogueOf(
  spec: FusedSpec,
  head: number,
): { chain: FusedSpec; operands: number[]; inputs: number[] } {
  const nIn = spec.inputs.length;
  const product = spec.ops[head];
  const inputs: number[] = [];
  spec.ops.forEach((op, k) => {
    if (k === head) return;
    for (const a of op.args) if (a < nIn && !inputs.includes(a)) inputs.push(a);
  });
  const chainInputs = 1 + inputs.length;
  const ops: FusedSpec["ops"][number][] = [];
  const moved = new Map<number, number>(); // the spec's operation -> the chain's
  const argOf = (a: number): number => {
    if (a < nIn) return 1 + inputs.indexOf(a);
    return a - nIn === head ? 0 : chainInputs + moved.get(a - nIn)!;
  };
  spec.ops.forEach((op, k) => {
    if (k === head) return;
    moved.set(k, ops.length);
    ops.push({ ...op, args: op.args.map(argOf) });
  });
  const outputs = spec.outputs.map((k) => {
    if (k !== head) return moved.get(k)!;
    ops.push({
      name: "convert",
      params: { dtype: product.out.dtype },
      args: [0],
      out: product.out,
    });
    return ops.length - 1;
  });
  const chain = { inputs: [product.out, ...inputs.map((i) => spec.inputs[i])], ops, outputs };
  return { chain, operands: [...product.args], inputs };
}
