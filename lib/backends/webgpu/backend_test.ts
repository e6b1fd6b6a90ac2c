import assert from "node:assert/strict";
import * as nb from "../../../mod.ts";
import { getBackend } from "../../core/backend.ts";
import { primitiveNames } from "../../core/primitive.ts";
import {
  createWebGpuBackend,
  requestWebGpuBackend,
  type WebGpuBackend,
  webgpuKernelNames,
} from "./mod.ts";
import { ignore } from "./_test_util.ts";

Deno.test("webgpu has a kernel for every primitive the backends run", () => {
  // customLin has no kernel anywhere: it exists only to be transposed.
  const missing = primitiveNames().filter((p) =>
    p !== "customLin" && !webgpuKernelNames().includes(p)
  );
  assert.deepEqual(missing, []);
});

Deno.test("webgpu set-up fails with an Error that says why", async () => {
  await assert.rejects(() => requestWebGpuBackend(null), /navigator\.gpu is not available/);
  const none = { requestAdapter: () => Promise.resolve(null) } as unknown as GPU;
  await assert.rejects(() => requestWebGpuBackend(none), /no GPU adapter is available/);
});

Deno.test({
  name: "webgpu setDevice makes new tensors live on the GPU",
  ignore,
  fn: async () => {
    await nb.setDevice("webgpu");
    try {
      const x = nb.tensor([[1, 2], [3, 4]]);
      assert.equal(x.device, "webgpu");
      assert.equal(nb.getDefaultDevice(), "webgpu");
      assert.deepEqual(await x.matmul(x).toArray(), [[7, 10], [15, 22]]);
      assert.throws(() => x.dataSync(), /use `await x.data\(\)`/);
      assert.throws(() => x.sum().item(), /use `await x.data\(\)`/);
      assert.equal(x.toString(), "Tensor(float32[2,2], device=webgpu)");
      const back = await x.to("cpu");
      assert.deepEqual(back.arraySync(), [[1, 2], [3, 4]]);
    } finally {
      await nb.setDevice("cpu");
    }
  },
});

Deno.test({
  name: "webgpu mixing devices in one operation is a TypeError naming both",
  ignore,
  fn: async () => {
    const c = nb.tensor([1, 2, 3]);
    const g = await c.to("webgpu");
    assert.throws(() => c.add(g), { name: "TypeError", message: /cpu and webgpu/ });
    assert.throws(() => g.mul(c), { name: "TypeError", message: /webgpu and cpu/ });
    assert.throws(() => nb.where(c.greater(1), g, g), TypeError);
    assert.throws(() => nb.concat([g, c]), /webgpu and cpu/);
    assert.throws(() => g.matmul(c), /webgpu and cpu/);
  },
});

Deno.test({
  name: "webgpu float64 is a clear error",
  ignore,
  fn: async () => {
    const d = nb.tensor([1, 2], { dtype: "float64" });
    await assert.rejects(() => d.to("webgpu"), /float64 is CPU-only/);
    const g = await nb.tensor([1, 2]).to("webgpu");
    assert.throws(() => g.astype("float64"), /float64 is CPU-only/);
  },
});

Deno.test({
  name: "webgpu a tensor larger than a storage binding is a RangeError at the call",
  ignore,
  fn: async () => {
    const { gpu } = await import("./_test_util.ts");
    const words = gpu().context.pool.maxBuffer / 4 + 1;
    const one = await nb.tensor(1).to("webgpu");
    assert.throws(() => one.broadcastTo([words]).add(1), RangeError);
  },
});

Deno.test({
  name: "webgpu a lost device rejects pending reads and later work with an Error",
  ignore,
  fn: async () => {
    const adapter = await navigator.gpu.requestAdapter();
    const device = await adapter!.requestDevice();
    const gpu = createWebGpuBackend(device);
    const aval = { shape: [1000], dtype: "float32", device: "webgpu" } as const;
    const x = gpu.fromArray(new Float32Array(1000).fill(2), [1000]);
    const y = gpu.run("exp", [x], {}, aval);
    const pending = gpu.read(y);
    device.destroy();
    await assert.rejects(() => pending, Error);
    await device.lost;
    assert.throws(() => gpu.run("exp", [x], {}, aval), /device was lost/);
    await assert.rejects(() => gpu.read(x), /device was lost/);
  },
});

Deno.test({
  name: "webgpu after losing its device, setDevice sets up a new one",
  ignore,
  fn: async () => {
    await nb.setDevice("webgpu");
    const lost = getBackend("webgpu") as WebGpuBackend;
    lost.context.device.destroy();
    await lost.context.device.lost;
    await nb.setDevice("webgpu");
    const fresh = getBackend("webgpu");
    assert.notEqual(fresh, lost);
    assert.deepEqual(await nb.tensor([1, 2]).mul(3).toArray(), [3, 6]);
    await nb.setDevice("cpu");
  },
});
