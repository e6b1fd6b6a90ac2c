import assert from "node:assert/strict";
import { cpuBackend as cpu } from "./mod.ts";
import { f32, read, run } from "./_test_util.ts";

function assertClose(actual: number[], expected: number[], tol = 1e-6): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tol,
      `index ${i}: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

Deno.test("softmax along the last axis", () => {
  const x = f32([0, Math.LN2, 0, 0, 0, 0], [2, 3]);
  const out = run("softmax", [x], [2, 3], "float32", { axis: 1 });
  assertClose(read(out), [0.25, 0.5, 0.25, 1 / 3, 1 / 3, 1 / 3]);
  const log = run("logSoftmax", [x], [2, 3], "float32", { axis: 1 });
  assertClose(read(log), [
    Math.log(0.25),
    Math.log(0.5),
    Math.log(0.25),
    ...Array(3).fill(-Math.log(3)),
  ]);
});

Deno.test("softmax along a leading axis", () => {
  // Columns: [0, ln 3] -> [1/4, 3/4]; [5, 5] -> [1/2, 1/2]
  const x = f32([0, 5, Math.log(3), 5], [2, 2]);
  assertClose(read(run("softmax", [x], [2, 2], "float32", { axis: 0 })), [0.25, 0.5, 0.75, 0.5]);
  assertClose(read(run("logSoftmax", [x], [2, 2], "float32", { axis: 0 })), [
    Math.log(0.25),
    -Math.LN2,
    Math.log(0.75),
    -Math.LN2,
  ]);
  const y = f32([1, 1, 1, 1, 1, 1, 1, 1], [2, 2, 2]);
  assertClose(read(run("softmax", [y], [2, 2, 2], "float32", { axis: 1 })), Array(8).fill(0.5));
});

Deno.test("softmax and logSoftmax are exact for logits of ±1e4", () => {
  const x = f32([1e4, -1e4], [2]);
  assert.deepEqual(read(run("softmax", [x], [2], "float32", { axis: 0 })), [1, 0]);
  const l = f32([1e4, 0], [2]);
  assert.deepEqual(read(run("logSoftmax", [l], [2], "float32", { axis: 0 })), [0, -1e4]);
  const cols = f32([1e4, 0, -1e4, 1e4], [2, 2]);
  assert.deepEqual(read(run("softmax", [cols], [2, 2], "float32", { axis: 0 })), [1, 0, 0, 1]);
  assert.deepEqual(read(run("logSoftmax", [cols], [2, 2], "float32", { axis: 0 })), [
    0,
    -1e4,
    -2e4,
    0,
  ]);
});

Deno.test("softmax reads strided views", () => {
  const x = f32([0, 0, Math.LN2, 0, 0, 0], [3, 2]);
  const xt = run("transpose", [x], [2, 3], "float32", { perm: [1, 0] });
  // xt = [[0, ln 2, 0], [0, 0, 0]]
  assertClose(read(run("softmax", [xt], [2, 3], "float32", { axis: 1 })), [
    0.25,
    0.5,
    0.25,
    1 / 3,
    1 / 3,
    1 / 3,
  ]);
  const b = run("broadcast", [f32([1, 2], [2])], [3, 2], "float32", { shape: [3, 2] });
  assertClose(read(run("softmax", [b], [3, 2], "float32", { axis: 0 })), Array(6).fill(1 / 3));
});

Deno.test("softmax in float64, on a scalar axis, with NaN and empty inputs", () => {
  const x = cpu.fromArray(new Float64Array([0, Math.LN2]), [2]);
  const out = run("softmax", [x], [2], "float64", { axis: 0 });
  assert.ok(cpu.readSync(out) instanceof Float64Array);
  assertClose(read(out), [1 / 3, 2 / 3], 1e-15);
  assert.deepEqual(read(run("softmax", [f32([5, -3], [2, 1])], [2, 1], "float32", { axis: 1 })), [
    1,
    1,
  ]);
  const n = read(run("softmax", [f32([1, NaN, 0, 1], [2, 2])], [2, 2], "float32", { axis: 1 }));
  assert.ok(Number.isNaN(n[0]) && Number.isNaN(n[1]));
  assertClose(n.slice(2), [1 / (1 + Math.E), Math.E / (1 + Math.E)]);
  assert.deepEqual(read(run("softmax", [f32([], [0, 3])], [0, 3], "float32", { axis: 1 })), []);
});
