/**
 * Shared pieces of generated WGSL: storage types per dtype, the binding header, the entry
 * point with a linear workgroup id, strided index arithmetic over the parameter array `P`, and
 * the scalar helper functions whose float semantics must match the CPU reference (NaN
 * propagation, overflow-free sigmoid and tanh, log1p/expm1, pow of negative bases).
 *
 * @module
 */

import type { DType } from "../../core/dtype.ts";

/** The WGSL scalar type storing a dtype (bool as u32 0/1); float64 is rejected earlier. */
export function wgslType(dtype: DType): "f32" | "i32" | "u32" {
  if (dtype === "float32") return "f32";
  if (dtype === "int32") return "i32";
  if (dtype === "bool") return "u32";
  throw new TypeError("webgpu: float64 is CPU-only; convert with astype('float32') first");
}

/** A binding declaration after `P`: a name and its element type (e.g. `f32`, `atomic<u32>`). */
export interface Binding {
  /** The WGSL variable name. */
  name: string;
  /** The element type of its runtime-sized array. */
  type: string;
}

/**
 * The binding header: `P` at 0, inputs read-only, then outputs read-write (the order of
 * `GpuContext.dispatch`).
 *
 * @example
 * ```ts
 * import { header } from "./_wgsl.ts";
 * import assert from "node:assert/strict";
 * const h = header([{ name: "x", type: "f32" }], [{ name: "y", type: "f32" }]);
 * assert.ok(h.includes("@binding(2) var<storage, read_write> y: array<f32>;"));
 * ```
 */
export function header(inputs: readonly Binding[], outputs: readonly Binding[]): string {
  const lines = ["@group(0) @binding(0) var<storage, read> P: array<u32>;"];
  let b = 1;
  for (const x of inputs) {
    lines.push(`@group(0) @binding(${b++}) var<storage, read> ${x.name}: array<${x.type}>;`);
  }
  for (const x of outputs) {
    lines.push(`@group(0) @binding(${b++}) var<storage, read_write> ${x.name}: array<${x.type}>;`);
  }
  return lines.join("\n") + "\n";
}

/**
 * The entry point of a kernel with `size` threads per workgroup. `body` sees `wg` (the linear
 * workgroup id), `lid` (the thread within it) and `gid = wg * size + lid`.
 *
 * @example
 * ```ts
 * import { entry } from "./_wgsl.ts";
 * import assert from "node:assert/strict";
 * assert.ok(entry(64, "y[gid] = 1.0;").includes("@workgroup_size(64)"));
 * ```
 */
export function entry(size: number, body: string): string {
  return `@compute @workgroup_size(${size})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let wg = wid.x + wid.y * nwg.x;
  let gid = wg * ${size}u + lid;
  _ = P[0];
${body}
}
`;
}

/**
 * Code decomposing linear index `i` into coordinates `${c}0..` of a row-major shape whose
 * strides (all but the last, which is 1) are in `P[at..]`. Returns the statements.
 *
 * @example
 * ```ts
 * import { coords } from "./_wgsl.ts";
 * import assert from "node:assert/strict";
 * assert.equal(coords("i", 1, 0, "c"), "  let c0 = i;\n");
 * ```
 */
export function coords(i: string, rank: number, at: number, c: string): string {
  if (rank === 0) return "";
  if (rank === 1) return `  let ${c}0 = ${i};\n`;
  let s = `  var ${c}_r = ${i};\n`;
  for (let d = 0; d < rank - 1; d++) {
    s += `  let ${c}${d} = ${c}_r / P[${at + d}]; ${c}_r = ${c}_r - ${c}${d} * P[${at + d}];\n`;
  }
  return s + `  let ${c}${rank - 1} = ${c}_r;\n`;
}

/**
 * The element index of coordinates `${c}0..` in a view whose offset is `P[at]` and whose
 * strides are `P[at+1..]`.
 *
 * @example
 * ```ts
 * import { strided } from "./_wgsl.ts";
 * import assert from "node:assert/strict";
 * assert.equal(strided(2, 5, "c"), "(P[5] + c0 * P[6] + c1 * P[7])");
 * ```
 */
export function strided(rank: number, at: number, c: string): string {
  let s = `P[${at}]`;
  for (let d = 0; d < rank; d++) s += ` + ${c}${d} * P[${at + 1 + d}]`;
  return `(${s})`;
}

/** Iterations of one WGSL loop on llvmpipe, which silently stops loops at 65535. */
const CHUNK = 32768;

/**
 * The opening of `for (var k = begin; k < end; k += step)` as two nested loops, each well
 * under 65535 iterations: Mesa's llvmpipe ends any loop after 65535 iterations without a word,
 * which would cut long reductions short. Close it with {@linkcode endFor}.
 *
 * @example
 * ```ts
 * import { endFor, forRange } from "./_wgsl.ts";
 * import assert from "node:assert/strict";
 * const code = forRange("k", "0u", "n", "1u") + "s += X[k];\n" + endFor;
 * assert.ok(code.includes("for (var k = k_o; k < k_e; k += 1u)"));
 * ```
 */
export function forRange(k: string, begin: string, end: string, step: string): string {
  const span = `(${step}) * ${CHUNK}u`;
  return `{ let ${k}_n = ${end};
` +
    `  for (var ${k}_o = ${begin}; ${k}_o < ${k}_n; ${k}_o += ${span}) {
` +
    `  let ${k}_e = min(${k}_n, ${k}_o + ${span});
` +
    `  for (var ${k} = ${k}_o; ${k} < ${k}_e; ${k} += ${step}) {
`;
}

/** Closes {@linkcode forRange}. */
export const endFor = "}}}\n";

/**
 * Scalar helpers, included in every module that needs them (unused functions cost nothing).
 * Float comparisons with NaN are done on bits, since shader compilers may assume no NaNs.
 */
export const HELPERS = `
fn isnan_(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn nan_() -> f32 { return bitcast<f32>(0x7fc00000u); }
fn fmax_(a: f32, b: f32) -> f32 {
  if (isnan_(a)) { return a; }
  if (isnan_(b)) { return b; }
  return select(b, a, a > b);
}
fn fmin_(a: f32, b: f32) -> f32 {
  if (isnan_(a)) { return a; }
  if (isnan_(b)) { return b; }
  return select(b, a, a < b);
}
fn sigmoid_(x: f32) -> f32 {
  let e = exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}
fn tanh_(x: f32) -> f32 {
  if (isnan_(x)) { return x; }
  // tanh(9) rounds to 1 in f32; clamping keeps exp-based implementations from overflowing.
  return tanh(clamp(x, -9.0, 9.0));
}
fn sign_(x: f32) -> f32 { return select(select(x, -1.0, x < 0.0), 1.0, x > 0.0); }
fn log1p_(x: f32) -> f32 {
  let u = 1.0 + x;
  if (u == 1.0) { return x; }
  if (isnan_(x) || u == bitcast<f32>(0x7f800000u)) { return log(u); }
  // Corrects the rounding of 1 + x (Goldberg's trick).
  return log(u) * x / (u - 1.0);
}
fn expm1_(x: f32) -> f32 {
  if (abs(x) < 1e-5) { return x + 0.5 * x * x; }
  if (x < -20.0) { return -1.0; }
  if (x > 88.0 || isnan_(x)) { return exp(x); }
  let u = exp(x);
  // Kahan's correction of exp(x) - 1.
  return (u - 1.0) * x / log(u);
}
fn powi_(x: f32, n: i32) -> f32 {
  var b = x;
  var e = abs(n);
  var r = 1.0;
  loop {
    if ((e & 1) != 0) { r = r * b; }
    e = e >> 1u;
    if (e == 0) { break; }
    b = b * b;
  }
  return select(r, 1.0 / r, n < 0);
}
fn pow_(x: f32, y: f32) -> f32 {
  if (y == 0.0) { return 1.0; }
  if (isnan_(x) || isnan_(y)) { return nan_(); }
  let yi = trunc(y);
  if (yi == y && abs(y) <= 64.0) { return powi_(x, i32(y)); }
  if (x == 0.0) { return select(bitcast<f32>(0x7f800000u), 0.0, y > 0.0); }
  if (x < 0.0) {
    if (yi != y) { return nan_(); }
    let m = exp2(y * log2(-x));
    // An odd integer exponent keeps the sign (|y| < 2^24 here, so the parity is exact).
    return select(m, -m, abs(y) < 16777216.0 && (i32(y) & 1) != 0);
  }
  return exp2(y * log2(x));
}
fn ipow_(x: i32, y: i32) -> i32 {
  if (y < 0) {
    if (x == 1) { return 1; }
    if (x == -1) { return select(1, -1, (y & 1) != 0); }
    return 0;
  }
  var b = x;
  var e = y;
  var r = 1;
  loop {
    if (e == 0) { break; }
    if ((e & 1) != 0) { r = r * b; }
    e = e >> 1u;
    b = b * b;
  }
  return r;
}
fn idiv_(a: i32, b: i32) -> i32 { return select(a / b, 0, b == 0); }
fn f2i_(x: f32) -> i32 {
  // As JavaScript's ToInt32: truncate toward zero, wrap modulo 2^32, NaN and infinities to 0.
  if (isnan_(x) || abs(x) == bitcast<f32>(0x7f800000u)) { return 0; }
  let t = trunc(x);
  if (abs(t) < 2147483648.0) { return i32(t); }
  let m = t - 4294967296.0 * floor(t / 4294967296.0);
  return bitcast<i32>(u32(m));
}
`;

/**
 * Little-endian u32 bits of a float32, for passing float constants through `P`.
 *
 * @example
 * ```ts
 * import { f32bits } from "./_wgsl.ts";
 * import assert from "node:assert/strict";
 * assert.equal(f32bits(1), 0x3f800000);
 * ```
 */
export function f32bits(x: number): number {
  F32[0] = x;
  return U32[0];
}
const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/**
 * The bits of a constant of `dtype` for `P` (bool as 0/1, int32 as two's complement).
 *
 * @example
 * ```ts
 * import { constBits } from "./_wgsl.ts";
 * import assert from "node:assert/strict";
 * assert.equal(constBits(-1, "int32"), 0xffffffff);
 * ```
 */
export function constBits(x: number, dtype: DType): number {
  if (dtype === "float32") return f32bits(x);
  if (dtype === "bool") return x !== 0 ? 1 : 0;
  return x >>> 0;
}

/** Reads constant `P[at]` as a value of `dtype`'s storage type. */
export function constExpr(at: number, dtype: DType): string {
  const t = wgslType(dtype);
  return t === "u32" ? `P[${at}]` : `bitcast<${t}>(P[${at}])`;
}
