import assert from "node:assert/strict";
import { WasmContext } from "./_context.ts";
import { elementwiseKernels } from "./_elementwise.ts";
import {
  type BinaryMode,
  buildElementwiseModule,
  WASM_BINARY,
  WASM_UNARY,
} from "./_elementwise_module.ts";

const SPECIAL = [
  0,
  -0,
  Infinity,
  -Infinity,
  NaN,
  88.7,
  -88.7,
  88.72,
  88.73,
  -87.3,
  -100,
  -103.3,
  -104,
  1e-38,
  -1e-38,
  1e-7,
  -1e-7,
  0.6249,
  0.625,
  -0.625,
  8.999,
  9,
  -9,
  9.001,
  20,
  -20,
  45,
  -45,
  1e4,
  -1e4,
  3e38,
  -3e38,
];

// Seeded so failures reproduce: a mix of the specials, |x| < 2, |x| < 120 and wide magnitudes.
function inputs(n: number, seed = 1): Float32Array {
  let s = seed;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % 4;
    x[i] = k === 0
      ? (rnd() - 0.5) * 4
      : k === 1
      ? (rnd() - 0.5) * 240
      : k === 2
      ? (rnd() - 0.5) * 2 ** (rnd() * 80 - 40)
      : SPECIAL[Math.floor(rnd() * SPECIAL.length)];
  }
  x.set(SPECIAL.slice(0, n));
  return x;
}

function sigmoidRef(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

const UNARY_REF: Record<string, [(x: number) => number, number]> = {
  neg: [(x) => -x, 0],
  exp: [Math.exp, 2e-7],
  // A rational function, four roundings: measured worst 2.9e-7 (2.5 ulp) near x = ±6.
  tanh: [Math.tanh, 3.5e-7],
  // Two roundings after exp: measured worst 1.5e-7 (1.3 ulp) near x = -17.
  sigmoid: [sigmoidRef, 2.5e-7],
};

// got ≈ Math.fround(want): same NaN-ness, same infinities, and relative error ≤ rel (or an
// absolute 1e-37 for results near float32's subnormal range).
function assertClose(got: Float32Array, want: Float32Array, x: ArrayLike<number>, rel: number) {
  for (let i = 0; i < got.length; i++) {
    const g = got[i], w = want[i];
    if (Object.is(g, w)) continue;
    const ok = rel > 0 && Number.isFinite(w) && Number.isFinite(g) &&
      (Math.abs(g - w) <= rel * Math.abs(w) || Math.abs(g - w) <= 1e-37);
    if (!ok) assert.fail(`at ${i}: x = ${x[i]}: got ${g}, want ${w}`);
  }
}

Deno.test("the elementwise module validates", () => {
  assert.ok(WebAssembly.validate(buildElementwiseModule()));
});

Deno.test("wasm unary kernels match the JS reference", async (t) => {
  const ctx = new WasmContext({ threads: 1 });
  const k = elementwiseKernels(ctx);
  for (const n of [1, 3, 4, 5, 1 << 17]) {
    const x = inputs(n);
    for (const op of WASM_UNARY) {
      await t.step(`${op} n=${n}`, () => {
        const [f, rel] = UNARY_REF[op];
        const p = ctx.heap.alloc(4 * (n + 3 & ~3));
        const q = ctx.heap.alloc(4 * (n + 3 & ~3));
        ctx.heap.f32().set(x, p / 4);
        k.unary(op, p, q, n);
        const got = ctx.heap.f32().slice(q / 4, q / 4 + n);
        assertClose(got, x.map(f), x, rel);
        k.unary(op, p, p, n); // in place
        assert.deepEqual(ctx.heap.f32().slice(p / 4, p / 4 + n), got);
        ctx.heap.free(q);
        ctx.heap.free(p);
      });
    }
  }
});

Deno.test("wasm binary kernels equal the JS ones exactly, dense and scalar", async (t) => {
  const ctx = new WasmContext({ threads: 1 });
  const k = elementwiseKernels(ctx);
  const refs: Record<string, (a: number, b: number) => number> = {
    add: (a, b) => a + b,
    sub: (a, b) => a - b,
    mul: (a, b) => a * b,
    div: (a, b) => a / b,
    max: Math.max,
    min: Math.min,
  };
  const n = 1 << 16 | 3;
  const a = inputs(n, 7), b = inputs(n, 11);
  b.set(SPECIAL.toReversed()); // specials meet specials
  const bytes = 4 * (n + 3 & ~3);
  for (const op of WASM_BINARY) {
    for (const mode of ["vv", "sv", "vs"] as BinaryMode[]) {
      for (const s of mode === "vv" ? [0] : [0, -0, 2.5, NaN, -Infinity]) {
        await t.step(`${op} ${mode} ${mode === "vv" ? "" : s}`, () => {
          const pa = ctx.heap.alloc(bytes), pb = ctx.heap.alloc(bytes), po = ctx.heap.alloc(bytes);
          const f32 = ctx.heap.f32();
          if (mode === "sv") f32[pa / 4] = s;
          else f32.set(a, pa / 4);
          if (mode === "vs") f32[pb / 4] = s;
          else f32.set(b, pb / 4);
          k.binary(op, pa, pb, po, n, mode);
          const got = ctx.heap.f32().slice(po / 4, po / 4 + n);
          const want = new Float32Array(n);
          for (let i = 0; i < n; i++) {
            want[i] = refs[op](mode === "sv" ? s : a[i], mode === "vs" ? s : b[i]);
          }
          assertClose(got, want, a, 0);
          for (const p of [po, pb, pa]) ctx.heap.free(p);
        });
      }
    }
  }
});

Deno.test("wasm elementwise kernels reject out-of-range buffers", () => {
  const ctx = new WasmContext({ threads: 1, initialPages: 32, maximumPages: 32 });
  const k = elementwiseKernels(ctx);
  assert.throws(() => k.unary("exp", 0, 0, 1 << 20), RangeError);
  assert.throws(() => k.unary("log2", 0, 0, 4), /no wasm kernel/);
  assert.throws(() => k.binary("pow", 0, 0, 0, 4), /no wasm kernel/);
});
