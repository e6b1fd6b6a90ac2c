import assert from "node:assert/strict";
import { ModuleBuilder, sleb128, uleb128 } from "./emitter.ts";
import { relaxedSimdSupported } from "./matmul.ts";

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
