import assert from "node:assert/strict";
import { WasmContext } from "./_context.ts";
import { reduceKernels, type ReduceOp } from "./_reduce.ts";
import { buildReduceModule } from "./_reduce_module.ts";

const SIZES = [0, 1, 3, 4, 5, 7, 17, 33, 130];
const SENTINEL = 12345.5;
const PAD = 8; // sentinel floats after every output (and before, for the scatter target)

// Seeded values in [-scale, scale).
function random(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 2 * scale;
  }
  return out;
}

// Copies `data` into the heap; with `pad`, PAD sentinels follow it.
function put(ctx: WasmContext, data: ArrayLike<number>, pad = false): number {
  const p = ctx.heap.alloc(4 * (data.length + (pad ? PAD : 0)));
  const f32 = ctx.heap.f32();
  f32.set(data, p / 4);
  if (pad) f32.fill(SENTINEL, p / 4 + data.length, p / 4 + data.length + PAD);
  return p;
}

function get(ctx: WasmContext, p: number, n: number): Float32Array {
  return ctx.heap.f32().slice(p / 4, p / 4 + n);
}

function assertSentinels(ctx: WasmContext, p: number, n: number, label: string): void {
  const after = get(ctx, p + 4 * n, PAD);
  assert.ok(after.every((v) => v === SENTINEL), `${label}: wrote past the output: ${after}`);
}

// |got - want| ≤ ulps·ulp(want) or atol; identical non-finite values and NaN-ness.
function assertClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  label: string,
  { rtol = 0, atol = 0 }: { rtol?: number; atol?: number },
): void {
  assert.equal(got.length, want.length, `${label}: length`);
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    if (Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w))) continue;
    if (Number.isFinite(w) && Math.abs(g - w) <= atol + rtol * Math.abs(w)) continue;
    assert.fail(`${label}: element ${i} is ${g}, want ${w}`);
  }
}

function reduceRef(
  op: ReduceOp,
  x: Float32Array,
  outer: number,
  k: number,
  inner: number,
): Float64Array {
  const out = new Float64Array(outer * inner);
  for (let a = 0; a < outer; a++) {
    for (let c = 0; c < inner; c++) {
      let acc = op === "sum" ? 0 : op === "max" ? -Infinity : Infinity;
      for (let b = 0; b < k; b++) {
        const v = x[(a * k + b) * inner + c];
        acc = op === "sum" ? acc + v : op === "max" ? Math.max(acc, v) : Math.min(acc, v);
      }
      out[a * inner + c] = acc;
    }
  }
  return out;
}

Deno.test("the reduce module validates", () => {
  assert.ok(WebAssembly.validate(buildReduceModule()));
});

Deno.test("reduce matches a float64 reference on awkward shapes", async (t) => {
  const ctx = new WasmContext({ threads: 1 });
  const kernels = reduceKernels(ctx);
  assert.equal(reduceKernels(ctx), kernels);
  for (const op of ["sum", "max", "min"] as const) {
    await t.step(op, () => {
      let seed = 1;
      for (const outer of SIZES) {
        // k = 14, 15: an 8-row pass, the 4-row pass and single rows in the columnwise kernels
        for (const k of [...SIZES, 14, 15]) {
          for (const inner of SIZES) {
            if (outer * k * inner > 200_000) continue;
            const x = random(outer * k * inner, seed++, 10);
            const px = put(ctx, x, true);
            const po = put(ctx, new Float32Array(outer * inner).fill(NaN), true);
            kernels.reduce(op, px, po, outer, k, inner);
            const label = `${op} [${outer}, ${k}, ${inner}]`;
            const want = Float32Array.from(reduceRef(op, x, outer, k, inner));
            // One rounding of a float64 sum: at most half an ulp from the rounded reference
            // plus its own rounding, i.e. within 1 ulp (2⁻²³ relative); max/min are exact.
            assertClose(get(ctx, po, outer * inner), want, label, {
              rtol: op === "sum" ? 2 ** -23 : 0,
            });
            assertSentinels(ctx, po, outer * inner, label);
            assertSentinels(ctx, px, x.length, `${label} (input)`);
            ctx.heap.free(po);
            ctx.heap.free(px);
          }
        }
      }
    });
  }
});

Deno.test("reduce: long rows, float64 accumulation, k = 0 and signed zeros", async (t) => {
  const ctx = new WasmContext({ threads: 1 });
  const kernels = reduceKernels(ctx);
  await t.step("sum of a long row of 1 + tiny values keeps the tiny part", () => {
    // In float32, 1 + 2⁻²⁵ repeatedly is lost; in float64 it is not.
    const n = 1 << 16;
    const x = new Float32Array(n).fill(2 ** -25);
    x[0] = 1;
    for (const [outer, k, inner] of [[1, n, 1], [1, n / 4, 4]]) {
      const px = put(ctx, x), po = put(ctx, new Float32Array(inner), true);
      kernels.reduce("sum", px, po, outer, k, inner);
      const want = reduceRef("sum", x, outer, k, inner);
      assertClose(get(ctx, po, inner), Float32Array.from(want), `[${outer},${k},${inner}]`, {});
      ctx.heap.free(po);
      ctx.heap.free(px);
    }
  });
  await t.step("k = 0 gives the identities", () => {
    for (const inner of [1, 5]) {
      const po = put(ctx, new Float32Array(3 * inner), true);
      for (const [op, v] of [["sum", 0], ["max", -Infinity], ["min", Infinity]] as const) {
        kernels.reduce(op, 0, po, 3, 0, inner);
        assert.deepEqual([...get(ctx, po, 3 * inner)], Array(3 * inner).fill(v));
        assertSentinels(ctx, po, 3 * inner, `${op} k=0`);
      }
      ctx.heap.free(po);
    }
  });
  await t.step("sums of -0 are +0, as from a JS loop starting at 0", () => {
    for (const [outer, k, inner] of [[2, 5, 1], [2, 5, 6]]) {
      const px = put(ctx, new Float32Array(outer * k * inner).fill(-0));
      const po = put(ctx, new Float32Array(outer * inner).fill(NaN));
      kernels.reduce("sum", px, po, outer, k, inner);
      assert.ok(get(ctx, po, outer * inner).every((v) => Object.is(v, 0)));
      ctx.heap.free(po);
      ctx.heap.free(px);
    }
  });
});

Deno.test("max/min propagate NaN, order -0 < +0 and handle infinities", () => {
  const ctx = new WasmContext({ threads: 1 });
  const kernels = reduceKernels(ctx);
  const special = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 3e38, -3e38, 1e-45];
  let seed = 99;
  for (const k of [1, 2, 3, 4, 5, 8, 9, 17, 33]) {
    for (const inner of [1, 3, 4, 6]) {
      for (let trial = 0; trial < 20; trial++) {
        const outer = 3;
        const x = random(outer * k * inner, seed++);
        // sprinkle specials, biased towards runs of zeros of both signs
        const r = random(x.length, seed++);
        for (let i = 0; i < x.length; i++) {
          const u = (r[i] + 1) / 2;
          if (u < 0.5) x[i] = special[Math.floor(u * 2 * special.length)];
          else if (u < 0.6) x[i] = NaN;
          if (trial % 4 === 0 && !Number.isNaN(x[i])) x[i] = u < 0.75 ? 0 : -0;
        }
        const px = put(ctx, x), po = put(ctx, new Float32Array(outer * inner), true);
        for (const op of ["max", "min"] as const) {
          kernels.reduce(op, px, po, outer, k, inner);
          const label = `${op} [${outer}, ${k}, ${inner}] trial ${trial}`;
          assertClose(
            get(ctx, po, outer * inner),
            Float32Array.from(reduceRef(op, x, outer, k, inner)),
            label,
            {},
          );
          assertSentinels(ctx, po, outer * inner, label);
        }
        ctx.heap.free(po);
        ctx.heap.free(px);
      }
    }
  }
});

function softmaxRef(x: Float32Array, rows: number, n: number, log: boolean): Float64Array {
  const out = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let j = 0; j < n; j++) m = Math.max(m, x[r * n + j]);
    let s = 0;
    for (let j = 0; j < n; j++) s += Math.exp(x[r * n + j] - m);
    for (let j = 0; j < n; j++) {
      const d = x[r * n + j] - m;
      out[r * n + j] = log ? d - Math.log(s) : Math.exp(d) / s;
    }
  }
  return out;
}

Deno.test("softmax and logSoftmax match a float64 reference", async (t) => {
  const ctx = new WasmContext({ threads: 1 });
  const kernels = reduceKernels(ctx);
  for (const log of [false, true]) {
    const name = log ? "logSoftmax" : "softmax";
    const run = (px: number, po: number, rows: number, n: number) =>
      log ? kernels.logSoftmax(px, po, rows, n) : kernels.softmax(px, po, rows, n);
    const tol = log ? { rtol: 1e-6, atol: 2e-6 } : { rtol: 1e-6, atol: 1e-7 };
    await t.step(`${name}: shapes, separate output and in place`, () => {
      let seed = 5;
      for (const rows of SIZES) {
        for (const n of [...SIZES, 1000, 1027]) {
          for (const scale of [1, 30]) {
            const x = random(rows * n, seed++, scale);
            const label = `${name} [${rows}, ${n}] scale ${scale}`;
            const want = softmaxRef(x, rows, n, log);
            const px = put(ctx, x, true), po = put(ctx, new Float32Array(rows * n), true);
            run(px, po, rows, n);
            assertClose(get(ctx, po, rows * n), want, label, tol);
            assertSentinels(ctx, po, rows * n, label);
            assert.deepEqual(get(ctx, px, rows * n), x, `${label}: input changed`);
            run(px, px, rows, n);
            assert.deepEqual(get(ctx, px, rows * n), get(ctx, po, rows * n), `${label} in place`);
            assertSentinels(ctx, px, rows * n, `${label} in place`);
            ctx.heap.free(po);
            ctx.heap.free(px);
          }
        }
      }
    });
    await t.step(`${name}: large logits are stable`, () => {
      const rows = [
        [1e4, -1e4, 0, 1e4 - 1, 1e4 - 20, 5],
        [-1e4, -1e4 + 0.5, -1e4 - 3, -1e4, -2e4, -1e4 + 1],
        [3e38, -3e38, 3e38, 0, 1, 2],
        [88, 89, 90, 100, -100, 104],
      ];
      const x = Float32Array.from(rows.flat());
      const px = put(ctx, x), po = put(ctx, new Float32Array(x.length), true);
      run(px, po, rows.length, 6);
      const got = get(ctx, po, x.length);
      // -3e38 - 3e38 overflows float32: a log-probability of -Infinity is the rounded answer.
      const want = Float32Array.from(softmaxRef(x, rows.length, 6, log));
      assert.equal(got.filter((v) => !Number.isFinite(v)).length, log ? 1 : 0, `${name}: ${got}`);
      assertClose(got, want, name, tol);
      ctx.heap.free(po);
      ctx.heap.free(px);
    });
    await t.step(`${name}: rows that end the memory are read no further`, () => {
      // [2, 3] flush against the end of the memory: a vector load of a row's last three
      // elements would read past it and trap.
      const x = random(6, 11);
      const end = ctx.memory.buffer.byteLength;
      const px = end - 4 * x.length;
      ctx.heap.f32().set(x, px / 4);
      const po = put(ctx, new Float32Array(6), true);
      run(px, po, 2, 3);
      assertClose(get(ctx, po, 6), softmaxRef(x, 2, 3, log), name, tol);
      assertSentinels(ctx, po, 6, name);
      run(px, px, 2, 3); // and in place
      assert.deepEqual(get(ctx, px, 6), get(ctx, po, 6));
      ctx.heap.free(po);
    });
    await t.step(`${name}: NaN poisons its row only`, () => {
      for (const n of [3, 4, 9]) {
        const x = random(3 * n, n);
        x[n + n - 1] = NaN; // in the tail of row 1 when n % 4 ≠ 0
        const px = put(ctx, x), po = put(ctx, new Float32Array(3 * n), true);
        run(px, po, 3, n);
        const got = get(ctx, po, 3 * n);
        assert.ok(got.subarray(n, 2 * n).every(Number.isNaN));
        assertClose(got, softmaxRef(x, 3, n, log), `${name} n=${n}`, tol);
        ctx.heap.free(po);
        ctx.heap.free(px);
      }
    });
  }
});

Deno.test("scatterAddRows adds rows in order, with repeated indices", async (t) => {
  const ctx = new WasmContext({ threads: 1 });
  const kernels = reduceKernels(ctx);
  let seed = 3;
  for (const inner of SIZES) {
    for (const count of SIZES) {
      await t.step(`inner ${inner}, count ${count}`, () => {
        const rows = 6;
        const o0 = random(rows * inner, seed++);
        const upd = random(count * inner, seed++, 100);
        // repeated indices, last row included, one row never hit
        const idx = Int32Array.from({ length: count }, (_, i) => [5, 0, 5, 2, 3, 5, 1][i % 7]);
        const po = ctx.heap.alloc(4 * (rows * inner + 2 * PAD)) + 4 * PAD;
        const f32 = ctx.heap.f32();
        f32.fill(SENTINEL, po / 4 - PAD, po / 4 + rows * inner + PAD);
        f32.set(o0, po / 4);
        const pu = put(ctx, upd);
        const pi = ctx.heap.alloc(4 * count);
        ctx.heap.i32().set(idx, pi / 4);
        kernels.scatterAddRows(po, pu, pi, count, inner, rows);
        const want = Float32Array.from(o0);
        for (let i = 0; i < count; i++) {
          for (let c = 0; c < inner; c++) want[idx[i] * inner + c] += upd[i * inner + c];
        }
        assert.deepEqual(get(ctx, po, rows * inner), want);
        assertSentinels(ctx, po, rows * inner, "scatter");
        assert.ok(get(ctx, po - 4 * PAD, PAD).every((v) => v === SENTINEL));
        ctx.heap.free(pi);
        ctx.heap.free(pu);
        ctx.heap.free(po - 4 * PAD);
      });
    }
  }
});

Deno.test("bad pointers and sizes are RangeErrors naming the kernel", () => {
  const ctx = new WasmContext({ threads: 1, initialPages: 32, maximumPages: 32 });
  const kernels = reduceKernels(ctx);
  const bytes = ctx.memory.buffer.byteLength;
  const p = ctx.heap.alloc(64);
  assert.throws(() => kernels.reduce("sum", p, p, 1 << 20, 1, 1), /reduce\(sum\): x \[1048576/);
  assert.throws(() => kernels.reduce("max", p, bytes, 1, 1, 1), /reduce\(max\): o \[1, 1\]/);
  assert.throws(() => kernels.reduce("min", p + 2, p, 1, 1, 1), RangeError);
  assert.throws(() => kernels.reduce("sum", p, p, 1.5, 1, 1), /bad size 1.5/);
  assert.throws(() => kernels.reduce("sum", p, p, -1, 1, 1), RangeError);
  assert.throws(() => kernels.reduce("prod" as ReduceOp, p, p, 1, 1, 1), /unknown op/);
  assert.throws(() => kernels.softmax(p, -4, 1, 4), /softmax: o \[1, 4\]/);
  assert.throws(() => kernels.logSoftmax(p, p, 1 << 20, 4), /logSoftmax: x \[1048576, 4\]/);
  const idx = ctx.heap.alloc(16);
  ctx.heap.i32().set([0, 1, 7, 2], idx / 4);
  assert.throws(() => kernels.scatterAddRows(p, p, idx, 4, 1, 4), /index 7 is out of range/);
  ctx.heap.i32()[idx / 4 + 2] = -1;
  assert.throws(() => kernels.scatterAddRows(p, p, idx, 4, 1), /idx\[2\] = -1 is negative/);
  ctx.heap.i32()[idx / 4 + 2] = bytes;
  assert.throws(() => kernels.scatterAddRows(p, p, idx, 4, 1), /scatterAddRows: o/);
  assert.throws(() => kernels.scatterAddRows(p, bytes, idx, 4, 1), /scatterAddRows: upd/);
});
