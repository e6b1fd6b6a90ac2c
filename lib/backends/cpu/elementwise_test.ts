import assert from "node:assert/strict";
import { cpuBackend as cpu } from "./mod.ts";
import { bool, f32, f64, i32, read, run } from "./_test_util.ts";

Deno.test("unary float32 kernels match Math", async (t) => {
  const xs = [-2, -0.5, 0, 0.5, 3];
  const pos = [0.25, 0.5, 1, 2, 10];
  const cases: [string, number[], (v: number) => number][] = [
    ["neg", xs, (v) => -v],
    ["exp", xs, Math.exp],
    ["log", pos, Math.log],
    ["sqrt", pos, Math.sqrt],
    ["sin", xs, Math.sin],
    ["cos", xs, Math.cos],
    ["tanh", xs, Math.tanh],
    ["sigmoid", xs, (v) => 1 / (1 + Math.exp(-v))],
    ["abs", xs, Math.abs],
    ["sign", xs, Math.sign],
    ["log1p", pos, Math.log1p],
    ["expm1", xs, Math.expm1],
  ];
  for (const [name, input, f] of cases) {
    await t.step(name, () => {
      const out = run(name, [f32(input, [5])], [5], "float32");
      assert.ok(cpu.readSync(out) instanceof Float32Array);
      assert.deepEqual(read(out), input.map((v) => Math.fround(f(Math.fround(v)))));
    });
  }
});

Deno.test("sigmoid is stable for large |x|, and sign keeps 0 and NaN", () => {
  assert.deepEqual(read(run("sigmoid", [f32([-1000, 1000, 0, -80], [4])], [4], "float32")), [
    0,
    1,
    0.5,
    Math.fround(Math.exp(-80) / (1 + Math.exp(-80))),
  ]);
  const s = read(run("sign", [f32([NaN, 0, -3, 7], [4])], [4], "float32"));
  assert.ok(Number.isNaN(s[0]));
  assert.deepEqual(s.slice(1), [0, -1, 1]);
  assert.ok(Number.isNaN(read(run("log", [f32([-1], [1])], [1], "float32"))[0]));
});

Deno.test("unary int32 neg/abs/sign wrap as int32", () => {
  const x = i32([-2147483648, -5, 0, 7], [4]);
  assert.deepEqual(read(run("neg", [x], [4], "int32")), [-2147483648, 5, 0, -7]);
  assert.deepEqual(read(run("abs", [x], [4], "int32")), [-2147483648, 5, 0, 7]);
  assert.deepEqual(read(run("sign", [x], [4], "int32")), [-1, -1, 0, 1]);
  assert.ok(cpu.readSync(run("neg", [x], [4], "int32")) instanceof Int32Array);
});

Deno.test("unary float64 keeps double precision", () => {
  const out = run("exp", [f64([1, 0.1], [2])], [2], "float64");
  assert.ok(cpu.readSync(out) instanceof Float64Array);
  assert.deepEqual(read(out), [Math.E, Math.exp(0.1)]);
});

Deno.test("unary kernels read strided views", () => {
  const x = f32([1, 2, 3, 4, 5, 6], [2, 3]);
  const xt = run("transpose", [x], [3, 2], "float32", { perm: [1, 0] });
  assert.deepEqual(read(run("neg", [xt], [3, 2], "float32")), [-1, -4, -2, -5, -3, -6]);
  const col = run("slice", [x], [2, 1], "float32", { begin: [0, 1], size: [2, 1] });
  assert.deepEqual(read(run("abs", [col], [2, 1], "float32")), [2, 5]);
});

Deno.test("binary float32 kernels", () => {
  const a = f32([1, -2, 3, 0.5], [2, 2]);
  const b = f32([4, 5, -6, 2], [2, 2]);
  const r = (name: string) => read(run(name, [a, b], [2, 2], "float32"));
  assert.deepEqual(r("add"), [5, 3, -3, 2.5]);
  assert.deepEqual(r("sub"), [-3, -7, 9, -1.5]);
  assert.deepEqual(r("mul"), [4, -10, -18, 1]);
  assert.deepEqual(r("div"), [0.25, -0.4, -0.5, 0.25].map(Math.fround));
  assert.deepEqual(r("pow"), [1, -32, Math.fround(1 / 729), 0.25]);
  assert.deepEqual(r("max"), [4, 5, 3, 2]);
  assert.deepEqual(r("min"), [1, -2, -6, 0.5]);
});

Deno.test("float max/min propagate NaN; division by zero is IEEE", () => {
  const a = f32([NaN, 1, 1, -1], [4]);
  const b = f32([1, NaN, 0, 0], [4]);
  const mx = read(run("max", [a, b], [4], "float32"));
  const mn = read(run("min", [a, b], [4], "float32"));
  assert.ok(Number.isNaN(mx[0]) && Number.isNaN(mx[1]) && Number.isNaN(mn[0]));
  assert.ok(Number.isNaN(mn[1]));
  assert.deepEqual(read(run("div", [a, b], [4], "float32")).slice(2), [Infinity, -Infinity]);
});

Deno.test("binary int32 wraps, truncates and divides by zero to 0", () => {
  const r = (name: string, a: number[], b: number[]) =>
    read(run(name, [i32(a, [a.length]), i32(b, [b.length])], [a.length], "int32"));
  assert.deepEqual(r("add", [2147483647, -2147483648], [1, -1]), [-2147483648, 2147483647]);
  assert.deepEqual(r("sub", [-2147483648, 5], [1, 7]), [2147483647, -2]);
  assert.deepEqual(r("mul", [65536, 123456789, -3], [65536, 987654321, 4]), [
    0,
    Math.imul(123456789, 987654321),
    -12,
  ]);
  assert.deepEqual(r("div", [7, -7, 7, -7, 5, 0], [2, 2, -2, -2, 0, 0]), [3, -3, -3, 3, 0, 0]);
  assert.deepEqual(r("pow", [2, 3, 2, -1, 1, -2], [10, 0, -1, -1, -5, 3]), [
    1024,
    1,
    0,
    -1,
    1,
    -8,
  ]);
  assert.deepEqual(r("max", [-5, 3], [2, -9]), [2, 3]);
  assert.deepEqual(r("min", [-5, 3], [2, -9]), [-5, -9]);
});

Deno.test("binary float64", () => {
  const out = run("add", [f64([0.1], [1]), f64([0.2], [1])], [1], "float64");
  assert.deepEqual(read(out), [0.1 + 0.2]);
});

Deno.test("binary kernels read broadcast and transposed views", async (t) => {
  const x = f32([1, 2, 3, 4, 5, 6], [2, 3]);
  await t.step("broadcast scalar", () => {
    const s = run("broadcast", [f32([10], [])], [2, 3], "float32", { shape: [2, 3] });
    assert.deepEqual(read(run("add", [x, s], [2, 3], "float32")), [11, 12, 13, 14, 15, 16]);
    assert.deepEqual(read(run("sub", [s, x], [2, 3], "float32")), [9, 8, 7, 6, 5, 4]);
  });
  await t.step("broadcast row and column", () => {
    const row = run("broadcast", [f32([1, 10, 100], [3])], [2, 3], "float32", { shape: [2, 3] });
    const col = run("broadcast", [f32([1, -1], [2, 1])], [2, 3], "float32", { shape: [2, 3] });
    assert.deepEqual(read(run("mul", [x, row], [2, 3], "float32")), [1, 20, 300, 4, 50, 600]);
    assert.deepEqual(read(run("mul", [x, col], [2, 3], "float32")), [1, 2, 3, -4, -5, -6]);
    assert.deepEqual(read(run("add", [row, col], [2, 3], "float32")), [2, 11, 101, 0, 9, 99]);
  });
  await t.step("transposed with contiguous", () => {
    const y = f32([1, 2, 3, 4, 5, 6], [3, 2]);
    const yt = run("transpose", [y], [2, 3], "float32", { perm: [1, 0] });
    // yt = [[1, 3, 5], [2, 4, 6]]
    assert.deepEqual(read(run("sub", [x, yt], [2, 3], "float32")), [0, -1, -2, 2, 1, 0]);
  });
  await t.step("slice of a slice", () => {
    const s = run("slice", [x], [2, 2], "float32", { begin: [0, 1], size: [2, 2] });
    const one = run("broadcast", [f32([1], [])], [2, 2], "float32", { shape: [2, 2] });
    assert.deepEqual(read(run("add", [s, one], [2, 2], "float32")), [3, 4, 6, 7]);
  });
});

Deno.test("empty shapes and scalars", () => {
  const e = f32([], [0, 3]);
  const out = run("add", [e, e], [0, 3], "float32");
  assert.deepEqual(read(out), []);
  assert.deepEqual(out.shape, [0, 3]);
  assert.deepEqual(read(run("exp", [e], [0, 3], "float32")), []);
  assert.deepEqual(read(run("lt", [e, e], [0, 3], "bool")), []);
  const s = f32([3], []);
  assert.deepEqual(read(run("mul", [s, s], [], "float32")), [9]);
  assert.deepEqual(run("mul", [s, s], [], "float32").shape, []);
});

Deno.test("comparisons give bool with IEEE NaN semantics", () => {
  const a = f32([1, 2, NaN, 3], [4]);
  const b = f32([1, 3, NaN, 2], [4]);
  const r = (name: string) => {
    const out = run(name, [a, b], [4], "bool");
    assert.ok(cpu.readSync(out) instanceof Uint8Array);
    return read(out);
  };
  assert.deepEqual(r("eq"), [1, 0, 0, 0]);
  assert.deepEqual(r("ne"), [0, 1, 1, 1]);
  assert.deepEqual(r("lt"), [0, 1, 0, 0]);
  assert.deepEqual(r("le"), [1, 1, 0, 0]);
  assert.deepEqual(r("gt"), [0, 0, 0, 1]);
  assert.deepEqual(r("ge"), [1, 0, 0, 1]);
  const ia = i32([-1, 5], [2]);
  const ib = run("broadcast", [i32([0], [])], [2], "int32", { shape: [2] });
  assert.deepEqual(read(run("gt", [ia, ib], [2], "bool")), [0, 1]);
});

Deno.test("select picks elementwise, with a broadcast condition", () => {
  const c = bool([1, 0, 1], [3]);
  const a = f32([1, 2, 3], [3]);
  const b = f32([-1, -2, -3], [3]);
  assert.deepEqual(read(run("select", [c, a, b], [3], "float32")), [1, -2, 3]);
  const cb = run("broadcast", [bool([0, 1], [2, 1])], [2, 3], "bool", { shape: [2, 3] });
  const x = i32([1, 2, 3, 4, 5, 6], [2, 3]);
  const y = run("broadcast", [i32([0], [])], [2, 3], "int32", { shape: [2, 3] });
  assert.deepEqual(read(run("select", [cb, x, y], [2, 3], "int32")), [0, 0, 0, 4, 5, 6]);
});

Deno.test("convert", async (t) => {
  await t.step("float to int32 truncates toward zero, NaN to 0", () => {
    const x = f32([1.9, -1.9, 0.5, NaN, -0], [5]);
    const out = run("convert", [x], [5], "int32", { dtype: "int32" });
    assert.ok(cpu.readSync(out) instanceof Int32Array);
    assert.deepEqual(read(out), [1, -1, 0, 0, 0]);
  });
  await t.step("to bool is x != 0 and NaN is true", () => {
    const x = f32([0, -0, 2, NaN, -0.1], [5]);
    assert.deepEqual(read(run("convert", [x], [5], "bool", { dtype: "bool" })), [0, 0, 1, 1, 1]);
    const i = i32([0, 256, -1], [3]);
    assert.deepEqual(read(run("convert", [i], [3], "bool", { dtype: "bool" })), [0, 1, 1]);
  });
  await t.step("bool and int32 to floats", () => {
    const b = run("convert", [bool([1, 0], [2])], [2], "float32", { dtype: "float32" });
    assert.ok(cpu.readSync(b) instanceof Float32Array);
    assert.deepEqual(read(b), [1, 0]);
    const i = run("convert", [i32([-7, 2147483647], [2])], [2], "float64", { dtype: "float64" });
    assert.deepEqual(read(i), [-7, 2147483647]);
  });
  await t.step("float64 to float32 rounds", () => {
    const out = run("convert", [f64([0.1], [1])], [1], "float32", { dtype: "float32" });
    assert.deepEqual(read(out), [Math.fround(0.1)]);
  });
  await t.step("reads strided views", () => {
    const x = f32([1.5, 2.5, 3.5, 4.5], [2, 2]);
    const xt = run("transpose", [x], [2, 2], "float32", { perm: [1, 0] });
    assert.deepEqual(read(run("convert", [xt], [2, 2], "int32", { dtype: "int32" })), [
      1,
      3,
      2,
      4,
    ]);
    const z = run("broadcast", [f32([0], [])], [3], "float32", { shape: [3] });
    assert.deepEqual(read(run("convert", [z], [3], "bool", { dtype: "bool" })), [0, 0, 0]);
  });
});

Deno.test("stopGradient returns its input buffer", () => {
  const x = f32([1, 2], [2]);
  assert.equal(run("stopGradient", [x], [2], "float32"), x);
});

Deno.test("bool arithmetic stays 0/1", () => {
  const a = bool([1, 1, 0], [3]);
  assert.deepEqual(read(run("add", [a, a], [3], "bool")), [1, 1, 0]);
  assert.deepEqual(read(run("max", [a, bool([0, 0, 1], [3])], [3], "bool")), [1, 1, 1]);
});
