import assert from "node:assert/strict";
import { getBackend } from "../../core/backend.ts";
import { cpuBackend as cpu } from "./mod.ts";

Deno.test("the cpu backend registers itself", () => {
  assert.equal(getBackend("cpu"), cpu);
  assert.equal(cpu.device, "cpu");
});

Deno.test("an unknown primitive names itself in the error", () => {
  const x = cpu.fromArray(new Float32Array([1]), [1]);
  assert.throws(
    () => cpu.run("frobnicate", [x], {}, { shape: [1], dtype: "float32", device: "cpu" }),
    { message: 'cpu backend: no kernel for primitive "frobnicate"' },
  );
  assert.throws(
    () => cpu.run("constructor", [], {}, { shape: [1], dtype: "float32", device: "cpu" }),
    { message: 'cpu backend: no kernel for primitive "constructor"' },
  );
});

Deno.test("fromArray checks the length against the shape", () => {
  assert.throws(() => cpu.fromArray(new Float32Array(5), [2, 3]), RangeError);
});

Deno.test("read and readSync return fresh row-major copies", async () => {
  const data = new Float32Array([1, 2, 3, 4, 5, 6]);
  const x = cpu.fromArray(data, [2, 3]);
  const first = cpu.readSync(x);
  assert.notEqual(first, data);
  first[0] = 99;
  assert.deepEqual([...cpu.readSync(x)], [1, 2, 3, 4, 5, 6]);
  const asyncCopy = await cpu.read(x);
  asyncCopy[1] = 99;
  assert.deepEqual([...(await cpu.read(x))], [1, 2, 3, 4, 5, 6]);
  const xt = cpu.run("transpose", [x], { perm: [1, 0] }, {
    shape: [3, 2],
    dtype: "float32",
    device: "cpu",
  });
  assert.deepEqual([...(await cpu.read(xt))], [1, 4, 2, 5, 3, 6]);
  const scalar = cpu.fromArray(new Int32Array([7]), []);
  const s = cpu.readSync(scalar);
  assert.ok(s instanceof Int32Array);
  assert.deepEqual([...s], [7]);
});

Deno.test("dispose is a harmless no-op, and repeatable", () => {
  const x = cpu.fromArray(new Float32Array([1, 2]), [2]);
  cpu.dispose(x);
  cpu.dispose(x);
  assert.deepEqual([...cpu.readSync(x)], [1, 2]);
});

Deno.test("run rejects buffers from elsewhere", () => {
  assert.throws(
    () => cpu.run("neg", [{}], {}, { shape: [1], dtype: "float32", device: "cpu" }),
    TypeError,
  );
});
