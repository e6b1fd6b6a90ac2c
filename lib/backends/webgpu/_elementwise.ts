/**
 * Elementwise primitives as {@linkcode MapFn}s, with the CPU reference's semantics: int32
 * wraps and its `div` truncates (x / 0 is 0); bool results are 0/1 computed through int32;
 * NaN propagates through `max`/`min` and compares as IEEE says; `convert` to int32 follows
 * JavaScript's ToInt32 and to bool is `x != 0` (NaN is true).
 *
 * @module
 */

import type { DType } from "../../core/dtype.ts";
import type { MapFn } from "./_map.ts";

const FLOAT_UNARY: Record<string, (x: string) => string> = {
  neg: (x) => `-${x}`,
  exp: (x) => `exp(${x})`,
  log: (x) => `log(${x})`,
  sqrt: (x) => `sqrt(${x})`,
  sin: (x) => `sin(${x})`,
  cos: (x) => `cos(${x})`,
  tanh: (x) => `tanh_(${x})`,
  sigmoid: (x) => `sigmoid_(${x})`,
  abs: (x) => `abs(${x})`,
  sign: (x) => `sign_(${x})`,
  log1p: (x) => `log1p_(${x})`,
  expm1: (x) => `expm1_(${x})`,
};

const INT_UNARY: Record<string, (x: string) => string> = {
  neg: (x) => `-${x}`,
  abs: (x) => `abs(${x})`,
  sign: (x) => `sign(${x})`,
};

const FLOAT_BINARY: Record<string, (a: string, b: string) => string> = {
  add: (a, b) => `${a} + ${b}`,
  sub: (a, b) => `${a} - ${b}`,
  mul: (a, b) => `${a} * ${b}`,
  div: (a, b) => `${a} / ${b}`,
  pow: (a, b) => `pow_(${a}, ${b})`,
  max: (a, b) => `fmax_(${a}, ${b})`,
  min: (a, b) => `fmin_(${a}, ${b})`,
};

const INT_BINARY: Record<string, (a: string, b: string) => string> = {
  add: (a, b) => `${a} + ${b}`,
  sub: (a, b) => `${a} - ${b}`,
  mul: (a, b) => `${a} * ${b}`,
  div: (a, b) => `idiv_(${a}, ${b})`,
  pow: (a, b) => `ipow_(${a}, ${b})`,
  max: (a, b) => `max(${a}, ${b})`,
  min: (a, b) => `min(${a}, ${b})`,
};

/** Comparisons; for floats, NaN operands make all but `ne` false whatever the compiler. */
const COMPARE: Record<string, string> = {
  eq: "==",
  ne: "!=",
  lt: "<",
  le: "<=",
  gt: ">",
  ge: ">=",
};

function unsupported(name: string, dtype: DType): never {
  throw new TypeError(`webgpu backend: no kernel for primitive "${name}" on ${dtype}`);
}

const toBool = (e: string) => `select(0u, 1u, (${e}) != 0)`;

/** The kernel of a unary primitive on a dtype. */
export function unaryFn(name: string, dtype: DType): MapFn {
  if (dtype === "float32") {
    const f = FLOAT_UNARY[name] ?? unsupported(name, dtype);
    return { name: `${name}`, expr: ([x]) => f(x) };
  }
  const f = INT_UNARY[name] ?? unsupported(name, dtype);
  if (dtype === "int32") return { name, expr: ([x]) => f(x) };
  return { name, expr: ([x]) => toBool(f(`i32(${x})`)) };
}

/** The kernel of a binary arithmetic primitive on a dtype. */
export function binaryFn(name: string, dtype: DType): MapFn {
  if (dtype === "float32") {
    const f = FLOAT_BINARY[name] ?? unsupported(name, dtype);
    return { name, expr: ([a, b]) => f(a, b) };
  }
  const f = INT_BINARY[name] ?? unsupported(name, dtype);
  if (dtype === "int32") return { name, expr: ([a, b]) => f(a, b) };
  return { name, expr: ([a, b]) => toBool(f(`i32(${a})`, `i32(${b})`)) };
}

/** The kernel of a comparison on operands of a dtype (result bool). */
export function compareFn(name: string, dtype: DType): MapFn {
  const op = COMPARE[name] ?? unsupported(name, dtype);
  if (dtype !== "float32") return { name, expr: ([a, b]) => `select(0u, 1u, ${a} ${op} ${b})` };
  return {
    name,
    expr: ([a, b]) => {
      const nan = `isnan_(${a}) || isnan_(${b})`;
      return name === "ne"
        ? `select(0u, 1u, (${nan}) || ${a} != ${b})`
        : `select(0u, 1u, !(${nan}) && ${a} ${op} ${b})`;
    },
  };
}

/** `select([cond, a, b])`. */
export const SELECT: MapFn = {
  name: "select",
  expr: ([c, a, b]) => `select(${b}, ${a}, ${c} != 0u)`,
};

/** The kernel of `convert` between two different dtypes. */
export function convertFn(from: DType, to: DType): MapFn {
  const name = `convert_${from}_${to}`;
  if (to === "bool") {
    if (from === "float32") return { name, expr: ([x]) => `select(1u, 0u, ${x} == 0.0)` };
    return { name, expr: ([x]) => `select(0u, 1u, ${x} != 0)` };
  }
  if (to === "float32") return { name, expr: ([x]) => `f32(${x})` };
  if (to === "int32") {
    if (from === "float32") return { name, expr: ([x]) => `f2i_(${x})` };
    return { name, expr: ([x]) => `i32(${x})` };
  }
  return unsupported("convert", to);
}
