import assert from "node:assert/strict";
import { ModuleBuilder, sleb128, uleb128 } from "./_emitter.ts";
import { relaxedSimdSupported } from "./_matmul.ts";

function instantiate(mb: ModuleBuilder, memory?: WebAssembly.Memory): WebAssembly.Exports {
  const bytes = mb.toBytes();
  assert.ok(WebAssembly.validate(bytes), "module must validate");
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), memory ? { env: { memory } } : {})
    .exports;
}

Deno.test("uleb128 encodes unsigned integers", () => {
  assert.deepEqual(uleb128(0), [0x00]);
  assert.deepEqual(uleb128(127), [0x7f]);
  assert.deepEqual(uleb128(128), [0x80, 0x01]);
  assert.deepEqual(uleb128(0x105), [0x85, 0x02]); // relaxed_madd's opcode
  assert.deepEqual(uleb128(624485), [0xe5, 0x8e, 0x26]);
  assert.deepEqual(uleb128(2 ** 32 - 1), [0xff, 0xff, 0xff, 0xff, 0x0f]);
  assert.deepEqual(uleb128(2n ** 64n - 1n), [...Array(9).fill(0xff), 0x01]);
  assert.throws(() => uleb128(-1), RangeError);
});

Deno.test("sleb128 encodes signed integers", () => {
  assert.deepEqual(sleb128(0), [0x00]);
  assert.deepEqual(sleb128(-1), [0x7f]);
  assert.deepEqual(sleb128(63), [0x3f]);
  assert.deepEqual(sleb128(64), [0xc0, 0x00]);
  assert.deepEqual(sleb128(-64), [0x40]);
  assert.deepEqual(sleb128(-65), [0xbf, 0x7f]);
  assert.deepEqual(sleb128(-123456), [0xc0, 0xbb, 0x78]);
  assert.deepEqual(sleb128(2 ** 31 - 1), [0xff, 0xff, 0xff, 0xff, 0x07]);
  assert.deepEqual(sleb128(-(2 ** 31)), [0x80, 0x80, 0x80, 0x80, 0x78]);
  assert.deepEqual(sleb128(-(2n ** 63n)), [...Array(9).fill(0x80), 0x7f]);
});

Deno.test("i32.const round-trips through the engine for edge values", () => {
  const values = [0, 1, -1, 63, 64, -64, -65, 8191, -8192, 2 ** 31 - 1, -(2 ** 31)];
  const mb = new ModuleBuilder();
  values.forEach((v, i) => mb.addFunction(`c${i}`, [], ["i32"], (f) => f.i32.const(v)));
  const ex = instantiate(mb) as Record<string, () => number>;
  values.forEach((v, i) => assert.equal(ex[`c${i}`](), v));
});

Deno.test("empty module and a shared-memory import validate", () => {
  assert.ok(WebAssembly.validate(new ModuleBuilder().toBytes()));
  const mb = new ModuleBuilder().importMemory("env", "memory", {
    initial: 1,
    maximum: 10,
    shared: true,
  });
  assert.ok(WebAssembly.validate(mb.toBytes()));
  assert.throws(() => new ModuleBuilder().importMemory("env", "m", { initial: 1, shared: true }));
});

Deno.test("loops, branches, if/else with a result and calls", () => {
  const mb = new ModuleBuilder();
  // sum(n) = 0 + 1 + ... + (n-1), with forRange
  const sum = mb.addFunction("sum", ["i32"], ["i32"], (f) => {
    const i = f.addLocal("i32"), s = f.addLocal("i32");
    f.forRange(i, 0, f.param(0), 1, () => {
      f.local.get(s).local.get(i).i32.add().local.set(s);
    });
    f.local.get(s);
  });
  // first power of two >= n, with block/loop/brIf
  mb.addFunction("pow2", ["i32"], ["i32"], (f) => {
    const p = f.addLocal("i32");
    f.i32.const(1).local.set(p);
    f.block((done) => {
      f.loop((top) => {
        f.local.get(p).local.get(f.param(0)).i32.ge_s().brIf(done);
        f.local.get(p).i32.const(1).i32.shl().local.set(p).br(top);
      });
    });
    f.local.get(p);
  });
  mb.addFunction("abs", ["i32"], ["i32"], (f) => {
    const x = f.param(0);
    f.local.get(x).i32.const(0).i32.lt_s();
    f.if(() => f.i32.const(0).local.get(x).i32.sub(), () => f.local.get(x), "i32");
  });
  mb.addFunction("twice", ["i32"], ["i32"], (f) => {
    f.local.get(f.param(0)).call(sum).local.get(f.param(0)).call(sum).i32.add();
  });
  const ex = instantiate(mb) as Record<string, (x: number) => number>;
  assert.equal(ex.sum(0), 0);
  assert.equal(ex.sum(10), 45);
  assert.equal(ex.pow2(100), 128);
  assert.equal(ex.abs(-7), 7);
  assert.equal(ex.abs(5), 5);
  assert.equal(ex.twice(4), 12);
});

Deno.test("a branch to a label outside its construct throws at build time", () => {
  const mb = new ModuleBuilder();
  assert.throws(() =>
    mb.addFunction("bad", [], [], (f) => {
      let outer: { depth: number } | undefined;
      f.block((l) => (outer = l));
      f.block(() => f.block(() => f.br({ depth: outer!.depth + 5 })));
    })
  );
});

Deno.test("SIMD loads, stores, splats, arithmetic and lane ops compute in shared memory", () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const mb = new ModuleBuilder().importMemory("env", "memory", {
    initial: 1,
    maximum: 1,
    shared: true,
  });
  // out[0..4] = x[0..4] * splat(s) + y[0..4]; returns lane 2 of the result + lane 0 of y
  mb.addFunction("axpy", ["i32", "i32", "i32", "f32"], ["f32"], (f) => {
    const [x, y, out, s] = [0, 1, 2, 3].map((i) => f.param(i));
    const v = f.addLocal("v128");
    f.local.get(x).v128.load().local.get(s).f32x4.splat().f32x4.mul();
    f.local.get(y).v128.load().f32x4.add().local.set(v);
    f.local.get(out).local.get(v).v128.store();
    f.local.get(v).f32x4.extract_lane(2).local.get(y).v128.load32_splat().f32x4.extract_lane(3)
      .f32.add();
  });
  // replace lane 1 of a zero vector, store lanes individually, and a v128.const
  mb.addFunction("lanes", ["i32"], [], (f) => {
    const out = f.param(0);
    f.local.get(out);
    f.v128.const(new Uint8Array(16)).f32.const(7.5).f32x4.replace_lane(1);
    f.v128.store64_lane(0, 0);
    f.local.get(out).v128.const(new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer));
    f.v128.store32_lane(3, 8);
    f.local.get(out).local.get(out).v128.load64_zero(8).v128.store(16);
  });
  const ex = instantiate(mb, memory) as {
    axpy: (x: number, y: number, out: number, s: number) => number;
    lanes: (out: number) => void;
  };
  const f32 = new Float32Array(memory.buffer);
  f32.set([1, 2, 3, 4], 0);
  f32.set([10, 20, 30, 40], 4);
  const r = ex.axpy(0, 16, 32, 2);
  assert.deepEqual([...f32.slice(8, 12)], [12, 24, 36, 48]);
  assert.equal(r, 36 + 10);
  ex.lanes(64);
  assert.deepEqual([...f32.slice(16, 19)], [0, 7.5, 4]);
  assert.deepEqual([...f32.slice(20, 24)], [4, 0, 0, 0]);
});

Deno.test("f32x4.relaxed_madd computes a*b+c where the engine supports relaxed SIMD", () => {
  const mb = new ModuleBuilder().importMemory("env", "memory", {
    initial: 1,
    maximum: 1,
    shared: true,
  });
  mb.addFunction("madd", ["i32"], [], (f) => {
    const p = f.param(0);
    f.local.get(p);
    f.local.get(p).v128.load(0).local.get(p).v128.load(16).local.get(p).v128.load(32);
    f.f32x4.relaxed_madd().v128.store(48);
  });
  const bytes = mb.toBytes();
  assert.equal(WebAssembly.validate(bytes), relaxedSimdSupported());
  if (!relaxedSimdSupported()) return;
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } })
    .exports as { madd: (p: number) => void };
  const f32 = new Float32Array(memory.buffer);
  f32.set([1, 2, 3, 4, 5, 6, 7, 8, 0.5, 0.5, 0.5, 0.5]);
  ex.madd(0);
  assert.deepEqual([...f32.slice(12, 16)], [5.5, 12.5, 21.5, 32.5]);
});

Deno.test("f32/f64 scalar ops and conversions", () => {
  const mb = new ModuleBuilder();
  type Bin = "add" | "sub" | "mul" | "div" | "min" | "max";
  const ops: Bin[] = ["add", "sub", "mul", "div", "min", "max"];
  for (const op of ops) {
    mb.addFunction(`f64_${op}`, ["f64", "f64"], ["f64"], (f) => {
      f.local.get(f.param(0)).local.get(f.param(1)).f64[op]();
    });
  }
  for (const op of ["min", "max"] as const) {
    mb.addFunction(`f32_${op}`, ["f32", "f32"], ["f32"], (f) => {
      f.local.get(f.param(0)).local.get(f.param(1)).f32[op]();
    });
  }
  mb.addFunction("f32_neg_abs", ["f32"], ["f32"], (f) => {
    f.local.get(f.param(0)).f32.abs().f32.neg();
  });
  mb.addFunction("f64_neg_abs", ["f64"], ["f64"], (f) => {
    f.local.get(f.param(0)).f64.abs().f64.neg();
  });
  mb.addFunction("round_trip", ["f64"], ["f64"], (f) => {
    f.local.get(f.param(0)).f32.demote_f64().f64.promote_f32();
  });
  mb.addFunction("f64_const", [], ["f64"], (f) => f.f64.const(Math.PI));
  const ex = instantiate(mb) as Record<string, (...a: number[]) => number>;
  const refs: Record<Bin, (a: number, b: number) => number> = {
    add: (a, b) => a + b,
    sub: (a, b) => a - b,
    mul: (a, b) => a * b,
    div: (a, b) => a / b,
    min: Math.min,
    max: Math.max,
  };
  for (const op of ops) {
    for (const [a, b] of [[0.1, 0.7], [-0, 0], [0, -0], [NaN, 1], [3, -Infinity]]) {
      assert.ok(Object.is(ex[`f64_${op}`](a, b), refs[op](a, b)), `f64.${op}(${a}, ${b})`);
    }
  }
  assert.ok(Object.is(ex.f32_min(-0, 0), -0));
  assert.ok(Object.is(ex.f32_max(-0, 0), 0));
  assert.ok(Number.isNaN(ex.f32_max(NaN, 1)));
  assert.equal(ex.f32_min(1.5, -2), -2);
  assert.equal(ex.f32_neg_abs(3), -3);
  assert.equal(ex.f64_neg_abs(-0.1), -0.1);
  assert.equal(ex.round_trip(0.1), Math.fround(0.1));
  assert.equal(ex.f64_const(), Math.PI);
});

Deno.test("f64x2 lanes, arithmetic, promote/demote and f64 memory access", () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const mb = new ModuleBuilder().importMemory("env", "memory", {
    initial: 1,
    maximum: 1,
    shared: true,
  });
  // at p: four f32 [a b c d]; writes f64 [a, b] + [c, d] (via promote) at p + 16, then
  // [a*c, b*d] - [0.5, 0.5] at p + 32, demotes [a, b] / 2 into f32 lanes at p + 48
  mb.addFunction("lanes", ["i32"], ["f64"], (f) => {
    const p = f.param(0), v = f.addLocal("v128"), w = f.addLocal("v128");
    f.local.get(p).v128.load().local.tee(v).f64x2.promote_low_f32x4().local.set(w);
    f.local.get(p).local.get(w);
    f.local.get(v).local.get(v).i8x16.shuffle([8, 9, 10, 11, 12, 13, 14, 15, ...Array(8).fill(0)]);
    f.f64x2.promote_low_f32x4().f64x2.add().v128.store(16);
    f.local.get(p).local.get(w);
    f.local.get(v).local.get(v).i8x16.shuffle([8, 9, 10, 11, 12, 13, 14, 15, ...Array(8).fill(0)]);
    f.f64x2.promote_low_f32x4().f64x2.mul().f64.const(0.5).f64x2.splat().f64x2.sub();
    f.v128.store(32);
    f.local.get(p).local.get(w).f64.const(2).f64x2.splat().f64x2.div();
    f.f32x4.demote_f64x2_zero().v128.store(48);
    // returns max(lane 0, lane 1 replaced by 9) + min of the stored pair + f64.load
    f.local.get(w).f64.const(9).f64x2.replace_lane(1).local.get(w).f64x2.max();
    f.f64x2.extract_lane(1);
    f.local.get(w).local.get(w).f64x2.min().f64x2.extract_lane(0).f64.add();
    f.local.get(p).f64.load(16).f64.add();
    f.local.get(p).local.get(p).f64.load(24).f64.store(64);
  });
  const ex = instantiate(mb, memory) as { lanes: (p: number) => number };
  const f32 = new Float32Array(memory.buffer), f64 = new Float64Array(memory.buffer);
  f32.set([1.5, 2.25, 3, 4]);
  assert.equal(ex.lanes(0), 9 + 1.5 + 4.5);
  assert.deepEqual([...f64.slice(2, 6)], [4.5, 6.25, 4, 8.5]);
  assert.deepEqual([...f32.slice(12, 16)], [0.75, 1.125, 0, 0]);
  assert.equal(f64[8], 6.25);
});

Deno.test("imported functions come first in the function index space", () => {
  const mb = new ModuleBuilder();
  const log = mb.importFunction("env", "log", ["f64"], ["f64"]);
  assert.equal(log, 0);
  const twice = mb.addFunction("twice", ["f64"], ["f64"], (f) => {
    f.local.get(f.param(0)).call(log).f64.const(2).f64.mul();
  });
  assert.equal(twice, 1);
  mb.addFunction("call_twice", ["f64"], ["f64"], (f) => f.local.get(f.param(0)).call(twice));
  assert.throws(() => mb.importFunction("env", "exp", ["f64"], ["f64"]), /before any is added/);
  const bytes = mb.toBytes();
  assert.ok(WebAssembly.validate(bytes));
  const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { log: Math.log } })
    .exports as { call_twice: (x: number) => number };
  assert.equal(ex.call_twice(Math.E), 2);
});
