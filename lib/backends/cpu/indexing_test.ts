import assert from "node:assert/strict";
import type { DType } from "../../core/dtype.ts";
import { cpuBackend as cpu } from "./mod.ts";
import { f32, i32, read, run } from "./_test_util.ts";

Deno.test("gather", async (t) => {
  // x = [[0, 1], [10, 11], [20, 21]]
  const x = f32([0, 1, 10, 11, 20, 21], [3, 2]);
  await t.step("rows along axis 0", () => {
    const idx = i32([2, 0, 2], [3]);
    assert.deepEqual(read(run("gather", [x, idx], [3, 2], "float32", { axis: 0 })), [
      20,
      21,
      0,
      1,
      20,
      21,
    ]);
  });
  await t.step("columns along axis 1 with a 2-D index", () => {
    const idx = i32([1, 0, 1, 1], [2, 2]);
    const out = run("gather", [x, idx], [3, 2, 2], "float32", { axis: 1 });
    assert.deepEqual(read(out), [1, 0, 1, 1, 11, 10, 11, 11, 21, 20, 21, 21]);
  });
  await t.step("negative indices count from the end, others clamp", () => {
    const idx = i32([-1, -3, -4, 3, 100, -100], [6]);
    assert.deepEqual(read(run("gather", [x, idx], [6, 2], "float32", { axis: 0 })), [
      20,
      21,
      0,
      1,
      0,
      1,
      20,
      21,
      20,
      21,
      0,
      1,
    ]);
  });
  await t.step("from a transposed view and with a scalar index", () => {
    const xt = run("transpose", [x], [2, 3], "float32", { perm: [1, 0] });
    const idx = i32([2, 1], [2]);
    assert.deepEqual(read(run("gather", [xt, idx], [2, 2], "float32", { axis: 1 })), [
      20,
      10,
      21,
      11,
    ]);
    const s = i32([1], []);
    assert.deepEqual(read(run("gather", [x, s], [2], "float32", { axis: 0 })), [10, 11]);
  });
  await t.step("with a broadcast index and int32 data", () => {
    const data = i32([5, 6, 7], [3]);
    const idx = run("broadcast", [i32([2], [])], [4], "int32", { shape: [4] });
    assert.deepEqual(read(run("gather", [data, idx], [4], "int32", { axis: 0 })), [7, 7, 7, 7]);
  });
  await t.step("empty index", () => {
    const idx = i32([], [0]);
    assert.deepEqual(read(run("gather", [x, idx], [0, 2], "float32", { axis: 0 })), []);
  });
  await t.step("long rows", () => {
    const n = 100;
    const big = f32(Array.from({ length: 3 * n }, (_, i) => i), [3, n]);
    const out = read(run("gather", [big, i32([2, 0], [2])], [2, n], "float32", { axis: 0 }));
    assert.deepEqual(out, [
      ...Array.from({ length: n }, (_, i) => 2 * n + i),
      ...Array.from({ length: n }, (_, i) => i),
    ]);
  });
});

Deno.test("scatterAdd", async (t) => {
  await t.step("repeated indices accumulate and out-of-range ones are dropped", () => {
    const upd = f32([1, 2, 4, 8, 16, 32], [6]);
    const idx = i32([0, 2, 0, -1, 3, -5], [6]);
    const out = run("scatterAdd", [upd, idx], [3], "float32", { axis: 0, size: 3 });
    // 0 <- 1 + 4, 2 <- 2 + 8 (via -1), 3 and -5 (= -2) are out of range.
    assert.deepEqual(read(out), [5, 0, 10]);
  });
  await t.step("rows along axis 0", () => {
    const upd = f32([1, 2, 3, 4, 5, 6], [3, 2]);
    const idx = i32([1, 1, 0], [3]);
    const out = run("scatterAdd", [upd, idx], [2, 2], "float32", { axis: 0, size: 2 });
    assert.deepEqual(read(out), [5, 6, 4, 6]);
  });
  await t.step("along axis 1 with a 2-D index", () => {
    // upd [2, 2, 2, 1]: pre = 2, index dims [2, 2], post = 1
    const upd = f32([1, 2, 3, 4, 10, 20, 30, 40], [2, 2, 2, 1]);
    const idx = i32([0, 2, 2, 9], [2, 2]);
    const out = run("scatterAdd", [upd, idx], [2, 3, 1], "float32", { axis: 1, size: 3 });
    assert.deepEqual(read(out), [1, 0, 5, 10, 0, 50]);
  });
  await t.step("from a strided update and int32", () => {
    const u = i32([1, 2, 3, 4], [2, 2]);
    const ut = run("transpose", [u], [2, 2], "int32", { perm: [1, 0] });
    // ut = [[1, 3], [2, 4]]
    const out = run("scatterAdd", [ut, i32([1, 1], [2])], [2, 2], "int32", { axis: 1, size: 2 });
    assert.ok(cpu.readSync(out) instanceof Int32Array);
    assert.deepEqual(read(out), [0, 4, 0, 6]);
    const wrap = run("scatterAdd", [i32([2147483647, 1], [2]), i32([0, 0], [2])], [1], "int32", {
      axis: 0,
      size: 1,
    });
    assert.deepEqual(read(wrap), [-2147483648]);
  });
  await t.step("empty update gives zeros", () => {
    const out = run("scatterAdd", [f32([], [0]), i32([], [0])], [2], "float32", {
      axis: 0,
      size: 2,
    });
    assert.deepEqual(read(out), [0, 0]);
  });
});

Deno.test("iota", () => {
  const r = (shape: number[], axis: number, dtype: DType) =>
    read(run("iota", [], shape, dtype, { shape, axis, dtype, device: "cpu" }));
  assert.deepEqual(r([4], 0, "int32"), [0, 1, 2, 3]);
  assert.deepEqual(r([2, 3], 0, "float32"), [0, 0, 0, 1, 1, 1]);
  assert.deepEqual(r([2, 3], 1, "int32"), [0, 1, 2, 0, 1, 2]);
  assert.deepEqual(r([2, 2, 2], 1, "float64"), [0, 0, 1, 1, 0, 0, 1, 1]);
  assert.deepEqual(r([0, 3], 1, "int32"), []);
  const out = run("iota", [], [3], "float32", { shape: [3], axis: 0, dtype: "float32" });
  assert.ok(cpu.readSync(out) instanceof Float32Array);
});
