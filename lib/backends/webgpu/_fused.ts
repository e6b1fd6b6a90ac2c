/**
 * Fused elementwise kernels on the GPU: a chain of elementwise primitives that `jit` grouped
 * into one cluster becomes one map kernel whose WGSL expression nests the chain's expressions,
 * so the intermediate values stay in registers and the chain costs one dispatch.
 *
 * A value the chain reads twice appears twice in the expression (recomputed, which is cheap
 * next to a round trip through memory); chains whose expression would grow past a few thousand
 * characters are left unfused.
 *
 * @module
 */

import type { Aval, FusedSpec } from "../../core/backend.ts";
import { binaryFn, compareFn, convertFn, SELECT, unaryFn } from "./_elementwise.ts";
import type { MapFn } from "./_map.ts";

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

// The longest fused expression generated.
const MAX_EXPRESSION = 4000;

/** Whether the GPU fuses primitive `name` with these types. */
export function fusibleOnGpu(name: string, args: readonly Aval[], out: Aval): boolean {
  if ([out, ...args].some((a) => a.dtype === "float64")) return false;
  const floats = out.dtype === "float32" && args.every((a) => a.dtype === "float32");
  if (UNARY.has(name)) return floats || ["neg", "abs", "sign"].includes(name);
  if (BINARY.has(name)) return out.dtype !== "bool" || name !== "pow";
  return COMPARE.has(name) || name === "select" || name === "convert";
}

function opFn(op: FusedSpec["ops"][number], args: readonly Aval[]): MapFn {
  const { name, out } = op;
  if (UNARY.has(name)) return unaryFn(name, out.dtype);
  if (BINARY.has(name)) return binaryFn(name, out.dtype);
  if (COMPARE.has(name)) return compareFn(name, args[0].dtype);
  if (name === "select") return SELECT;
  if (args[0].dtype === out.dtype) return { name: "id", expr: ([x]) => x };
  return convertFn(args[0].dtype, out.dtype);
}

/**
 * The map function computing operation `k` of a fused chain from the chain's inputs `a0, a1,
 * ...` (one map per output of the chain), or `null` when its expression would be too long.
 */
export function fusedMapFn(spec: FusedSpec, k: number): MapFn | null {
  const avals: Aval[] = [...spec.inputs, ...spec.ops.map((op) => op.out)];
  const fns = spec.ops.map((op) => opFn(op, op.args.map((a) => avals[a])));
  const used = spec.ops.slice(0, k + 1);
  const name = `fused(${used.map((op, j) => `${fns[j].name}:${op.args}`).join(";")})`;
  const expr = (args: readonly string[], constAt: number) => {
    const values = [...args];
    used.forEach((op, j) => {
      values.push(`(${fns[j].expr(op.args.map((a) => values[a]), constAt)})`);
    });
    return values[values.length - 1];
  };
  const probe = expr(spec.inputs.map((_, i) => `a${i}`), 0);
  return probe.length > MAX_EXPRESSION ? null : { name, expr };
}
