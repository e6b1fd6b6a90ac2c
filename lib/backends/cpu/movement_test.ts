import assert from "node:assert/strict";
import { cpuBackend as cpu } from "./mod.ts";
import { f32, i32, range, read, run } from "./_test_util.ts";

Deno.test("reshape", async (t) => {
  const x = f32(range(6), [2, 3]);
  await t.step("of a dense buffer is a view", () => {
    const y = run("reshape", [x], [3, 2], "float32", { shape: [3, 2] });
    assert.equal(y.data, x.data);
    assert.deepEqual(y.shape, [3, 2]);
    assert.deepEqual(read(y), range(6));
  });
  await t.step("of a dense slice is a view at an offset", () => {
    const s = run("slice", [x], [1, 3], "float32", { begin: [1, 0], size: [1, 3] });
    const y = run("reshape", [s], [3], "float32", { shape: [3] });
    assert.equal(y.data, x.data);
    assert.deepEqual(read(y), [3, 4, 5]);
  });
  await t.step("of a transposed view copies in logical order", () => {
    const xt = run("transpose", [x], [3, 2], "float32", { perm: [1, 0] });
    const y = run("reshape", [xt], [6], "float32", { shape: [6] });
    assert.deepEqual(read(y), [0, 3, 1, 4, 2, 5]);
  });
  await t.step("of a strided view is a view where its runs stay evenly strided", () => {
    // A step of a transposed stack: [4, 2, 3] read as [2, 4, 3], its step [1, 4, 3] → [4, 3].
    const stack = f32(range(24), [4, 2, 3]);
    const timeMajor = run("transpose", [stack], [2, 4, 3], "float32", { perm: [1, 0, 2] });
    const step = run("slice", [timeMajor], [1, 4, 3], "float32", {
      begin: [1, 0, 0],
      size: [1, 4, 3],
    });
    const y = run("reshape", [step], [4, 3], "float32", { shape: [4, 3] });
    assert.equal(y.data, stack.data);
    assert.deepEqual(read(y), [3, 4, 5, 9, 10, 11, 15, 16, 17, 21, 22, 23]);
    // Rows of a wider buffer split into blocks, with size-1 dimensions anywhere.
    const rows = run("slice", [f32(range(24), [4, 6])], [4, 4], "float32", {
      begin: [0, 1],
      size: [4, 4],
    });
    const split = run("reshape", [rows], [2, 1, 2, 2, 2], "float32", { shape: [2, 1, 2, 2, 2] });
    assert.equal(split.data, rows.data);
    assert.deepEqual(read(split), [1, 2, 3, 4, 7, 8, 9, 10, 13, 14, 15, 16, 19, 20, 21, 22]);
    // Merging those rows needs a copy.
    const merged = run("reshape", [rows], [16], "float32", { shape: [16] });
    assert.notEqual(merged.data, rows.data);
    assert.deepEqual(read(merged), read(split));
  });
  await t.step("to and from scalars and empty shapes", () => {
    const s = run("reshape", [f32([7], [1, 1])], [], "float32", { shape: [] });
    assert.deepEqual(s.shape, []);
    assert.deepEqual(read(s), [7]);
    const e = run("reshape", [f32([], [0, 3])], [3, 0], "float32", { shape: [3, 0] });
    assert.deepEqual(read(e), []);
  });
});

Deno.test("broadcast uses stride 0 and reads correctly", () => {
  const row = run("broadcast", [f32([1, 2, 3], [3])], [2, 3], "float32", { shape: [2, 3] });
  assert.deepEqual(row.strides, [0, 1]);
  assert.deepEqual(read(row), [1, 2, 3, 1, 2, 3]);
  const col = run("broadcast", [f32([1, 2], [2, 1])], [2, 3], "float32", { shape: [2, 3] });
  assert.deepEqual(col.strides, [1, 0]);
  assert.deepEqual(read(col), [1, 1, 1, 2, 2, 2]);
  const s = run("broadcast", [i32([5], [])], [2, 2], "int32", { shape: [2, 2] });
  assert.deepEqual(read(s), [5, 5, 5, 5]);
  const mid = run("broadcast", [f32([1, 2, 3], [1, 3])], [2, 1, 3], "float32", {
    shape: [2, 1, 3],
  });
  assert.deepEqual(read(mid), [1, 2, 3, 1, 2, 3]);
  const x = f32(range(6), [2, 3]);
  const xt = run("transpose", [x], [3, 2], "float32", { perm: [1, 0] });
  const bt = run("broadcast", [xt], [2, 3, 2], "float32", { shape: [2, 3, 2] });
  assert.deepEqual(read(bt), [0, 3, 1, 4, 2, 5, 0, 3, 1, 4, 2, 5]);
  const e = run("broadcast", [f32([1], [1])], [0, 1], "float32", { shape: [0, 1] });
  assert.deepEqual(read(e), []);
});

Deno.test("transpose permutes dimensions as views", () => {
  // x[i, j, k] = 12 i + 4 j + k, shape [2, 3, 4]
  const x = f32(range(24), [2, 3, 4]);
  const y = run("transpose", [x], [4, 2, 3], "float32", { perm: [2, 0, 1] });
  assert.equal(y.data, x.data);
  const expected: number[] = [];
  for (let k = 0; k < 4; k++) {
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) expected.push(12 * i + 4 * j + k);
  }
  assert.deepEqual(read(y), expected);
  const back = run("transpose", [y], [2, 3, 4], "float32", { perm: [1, 2, 0] });
  assert.deepEqual(read(back), range(24));
});

Deno.test("slice", () => {
  const x = f32(range(12), [3, 4]);
  const s = run("slice", [x], [2, 2], "float32", { begin: [1, 1], size: [2, 2] });
  assert.equal(s.data, x.data);
  assert.deepEqual(read(s), [5, 6, 9, 10]);
  const xt = run("transpose", [x], [4, 3], "float32", { perm: [1, 0] });
  const st = run("slice", [xt], [2, 3], "float32", { begin: [2, 0], size: [2, 3] });
  assert.deepEqual(read(st), [2, 6, 10, 3, 7, 11]);
  const e = run("slice", [x], [0, 4], "float32", { begin: [3, 0], size: [0, 4] });
  assert.deepEqual(read(e), []);
});

Deno.test("pad", () => {
  const x = f32([1, 2, 3, 4], [2, 2]);
  const p = run("pad", [x], [3, 5], "float32", { widths: [[1, 0], [2, 1]], value: -1 });
  assert.deepEqual(read(p), [-1, -1, -1, -1, -1, -1, -1, 1, 2, -1, -1, -1, 3, 4, -1]);
  const xt = run("transpose", [x], [2, 2], "float32", { perm: [1, 0] });
  const pt = run("pad", [xt], [2, 4], "float32", { widths: [[0, 0], [1, 1]], value: 0 });
  assert.deepEqual(read(pt), [0, 1, 3, 0, 0, 2, 4, 0]);
  const pe = run("pad", [f32([], [0])], [2], "float32", { widths: [[1, 1]], value: 5 });
  assert.deepEqual(read(pe), [5, 5]);
  const pi = run("pad", [i32([7], [1])], [2], "int32", { widths: [[0, 1]], value: 0 });
  assert.deepEqual(read(pi), [7, 0]);
  const pb = run("pad", [cpu.fromArray(new Uint8Array([0]), [1])], [2], "bool", {
    widths: [[1, 0]],
    value: 1,
  });
  assert.deepEqual(read(pb), [1, 0]);
});

Deno.test("concat", () => {
  const a = f32([1, 2, 3, 4], [2, 2]);
  const b = f32([5, 6], [1, 2]);
  assert.deepEqual(read(run("concat", [a, b], [3, 2], "float32", { axis: 0 })), [
    1,
    2,
    3,
    4,
    5,
    6,
  ]);
  const c = f32([7, 8], [2, 1]);
  const at = run("transpose", [a], [2, 2], "float32", { perm: [1, 0] });
  const e = f32([], [2, 0]);
  assert.deepEqual(read(run("concat", [at, e, c, a], [2, 5], "float32", { axis: 1 })), [
    1,
    3,
    7,
    1,
    2,
    2,
    4,
    8,
    3,
    4,
  ]);
  const one = run("concat", [a], [2, 2], "float32", { axis: 1 });
  assert.deepEqual(read(one), [1, 2, 3, 4]);
  const bs = run("broadcast", [i32([9], [])], [2], "int32", { shape: [2] });
  assert.deepEqual(read(run("concat", [i32([1], [1]), bs], [3], "int32", { axis: 0 })), [1, 9, 9]);
});
