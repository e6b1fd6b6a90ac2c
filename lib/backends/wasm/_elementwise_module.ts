/**
 * The elementwise float32 kernels' Wasm module, generated at run time with the module emitter
 * (WebAssembly SIMD, four lanes per instruction). Every thread of a `WasmContext` instantiates
 * it on the shared memory; `_elementwise.ts` calls it.
 *
 * - binary `add sub mul div max min`: both operands dense, or one a broadcast scalar. The
 *   arithmetic is IEEE float32, which equals the JS kernels' `Math.fround(a op b)` exactly
 *   (double rounding is harmless for + - × ÷); `f32x4.min/max` propagate NaN and order
 *   -0 < +0, as `Math.min/max` do.
 * - unary `neg exp tanh sigmoid`: `exp` by range reduction `x = n·ln2 + r` (|r| ≤ ln2/2, ln2 in
 *   two parts) and a degree-6 polynomial, scaled by 2ⁿ in two steps so that overflow gives
 *   +inf and results below 2⁻¹²⁶ are gradual (subnormal) then 0; NaN stays NaN. `sigmoid` is
 *   `1 / (1 + exp(-x))`, which tends to 0 for very negative x as `exp` overflows to +inf.
 *   `tanh` is the odd rational function `x·P(x²) / Q(x²)` on x clamped to ±9 (beyond which
 *   tanh rounds to ±1), kept within ±1: no `exp`, about a third of its cost, within 3e-7
 *   relative (the fit itself is within 1.3e-9; the rest is float32 rounding).
 *
 * Kernels work on whole vectors: `n` elements touch `4·⌈n/4⌉` (see `_elementwise.ts`).
 *
 * @example
 * ```ts
 * import { buildElementwiseModule } from "./_elementwise_module.ts";
 * console.log(WebAssembly.validate(buildElementwiseModule())); // true
 * ```
 *
 * @module
 */

import { type FunctionBuilder, type Local, ModuleBuilder } from "./_emitter.ts";
import { relaxedSimdSupported } from "./_matmul.ts";

/** Unary operations with a SIMD kernel. */
export const WASM_UNARY: readonly string[] = ["neg", "exp", "tanh", "sigmoid"];
/** Binary operations with a SIMD kernel. */
export const WASM_BINARY: readonly string[] = ["add", "sub", "mul", "div", "max", "min"];

/** The f32x4 instruction of each binary operation (both operands on the stack). */
export const F32X4_BINARY: Readonly<Record<string, (f: FunctionBuilder) => void>> = {
  add: (f) => f.f32x4.add(),
  sub: (f) => f.f32x4.sub(),
  mul: (f) => f.f32x4.mul(),
  div: (f) => f.f32x4.div(),
  max: (f) => f.f32x4.max(),
  min: (f) => f.f32x4.min(),
};

/** How the operands of a binary kernel are laid out: dense-dense, scalar-dense, dense-scalar. */
export type BinaryMode = "vv" | "sv" | "vs";

function splatF32(v: number): Uint8Array {
  return new Uint8Array(new Float32Array([v, v, v, v]).buffer);
}
function splatI32(v: number): Uint8Array {
  return new Uint8Array(new Int32Array([v, v, v, v]).buffer);
}

// Cephes' expf constants: ln2 = C1 + C2 with C1 exact in 9 bits (n·C1 is exact for |n| ≤ 2⁸).
const LOG2E = 1.44269504088896341;
const C1 = 0.693359375;
const MAGIC = 12582912; // 1.5·2²³
const MAGIC_BITS = 0x4b400000;
const C2 = -2.12194440e-4;
const EXP_P = [
  1.9875691500e-4,
  1.3981999507e-3,
  8.3334519073e-3,
  4.1665795894e-2,
  1.6666665459e-1,
  5.0000001201e-1,
];
// tanh(x) ≈ x·P(x²) / Q(x²) on |x| ≤ 9: a minimax fit of the relative error (degrees 5 and 4
// in x²), highest power first.
const TANH_CLAMP = 9;
const TANH_P = [
  -1.224607568e-11,
  3.064230825e-8,
  2.803122516e-5,
  3.869503969e-3,
  1.368085295e-1,
  1,
];
const TANH_Q = [
  1.289028887e-6,
  3.940706083e-4,
  2.725014091e-2,
  4.701418579e-1,
  1,
];

/** Four scratch v128 locals that {@linkcode emitExp} clobbers. */
export interface ExpTemps {
  /** Scratch vector. */
  t: Local;
  /** Scratch vector. */
  n: Local;
  /** Scratch vector. */
  r: Local;
  /** Scratch vector. */
  z: Local;
}

// Inside `hoistConstants`, vector constants are read from locals set once before the loop
// (V8 rebuilds a v128.const on every use, which cost about a fifth of exp's time).
const pools = new WeakMap<FunctionBuilder, Map<string, [Local, Uint8Array]>>();

function vconst(f: FunctionBuilder, bytes: Uint8Array): FunctionBuilder {
  const pool = pools.get(f);
  if (pool === undefined) return f.v128.const(bytes);
  const key = bytes.join(",");
  let entry = pool.get(key);
  if (entry === undefined) pool.set(key, entry = [f.addLocal("v128"), bytes]);
  return f.local.get(entry[0]);
}

/**
 * Emits `body` with every vector constant it takes from {@linkcode f32c} / {@linkcode i32c}
 * read from a local that is set once before it (wrap a whole kernel, loops included).
 */
export function hoistConstants(f: FunctionBuilder, body: () => void): void {
  const pool = new Map<string, [Local, Uint8Array]>();
  pools.set(f, pool);
  const start = f.code.length;
  body();
  pools.delete(f);
  const tail = f.code.splice(start);
  for (const [local, bytes] of pool.values()) f.v128.const(bytes).local.set(local);
  f.emit(...tail);
}

/** Pushes the f32x4 constant `splat(v)` (a hoisted local inside {@linkcode hoistConstants}). */
export const f32c = (f: FunctionBuilder, v: number): FunctionBuilder => vconst(f, splatF32(v));
/** Pushes the i32x4 constant `splat(v)` (a hoisted local inside {@linkcode hoistConstants}). */
export const i32c = (f: FunctionBuilder, v: number): FunctionBuilder => vconst(f, splatI32(v));

// `a·b + c` from three pushes: one fused multiply-add where the engine has them (relaxed
// SIMD), which also leaves each step of a polynomial one instruction for the next to wait on.
function madd(f: FunctionBuilder, a: () => void, b: () => void, c: () => void): void {
  a();
  b();
  if (relaxedSimdSupported()) {
    c();
    f.f32x4.relaxed_madd();
  } else {
    f.f32x4.mul();
    c();
    f.f32x4.add();
  }
}

// Horner: (((c0·z + c1)·z + c2)...) with z in a local; leaves the value on the stack.
function horner(f: FunctionBuilder, z: Local, coeffs: readonly number[]): void {
  f32c(f, coeffs[0]);
  for (let i = 1; i < coeffs.length; i++) {
    madd(f, () => {}, () => f.local.get(z), () => f32c(f, coeffs[i]));
  }
}

/**
 * Pushes `exp` of the f32x4 in local `x` (within 2 ulp; overflow gives +inf, underflow is
 * gradual to 0, NaN stays NaN). Clobbers `x` and the temps.
 */
export function emitExp(f: FunctionBuilder, x: Local, { t, n, r, z }: ExpTemps): void {
  // Clamp so that 2ⁿ below stays representable; NaN in x passes through pmin/pmax.
  f.local.get(x);
  f32c(f, 89).f32x4.pmin();
  f32c(f, -104).f32x4.pmax().local.set(x);
  // t = x·log2e + 1.5·2²³ rounds to an integer n held in t's low mantissa bits (|n| < 2²²).
  madd(f, () => f.local.get(x), () => f32c(f, LOG2E), () => f32c(f, MAGIC));
  f.local.tee(t);
  f32c(f, MAGIC).f32x4.sub().local.set(n);
  // r = x - n·C1 - n·C2 (n·C1 exact)
  madd(f, () => f.local.get(n), () => f32c(f, -C1), () => f.local.get(x));
  f.local.set(r);
  madd(f, () => f.local.get(n), () => f32c(f, -C2), () => f.local.get(r));
  f.local.tee(r).local.get(r).f32x4.mul().local.set(z);
  // p = P(r)·r² + r + 1
  horner(f, r, EXP_P);
  madd(f, () => {}, () => f.local.get(z), () => f.local.get(r));
  f32c(f, 1).f32x4.add();
  // n as i32 from t's bits; 2ⁿ = 2^n1 · 2^(n - n1) with n1 = n >> 1, each built in the
  // exponent field, so p·2ⁿ overflows to inf and rounds gradually to subnormals and 0.
  f.local.get(t);
  i32c(f, MAGIC_BITS).i32x4.sub().local.tee(n);
  f.i32.const(1).i32x4.shr_s().local.tee(r);
  i32c(f, 127).i32x4.add().i32.const(23).i32x4.shl().f32x4.mul();
  f.local.get(n).local.get(r).i32x4.sub();
  i32c(f, 127).i32x4.add().i32.const(23).i32x4.shl().f32x4.mul();
}

/** The v128 locals {@linkcode emitUnary} uses: the input `x` and scratch vectors. */
export interface UnaryLocals extends ExpTemps {
  /** The input vector (clobbered by `exp`). */
  x: Local;
  /** Scratch vector. */
  u: Local;
}

/** Pushes `op(x)` (`neg exp tanh sigmoid`) of the f32x4 in local `l.x`. */
export function emitUnary(f: FunctionBuilder, op: string, l: UnaryLocals): void {
  const { x, u } = l;
  switch (op) {
    case "neg":
      f.local.get(x).f32x4.neg();
      return;
    case "exp":
      emitExp(f, x, l);
      return;
    case "sigmoid":
      // 1 / (1 + exp(-x))
      f.local.get(x).f32x4.neg().local.set(x);
      f32c(f, 1);
      emitExp(f, x, l);
      f32c(f, 1).f32x4.add().f32x4.div();
      return;
    case "tanh":
      // u = x clamped to ±9 (NaN passes); z = u²; u·P(z) / Q(z) clamped to ±1
      f.local.get(x);
      f32c(f, TANH_CLAMP).f32x4.pmin();
      f32c(f, -TANH_CLAMP).f32x4.pmax().local.tee(u).local.get(u).f32x4.mul().local.set(l.z);
      f.local.get(u);
      horner(f, l.z, TANH_P);
      f.f32x4.mul();
      horner(f, l.z, TANH_Q);
      f.f32x4.div();
      f32c(f, 1).f32x4.pmin();
      f32c(f, -1).f32x4.pmax();
      return;
  }
  throw new Error(`no wasm kernel for "${op}"`);
}

/** Emits `for (p = 0; p < bytes; p += 16) body(p)` (unsigned compare) with a fresh local `p`. */
export function vectorLoop(f: FunctionBuilder, bytes: Local, body: (p: Local) => void): void {
  const p = f.addLocal("i32");
  f.i32.const(0).local.set(p); // (the loop may itself run inside a loop)
  f.block((exit) => {
    f.loop((top) => {
      f.local.get(p).local.get(bytes).i32.ge_u().brIf(exit);
      body(p);
      f.local.get(p).i32.const(16).i32.add().local.set(p).br(top);
    });
  });
}

/** Builds the elementwise module for a shared memory of at most `maxPages` pages. */
export function buildElementwiseModule(maxPages = 65536): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder().importMemory("env", "memory", {
    initial: 0,
    maximum: maxPages,
    shared: true,
  });
  // unary op(x, o, bytes)
  for (const op of WASM_UNARY) {
    mb.addFunction(op, ["i32", "i32", "i32"], [], (f) => {
      const [xp, op_, bytes] = [f.param(0), f.param(1), f.param(2)];
      const v = () => f.addLocal("v128");
      const l: UnaryLocals = { x: v(), u: v(), t: v(), n: v(), r: v(), z: v() };
      hoistConstants(f, () =>
        vectorLoop(f, bytes, (p) => {
          f.local.get(op_).local.get(p).i32.add();
          f.local.get(xp).local.get(p).i32.add().v128.load().local.set(l.x);
          emitUnary(f, op, l);
          f.v128.store();
        }));
    });
  }
  // binary op_mode(a, b, o, bytes); a scalar operand is read once and splatted
  const instr = F32X4_BINARY;
  for (const op of WASM_BINARY) {
    for (const mode of ["vv", "sv", "vs"] as const) {
      mb.addFunction(`${op}_${mode}`, ["i32", "i32", "i32", "i32"], [], (f) => {
        const [ap, bp, o, bytes] = [0, 1, 2, 3].map((i) => f.param(i));
        const sa = f.addLocal("v128"), sb = f.addLocal("v128");
        if (mode === "sv") f.local.get(ap).v128.load32_splat().local.set(sa);
        if (mode === "vs") f.local.get(bp).v128.load32_splat().local.set(sb);
        vectorLoop(f, bytes, (p) => {
          f.local.get(o).local.get(p).i32.add();
          if (mode === "sv") f.local.get(sa);
          else f.local.get(ap).local.get(p).i32.add().v128.load();
          if (mode === "vs") f.local.get(sb);
          else f.local.get(bp).local.get(p).i32.add().v128.load();
          instr[op](f);
          f.v128.store();
        });
      });
    }
  }
  return mb.toBytes();
}
