// The wasm concatenation kernel against the cpu reference: every axis, tails of rows that are
// no whole vectors, strided and broadcast operands, int32, and copies shared among threads.

import * as nb from "../../../mod.ts";
import assert from "node:assert/strict";
import { CpuBuffer } from "../cpu/mod.ts";
import { concatKernel } from "./_copy.ts";
import { WasmContext } from "./_context.ts";
import { HeapStorage } from "./_storage.ts";
import { randomF32 } from "./_test_util.ts";

type T = nb.Tensor;

Deno.test("concat on wasm equals the cpu reference", async (t) => {
  // [operand shapes, axis, how each operand is made from a base tensor]
  const cases: [string, number[][], number, (x: T, i: number) => T][] = [
    ["rows of whole vectors", [[64, 128], [64, 64]], 1, (x) => x],
    ["rows ending inside a vector", [[33, 5], [33, 7], [33, 1]], 1, (x) => x],
    ["stacked blocks", [[3, 50, 21], [2, 50, 21]], 0, (x) => x],
    // (Arrays under 16 KiB live outside the heap: the reference loop copies that column.)
    ["a small operand beside a large one", [[64, 128], [64, 1]], 1, (x) => x],
    ["middle axis", [[6, 3, 9], [6, 5, 9]], 1, (x) => x],
    ["a transposed operand", [[30, 40], [40, 30]], 1, (x, i) => i === 0 ? x.T : x],
    [
      "a broadcast operand",
      [[20, 16], [20, 16]],
      0,
      (x, i) => i === 1 ? x.sum({ axis: 0 }).broadcastTo([20, 16]) : x,
    ],
  ];
  let seed = 1;
  for (const [name, shapes, axis, make] of cases) {
    await t.step(name, async () => {
      const data = shapes.map((s) => randomF32(s.reduce((a, d) => a * d, 1), seed++));
      const on = (device: nb.Device) =>
        shapes.map((s, i) => make(nb.tensor(data[i], { shape: s, device }), i));
      const got = nb.concat(on("wasm"), axis), want = nb.concat(on("cpu"), axis);
      assert.deepEqual(got.shape, want.shape);
      await nb.testing.assertAllClose(got, want, { rtol: 1e-6, atol: 1e-6 });
    });
  }
  await t.step("int32", async () => {
    const ints = (n: number, s: number) => Int32Array.from(randomF32(n, s), (v) => v * 2 ** 30);
    const [a, b] = [ints(3000, 7), ints(1500, 8)];
    const both = (device: nb.Device) =>
      nb.concat([
        nb.tensor(a, { shape: [100, 30], device }),
        nb.tensor(b, { shape: [100, 15], device }),
      ], 1);
    assert.deepEqual(await both("wasm").toArray(), await both("cpu").toArray());
  });
});

Deno.test("large concatenations are copied by every thread", async (t) => {
  const ctx = new WasmContext({ threads: 3, initialPages: 256, idleMillis: 60_000 });
  const heap = new HeapStorage(ctx);
  const inHeap = (values: Float32Array, shape: number[]) => {
    const data = heap.array("float32", values.length, false) as Float32Array;
    data.set(values);
    return new CpuBuffer(data, shape);
  };
  try {
    // Rows shared out ([300, 1001] beside [300, 3]: no row a whole number of vectors), and one
    // long row each (2¹⁸ + 3 elements, then 5).
    const cases: [string, number[][], number][] = [
      ["by rows", [[300, 1001], [300, 3]], 1],
      ["one long row", [[1, (1 << 18) + 3], [1, 5]], 1],
    ];
    for (const [name, shapes, axis] of cases) {
      await t.step(name, async () => {
        const values = shapes.map((s, i) => randomF32(s[0] * s[1], 30 + i));
        const xs = shapes.map((s, i) => inHeap(values[i], s));
        const outShape = [...shapes[0]];
        outShape[axis] = shapes.reduce((a, s) => a + s[axis], 0);
        const out = { shape: outShape, dtype: "float32", device: "wasm" } as const;
        const want = nb.concat(values.map((v, i) => nb.tensor(v, { shape: shapes[i] })), axis);
        const expected = await want.toArray() as number[][];
        let used = 0;
        for (let call = 0; call < 100 && used < 3; call++) {
          if (call > 0) await new Promise((r) => setTimeout(r, 10));
          const y = concatKernel(xs, { axis }, out, heap)!;
          used = ctx.threadsUsed;
          expected.forEach((want, r) => {
            const row = y.data.subarray(r * outShape[1], (r + 1) * outShape[1]);
            assert.deepEqual(Array.from(row), want, `row ${r}`);
          });
        }
        assert.equal(used, 3, "threads used");
      });
    }
  } finally {
    ctx.close();
  }
});
