import assert from "node:assert/strict";
import { isRowMajor } from "../../core/shape.ts";
import { copyInto, CpuBuffer, dense, forEachRow, pack, prod } from "./_buffer.ts";

Deno.test("isRowMajor ignores size-1 dims and empty views", () => {
  assert.ok(isRowMajor([], []));
  assert.ok(isRowMajor([2, 3], [3, 1]));
  assert.ok(isRowMajor([1, 3], [0, 1]));
  assert.ok(!isRowMajor([2, 3], [0, 1]));
  assert.ok(isRowMajor([0, 3], [7, 7]));
});

Deno.test("forEachRow merges dense dims and walks strided ones", async (t) => {
  const collect = (shape: number[], strides: number[][], offsets: number[]) => {
    const rows: number[][] = [];
    forEachRow(shape, strides, offsets, (o, n, s) => rows.push([...o, n, ...s]));
    return rows;
  };
  await t.step("dense operands make one row", () => {
    assert.deepEqual(collect([2, 3, 4], [[12, 4, 1], [12, 4, 1]], [5, 0]), [[5, 0, 24, 1, 1]]);
  });
  await t.step("a broadcast scalar merges too", () => {
    assert.deepEqual(collect([2, 3], [[3, 1], [0, 0]], [0, 9]), [[0, 9, 6, 1, 0]]);
  });
  await t.step("a broadcast row stays two-dimensional", () => {
    assert.deepEqual(collect([2, 3], [[3, 1], [0, 1]], [0, 0]), [[0, 0, 3, 1, 1], [3, 0, 3, 1, 1]]);
  });
  await t.step("scalars and size-1 dims give one row of one element", () => {
    assert.deepEqual(collect([], [[]], [4]), [[4, 1, 0]]);
    assert.deepEqual(collect([1, 1], [[5, 7]], [2]), [[2, 1, 0]]);
  });
  await t.step("an empty shape gives no rows", () => {
    assert.deepEqual(collect([2, 0, 3], [[0, 3, 1]], [0]), []);
  });
  await t.step("three outer dims carry and reset", () => {
    const rows = collect([2, 2, 2], [[1, 2, 4]], [0]);
    assert.deepEqual(rows.map((r) => r[0]), [0, 2, 1, 3]);
    assert.ok(rows.every((r) => r[1] === 2 && r[2] === 4));
  });
});

Deno.test("pack, dense and copyInto", () => {
  const data = new Float32Array([0, 1, 2, 3, 4, 5]);
  const x = new CpuBuffer(data, [2, 3]);
  assert.equal(dense(x), data);
  const tail = new CpuBuffer(data, [2], [1], 4);
  assert.deepEqual([...dense(tail)], [4, 5]);
  const t = new CpuBuffer(data, [3, 2], [1, 3]);
  assert.ok(!t.contiguous);
  assert.deepEqual([...pack(t)], [0, 3, 1, 4, 2, 5]);
  assert.ok(pack(t, "int32") instanceof Int32Array);
  const long = new CpuBuffer(new Float64Array(100).map((_, i) => i), [100]);
  const dst = new Float64Array(102);
  copyInto(long, dst, 1, [1]);
  assert.deepEqual([dst[0], dst[1], dst[100], dst[101]], [0, 0, 99, 0]);
  assert.equal(prod([2, 3, 4]), 24);
  assert.equal(prod([]), 1);
  assert.equal(x.dtype, "float32");
  assert.equal(x.size, 6);
});
