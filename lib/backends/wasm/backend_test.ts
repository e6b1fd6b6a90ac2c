import assert from "node:assert/strict";
import * as nb from "../../../mod.ts";
import { getBackend, getDefaultDevice } from "../../core/backend.ts";
import { wasmBackend } from "./_backend.ts";
import { fastKernelConfig } from "./_kernels.ts";

type T = nb.Tensor;
type Out = T | T[];

function uniform(shape: number[], seed: number, lo = -2, hi = 2): T {
  return nb.random.uniform(nb.random.key(seed), shape, { minval: lo, maxval: hi, device: "cpu" });
}

// Runs `f` on CPU inputs and on wasm copies, twice on wasm: with the SIMD kernels at their
// usual thresholds and with every threshold at zero (so that small shapes take them too).
async function agree(f: (...xs: T[]) => Out, inputs: T[], rtol = 2e-6, atol = 1e-6) {
  const onCpu = await Promise.all(inputs.map((x) => x.to("cpu")));
  const expected = [f(...onCpu)].flat();
  const onWasm = await Promise.all(inputs.map((x) => x.to("wasm")));
  const saved = { ...fastKernelConfig };
  try {
    for (
      const thresholds of [saved, {
        minMatmulWork: 0,
        minUnary: 0,
        minBinary: 0,
        minReduce: 0,
        minRow: 0,
      }]
    ) {
      Object.assign(fastKernelConfig, thresholds);
      const actual = [f(...onWasm)].flat();
      assert.equal(actual.length, expected.length);
      for (let i = 0; i < actual.length; i++) {
        const [a, e] = [actual[i], expected[i]];
        assert.equal(a.device, "wasm", `output ${i} is on ${a.device}`);
        assert.equal(a.dtype, e.dtype);
        assert.deepEqual(a.shape, e.shape);
        await nb.testing.assertAllClose(a, e, { rtol, atol });
      }
    }
  } finally {
    Object.assign(fastKernelConfig, saved);
  }
}

Deno.test("wasm is the default device, registered with heap-resident buffers", () => {
  assert.equal(getBackend("wasm"), wasmBackend);
  if (Deno.env.get("NABLA_DEVICE") === undefined) assert.equal(getDefaultDevice(), "wasm");
  const x = nb.tensor([1, 2, 3], { device: "wasm" });
  assert.equal(x.device, "wasm");
  assert.deepEqual([...x.dataSync()], [1, 2, 3]);
  assert.equal(x.mul(2).toString(), "tensor([2., 4., 6.])");
});

Deno.test("wasm SIMD elementwise kernels match the CPU on dense, strided and broadcast views", async (t) => {
  const x = uniform([37, 61], 1), y = uniform([37, 61], 2), row = uniform([61], 3);
  const col = uniform([37, 1], 4);
  for (
    const [name, f] of [["neg", nb.neg], ["exp", nb.exp], ["tanh", nb.tanh], [
      "sigmoid",
      nb.sigmoid,
    ]] as const
  ) {
    await t.step(name, async () => {
      await agree((v) => [f(v), f(v.T), f(v.slice([3, 5], [30, 50]))], [x]);
      await agree((v) => f(v), [nb.tensor([-1e4, -100, -20, 0, -0, 20, 100, 1e4, NaN])]);
    });
  }
  for (
    const [name, f] of [
      ["add", nb.add],
      ["sub", nb.sub],
      ["mul", nb.mul],
      ["div", nb.div],
      ["maximum", nb.maximum],
      ["minimum", nb.minimum],
    ] as const
  ) {
    await t.step(name, async () => {
      await agree(
        (a, b, r, c) => [f(a, b), f(a, r), f(r, a), f(a, c), f(a.T, b.T), f(a, 0.5), f(0.5, b)],
        [x, y, row, col],
        0,
        0,
      );
    });
  }
});

Deno.test("wasm matmul matches the CPU: batched, broadcast, transposed, degenerate", async (t) => {
  const cases: [string, number[], number[]][] = [
    ["square", [64, 64], [64, 64]],
    ["odd", [37, 53], [53, 29]],
    ["vector times matrix", [53], [53, 29]],
    ["matrix times vector", [37, 53], [53]],
    ["batched", [3, 17, 19], [3, 19, 23]],
    ["broadcast batch", [2, 1, 9, 33], [4, 33, 7]],
    ["empty inner", [5, 0], [0, 6]],
  ];
  for (const [name, sa, sb] of cases) {
    await t.step(
      name,
      () => agree((a, b) => nb.matmul(a, b), [uniform(sa, 5), uniform(sb, 6)], 1e-5, 1e-5),
    );
  }
  await t.step("transposed operands are read through strides", () =>
    agree(
      (a, b) => [a.T.matmul(b), a.matmul(b.T), a.T.matmul(b.T.T)],
      [uniform([48, 40], 7), uniform([48, 40], 8)],
      1e-5,
      1e-5,
    ));
});

Deno.test("wasm reductions, softmax and scatter-add match the CPU", async (t) => {
  const x = uniform([6, 35, 17], 9);
  await t.step("reductions over neighbouring and split axes", () =>
    agree(
      (v) =>
        [[0], [1], [2], [0, 1], [1, 2], [0, 2], [0, 1, 2]].flatMap((axis) => [
          nb.sum(v, { axis }),
          nb.max(v, { axis }),
          nb.min(v, { axis, keepdims: true }),
        ]),
      [x],
      1e-6,
      1e-6,
    ));
  await t.step("softmax and logSoftmax on every axis, with huge logits", () =>
    agree(
      (v, big) => [
        nb.softmax(v),
        nb.logSoftmax(v),
        nb.softmax(v, { axis: 1 }),
        nb.logSoftmax(v.T),
        nb.softmax(big),
        nb.logSoftmax(big),
      ],
      [x, nb.tensor([[1e4, -1e4, 0, 3], [-5e3, -5e3, -5e3, -5e3]])],
      1e-5,
      1e-6,
    ));
  await t.step("gather and its gradient (a scatter-add with repeated rows)", () =>
    agree(
      (table, w, ids) => {
        const loss = (p: T) => nb.take(p, ids, { axis: 0 }).mul(w).sum();
        return [nb.take(table, ids, { axis: 0 }), nb.grad(loss)(table)];
      },
      [
        uniform([8, 21], 10),
        uniform([7, 21], 11),
        nb.tensor([3, 0, 3, 7, 1, 3, -1], { dtype: "int32" }),
      ],
    ));
  await t.step("the gradient of a lookup whose cotangent arrives transposed", () =>
    agree(
      (table, w, ids) => {
        // [time, batch] ids looked up batch-major: the scatter-add reads a strided update.
        const loss = (p: T) => nb.take(p, ids.T, { axis: 0 }).mul(w).sum();
        return [nb.grad(loss)(table)];
      },
      [
        uniform([59, 16], 12),
        uniform([64, 29, 16], 13),
        nb.tensor(Int32Array.from({ length: 29 * 64 }, (_, i) => (i * 7) % 59), {
          shape: [29, 64],
        }),
      ],
      1e-5,
      1e-6,
    ));
});

Deno.test("wasm keeps float64 on the reference kernels and mixes dtypes like the CPU", async () => {
  const x = nb.tensor([1.5, -2.25, 3], { dtype: "float64", device: "wasm" });
  const e = nb.exp(x).dataSync();
  assert.ok(e instanceof Float64Array);
  assert.equal(e[0], Math.exp(1.5));
  await agree(
    (a, i, b) => [a.add(i), nb.where(b, a, i), a.astype("int32"), nb.argmax(a, { axis: 1 })],
    [
      uniform([9, 70], 12),
      nb.random.randint(nb.random.key(13), [9, 70], -4, 4, { device: "cpu" }),
      nb.random.bernoulli(nb.random.key(14), 0.5, [9, 70], { device: "cpu" }),
    ],
    0,
    0,
  );
});

Deno.test("wasm dispose() and using return heap blocks at once", () => {
  const x = nb.tensor(new Float32Array(4096).fill(1), { shape: [64, 64], device: "wasm" });
  const run = () => {
    // (Tensors only: a number operand would become a constant tensor, left to the collector.)
    using a = x.mul(x);
    using r = a.reshape([4096]);
    using b = r.add(r);
    using e = b.exp();
    using c = e.T;
    return c.size;
  };
  run();
  const before = wasmBackend.stats();
  for (let i = 0; i < 200; i++) run();
  const after = wasmBackend.stats();
  assert.equal(after.blocks, before.blocks, "no block outlives its tensors");
  assert.equal(after.top, before.top, "the heap did not grow");
  assert.equal(x.sum().item(), 4096);
});

Deno.test("wasm 1000 training steps hold the heap flat", async () => {
  const before = getDefaultDevice();
  await nb.setDevice("wasm");
  try {
    await trainThousandSteps();
  } finally {
    await nb.setDevice(before);
  }
});

async function trainThousandSteps() {
  const { nn, optim, random } = nb;
  const model = nn.mlp([2, 64, 3]);
  let params = model.init(random.key(0));
  const opt = optim.adam(1e-2);
  let state = opt.init(params);
  const x = random.uniform(random.key(1), [128, 2]);
  const t = random.randint(random.key(2), [128], 0, 3);
  const step = nb.valueAndGrad((p: typeof params) => nn.softmaxCrossEntropy(model.apply(p, x), t));
  let first = NaN, last = NaN, memoryAt500 = 0;
  for (let i = 0; i < 1000; i++) {
    const [loss, grads] = step(params);
    const [updates, next] = opt.update(grads, state, params);
    params = optim.applyUpdates(params, updates);
    state = next;
    // Reading the loss as a training loop does lets the event loop turn now and then.
    const value = (await loss.data())[0];
    if (i === 0) first = value;
    if (i === 999) last = value;
    if (i === 499) memoryAt500 = wasmBackend.stats().memoryBytes;
  }
  const s = wasmBackend.stats();
  // One step allocates about 290 KB in 150 blocks (290 MB over the loop); collected tensors
  // give their blocks back, so the memory levels off early and stays there.
  assert.ok(s.memoryBytes < 64 << 20, `memory grew: ${JSON.stringify(s)}`);
  assert.ok(s.memoryBytes <= memoryAt500 + (16 << 20), `memory grew: ${JSON.stringify(s)}`);
  assert.ok(last < first, `the loss went down from ${first} to ${last}`);
}
