import assert from "node:assert/strict";
import { cpuBackend as cpu } from "./mod.ts";
import type { CpuBuffer } from "./_buffer.ts";
import { f32, i32, range, read, run } from "./_test_util.ts";

Deno.test("reduceSum over each axis of a [2, 3] matrix", () => {
  // [[0, 1, 2], [3, 4, 5]]
  const x = f32(range(6), [2, 3]);
  assert.deepEqual(read(run("reduceSum", [x], [3], "float32", { axes: [0] })), [3, 5, 7]);
  assert.deepEqual(read(run("reduceSum", [x], [2], "float32", { axes: [1] })), [3, 12]);
  assert.deepEqual(read(run("reduceSum", [x], [], "float32", { axes: [0, 1] })), [15]);
  const none = run("reduceSum", [x], [2, 3], "float32", { axes: [] });
  assert.deepEqual(read(none), range(6));
});

Deno.test("reductions over first, middle, last, pairs and all axes of [2, 3, 4]", async (t) => {
  // x[i, j, k] = 12 i + 4 j + k
  const x = f32(range(24), [2, 3, 4]);
  const r = (op: string, axes: number[], shape: number[]) =>
    read(run(op, [x], shape, "float32", { axes }));
  await t.step("first", () => {
    assert.deepEqual(r("reduceSum", [0], [3, 4]), range(12).map((i) => 2 * i + 12));
    assert.deepEqual(r("reduceMax", [0], [3, 4]), range(12).map((i) => i + 12));
  });
  await t.step("middle", () => {
    // sum_j (12 i + 4 j + k) = 36 i + 12 + 3 k
    assert.deepEqual(r("reduceSum", [1], [2, 4]), [12, 15, 18, 21, 48, 51, 54, 57]);
    assert.deepEqual(r("reduceMin", [1], [2, 4]), [0, 1, 2, 3, 12, 13, 14, 15]);
  });
  await t.step("last", () => {
    // sum_k = 48 i + 16 j + 6
    assert.deepEqual(r("reduceSum", [2], [2, 3]), [6, 22, 38, 54, 70, 86]);
    assert.deepEqual(r("reduceMax", [2], [2, 3]), [3, 7, 11, 15, 19, 23]);
  });
  await t.step("first and last", () => {
    // sum_{i,k} = 4 * 12 + 2 * 16 j + 2 * 6 = 60 + 32 j
    assert.deepEqual(r("reduceSum", [0, 2], [3]), [60, 92, 124]);
  });
  await t.step("all and none", () => {
    assert.deepEqual(r("reduceSum", [0, 1, 2], []), [276]);
    assert.deepEqual(r("reduceMax", [0, 1, 2], []), [23]);
    assert.deepEqual(r("reduceSum", [], [2, 3, 4]), range(24));
  });
  await t.step("prod", () => {
    const y = f32([1, 2, 3, 4, 5, 6], [2, 3]);
    assert.deepEqual(read(run("reduceProd", [y], [3], "float32", { axes: [0] })), [4, 10, 18]);
    assert.deepEqual(read(run("reduceProd", [y], [2], "float32", { axes: [1] })), [6, 120]);
  });
});

Deno.test("reductions read strided views", async (t) => {
  const x = f32(range(6), [2, 3]);
  const xt = run("transpose", [x], [3, 2], "float32", { perm: [1, 0] });
  await t.step("transposed", () => {
    // xt = [[0, 3], [1, 4], [2, 5]]
    assert.deepEqual(read(run("reduceSum", [xt], [3], "float32", { axes: [1] })), [3, 5, 7]);
    assert.deepEqual(read(run("reduceSum", [xt], [2], "float32", { axes: [0] })), [3, 12]);
    assert.deepEqual(read(run("reduceMax", [xt], [2], "float32", { axes: [0] })), [2, 5]);
    assert.deepEqual(read(run("reduceSum", [xt], [3, 2], "float32", { axes: [] })), [
      0,
      3,
      1,
      4,
      2,
      5,
    ]);
  });
  await t.step("broadcast", () => {
    const b = run("broadcast", [f32([1, 2, 3], [3])], [4, 3], "float32", { shape: [4, 3] });
    assert.deepEqual(read(run("reduceSum", [b], [3], "float32", { axes: [0] })), [4, 8, 12]);
    assert.deepEqual(read(run("reduceSum", [b], [4], "float32", { axes: [1] })), [6, 6, 6, 6]);
  });
  await t.step("slice", () => {
    const s = run("slice", [x], [2, 2], "float32", { begin: [0, 1], size: [2, 2] });
    assert.deepEqual(read(run("reduceProd", [s], [2], "float32", { axes: [1] })), [2, 20]);
  });
});

Deno.test("float32 sums accumulate in double, along the last and leading axes", () => {
  // In float32, 1e8 + 1 rounds back to 1e8, so a float32 accumulator would give 0.
  const x = f32([1e8, 1, -1e8], [3]);
  assert.deepEqual(read(run("reduceSum", [x], [], "float32", { axes: [0] })), [1]);
  const col = f32([1e8, 1, -1e8], [3, 1]);
  assert.deepEqual(read(run("reduceSum", [col], [1], "float32", { axes: [0] })), [1]);
});

Deno.test("NaN propagates through max and min and sum", () => {
  const x = f32([1, NaN, 3, 4, 5, 6], [2, 3]);
  for (const op of ["reduceMax", "reduceMin", "reduceSum"]) {
    const rows = read(run(op, [x], [2], "float32", { axes: [1] }));
    assert.ok(Number.isNaN(rows[0]), op);
    assert.ok(!Number.isNaN(rows[1]), op);
    const cols = read(run(op, [x], [3], "float32", { axes: [0] }));
    assert.ok(Number.isNaN(cols[1]) && !Number.isNaN(cols[0]), op);
  }
});

Deno.test("empty reductions give the identity", () => {
  const e = f32([], [0, 3]);
  const r = (op: string) => read(run(op, [e], [3], "float32", { axes: [0] }));
  assert.deepEqual(r("reduceSum"), [0, 0, 0]);
  assert.deepEqual(r("reduceProd"), [1, 1, 1]);
  assert.deepEqual(r("reduceMax"), [-Infinity, -Infinity, -Infinity]);
  assert.deepEqual(r("reduceMin"), [Infinity, Infinity, Infinity]);
  const ie = i32([], [2, 0]);
  assert.deepEqual(read(run("reduceMax", [ie], [2], "int32", { axes: [1] })), [
    -2147483648,
    -2147483648,
  ]);
  assert.deepEqual(read(run("reduceMin", [ie], [2], "int32", { axes: [1] })), [
    2147483647,
    2147483647,
  ]);
  assert.deepEqual(read(run("reduceSum", [ie], [0], "int32", { axes: [0] })), []);
});

Deno.test("int32 reductions wrap and stay int32", () => {
  const x = i32([2147483647, 1, -3, 65536, 65536, 1], [2, 3]);
  const s = run("reduceSum", [x], [2], "int32", { axes: [1] });
  assert.ok(cpu.readSync(s) instanceof Int32Array);
  assert.deepEqual(read(s), [2147483645, 131073]);
  assert.deepEqual(read(run("reduceSum", [x], [], "int32", { axes: [0, 1] })), [
    (2147483647 + 1 - 3 + 65536 + 65536 + 1) | 0,
  ]);
  assert.deepEqual(read(run("reduceProd", [x], [3], "int32", { axes: [0] })), [
    Math.imul(2147483647, 65536),
    65536,
    -3,
  ]);
  // 2147483647 * -3 = -6442450941, which is -2147483645 modulo 2^32.
  assert.deepEqual(read(run("reduceProd", [x], [2], "int32", { axes: [1] })), [-2147483645, 0]);
});

Deno.test("bool max and min are any and all", () => {
  const b = cpu.fromArray(new Uint8Array([1, 0, 0, 0, 1, 1]), [2, 3]);
  assert.deepEqual(read(run("reduceMax", [b], [2], "bool", { axes: [1] })), [1, 1]);
  assert.deepEqual(read(run("reduceMin", [b], [2], "bool", { axes: [1] })), [0, 0]);
  assert.deepEqual(read(run("reduceMin", [b], [3], "bool", { axes: [0] })), [0, 0, 0]);
  assert.deepEqual(read(run("reduceMax", [b], [3], "bool", { axes: [0] })), [1, 1, 1]);
});

Deno.test("float64 reductions", () => {
  const x = cpu.fromArray(new Float64Array([0.1, 0.2, 0.3]), [3]);
  const out = run("reduceSum", [x], [], "float64", { axes: [0] });
  assert.ok(cpu.readSync(out) instanceof Float64Array);
  assert.deepEqual(read(out), [0.1 + 0.2 + 0.3]);
});

Deno.test("argmax and argmin", async (t) => {
  const x = f32([1, 5, 5, 2, 7, 0], [2, 3]);
  const arg = (op: string, b: CpuBuffer, axis: number, shape: number[]) => {
    const out = run(op, [b], shape, "int32", { axis });
    assert.ok(cpu.readSync(out) instanceof Int32Array);
    return read(out);
  };
  await t.step("last axis with ties takes the first", () => {
    assert.deepEqual(arg("argmax", x, 1, [2]), [1, 1]);
    assert.deepEqual(arg("argmin", x, 1, [2]), [0, 2]);
  });
  await t.step("first axis", () => {
    assert.deepEqual(arg("argmax", x, 0, [3]), [1, 1, 0]);
    assert.deepEqual(arg("argmin", x, 0, [3]), [0, 0, 1]);
  });
  await t.step("NaN is the extreme, first NaN wins", () => {
    const n = f32([1, NaN, 9, NaN, NaN, 2, 3, 3], [2, 4]);
    assert.deepEqual(arg("argmax", n, 1, [2]), [1, 0]);
    assert.deepEqual(arg("argmin", n, 1, [2]), [1, 0]);
    const c = f32([1, 2, NaN, 0, 5, NaN], [3, 2]);
    assert.deepEqual(arg("argmax", c, 0, [2]), [1, 2]);
    assert.deepEqual(arg("argmin", c, 0, [2]), [1, 2]);
  });
  await t.step("strided input and int32", () => {
    const xt = run("transpose", [x], [3, 2], "float32", { perm: [1, 0] });
    // xt = [[1, 2], [5, 7], [5, 0]]
    assert.deepEqual(arg("argmax", xt, 0, [2]), [1, 1]);
    assert.deepEqual(arg("argmax", xt, 1, [3]), [1, 1, 0]);
    const i = i32([-3, 4, 4, -9], [4]);
    assert.deepEqual(arg("argmax", i, 0, []), [1]);
    assert.deepEqual(arg("argmin", i, 0, []), [3]);
  });
  await t.step("middle axis of a 3-D input", () => {
    // y[0] = [[0, 9], [8, 1], [8, 9]], y[1] = [[3, 3], [2, 5], [2, 5]]; ties take the first j.
    const y = f32([0, 9, 8, 1, 8, 9, 3, 3, 2, 5, 2, 5], [2, 3, 2]);
    assert.deepEqual(arg("argmax", y, 1, [2, 2]), [1, 0, 0, 1]);
    assert.deepEqual(arg("argmin", y, 1, [2, 2]), [0, 1, 1, 0]);
  });
});
