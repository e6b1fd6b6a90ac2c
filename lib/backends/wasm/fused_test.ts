// Fused kernels against the cpu reference: jitted chains on the wasm device on awkward shapes
// and layouts (empty, one element, odd lengths, broadcasts, transposed and sliced views, small
// tensors outside the heap, bool masks), compared with the same functions run eagerly on cpu.

import * as nb from "../../../mod.ts";
import assert from "node:assert/strict";
import { CpuBuffer } from "../cpu/mod.ts";
import { WasmContext } from "./_context.ts";
import { fusedKernel } from "./_fused.ts";
import { fastKernelConfig } from "./_kernels.ts";
import { HeapStorage } from "./_storage.ts";
import { randomF32 } from "./_test_util.ts";

type T = nb.Tensor;
const { assertAllClose } = nb.testing;

const on = (device: nb.Device, data: Float32Array, shape: number[]) =>
  nb.tensor(data, { shape, device });

// Every fusible operation at least once; the result is one float32 chain per function.
const chains: [string, (x: T, y: T) => T][] = [
  ["arithmetic", (x, y) => x.mul(y).add(x).sub(y.div(2)).div(y.abs().add(1))],
  ["transcendental", (x, y) => x.exp().mul(y.tanh()).add(x.sigmoid()).neg()],
  ["sqrt abs max min", (x, y) => x.abs().sqrt().maximum(y).minimum(0.5)],
  [
    "masks and select",
    (x, y) => nb.where(x.greater(y), x.mul(3), y.sub(x)).add(x.lessEqual(0).astype("float32")),
  ],
  [
    "every comparison",
    (x, y) =>
      x.less(y).astype("float32").add(x.greaterEqual(y).astype("float32"))
        .add(x.equal(x).astype("float32")).add(x.notEqual(y).astype("float32")),
  ],
];

// [x shape, how x is made from a base tensor, y shape]: layouts the kernel must handle.
const layouts: [string, number[], (b: (s: number[]) => T) => [T, T]][] = [
  ["dense odd length", [7, 13], (b) => [b([7, 13]), b([7, 13])]],
  ["empty", [0, 3], (b) => [b([0, 3]), b([0, 3])]],
  ["one element", [1], (b) => [b([1]), b([1])]],
  ["broadcast row", [9, 5], (b) => [b([9, 5]), b([5])]],
  ["broadcast column", [9, 5], (b) => [b([9, 5]), b([9, 1])]],
  ["broadcast scalar", [6, 11], (b) => [b([6, 11]), b([])]],
  ["transposed", [13, 7], (b) => [b([7, 13]).T, b([13, 7])]],
  ["sliced rows", [5, 6], (b) => [b([9, 8]).slice([2, 1], [5, 6]), b([5, 6])]],
  ["in the heap", [96, 130], (b) => [b([96, 130]), b([130])]],
  ["transposed in the heap", [130, 96], (b) => [b([96, 130]).T, b([130, 96])]],
];

Deno.test("fused wasm kernels equal the cpu reference on awkward layouts", async (t) => {
  let seed = 1;
  for (const [layout, , make] of layouts) {
    for (const [name, chain] of chains) {
      await t.step(`${name}, ${layout}`, async () => {
        const data: Float32Array[] = [];
        const base = (device: nb.Device) => {
          let i = 0;
          return (shape: number[]) => {
            const n = shape.reduce((a, d) => a * d, 1);
            data[i] ??= randomF32(n, seed++);
            return on(device, data[i++], shape);
          };
        };
        // `make` builds the operands from the same random data on both devices.
        const [x, y] = make(base("wasm"));
        const [cx, cy] = make(base("cpu"));
        const jitted = nb.jit((a: T, b: T) => chain(a, b.broadcastTo(a.shape)));
        await assertAllClose(jitted(x, y), chain(cx, cy.broadcastTo(cx.shape)), {
          rtol: 2e-6,
          atol: 1e-6,
        });
      });
    }
  }
});

Deno.test("a jitted chain on wasm runs as one kernel", () => {
  const x = nb.tensor(randomF32(4096, 7), { shape: [64, 64], device: "wasm" });
  const f = nb.jit((x: T) => nb.where(x.greater(0), x.exp(), x.tanh()).mul(x).add(1).sum());
  const kernels = f.lower(x).kernels.map((k) => k.ops);
  assert.deepEqual(kernels, [["gt", "exp", "tanh", "select", "mul", "add", "reduceSum"]]);
});

Deno.test("fused kernels also take every SIMD path when thresholds are zero", async () => {
  const saved = { ...fastKernelConfig };
  Object.assign(fastKernelConfig, { minUnary: 0, minBinary: 0, minRow: 0 });
  try {
    const data = randomF32(35, 3);
    const f = (x: T) => x.exp().mul(x).sub(x.sigmoid());
    await assertAllClose(
      nb.jit(f)(nb.tensor(data, { shape: [5, 7], device: "wasm" })),
      f(nb.tensor(data, { shape: [5, 7], device: "cpu" })),
      { rtol: 2e-6, atol: 1e-6 },
    );
  } finally {
    Object.assign(fastKernelConfig, saved);
  }
});

Deno.test("a fused kernel writes every value used outside its chain, masks included", async (t) => {
  const f = (x: T, y: T) => {
    const mask = x.greater(y), e = x.exp();
    return [mask, e, nb.where(mask, e, y).mul(e)];
  };
  for (const shape of [[3], [7, 13], [96, 130]]) {
    await t.step(`[${shape}]`, async () => {
      const n = shape.reduce((a, d) => a * d, 1);
      const [dx, dy] = [randomF32(n, 11), randomF32(n, 12)];
      const jitted = nb.jit(f);
      const [x, y] = [on("wasm", dx, shape), on("wasm", dy, shape)];
      assert.deepEqual(jitted.lower(x, y).kernels.map((k) => k.outs.length), [3]);
      const out = jitted(x, y), expected = f(on("cpu", dx, shape), on("cpu", dy, shape));
      assert.deepEqual(await out[0].toArray(), await expected[0].toArray());
      await assertAllClose(out.slice(1), expected.slice(1), { rtol: 2e-6, atol: 1e-6 });
    });
  }
});

// int32 chains: wrapping arithmetic, comparisons, select and masks converted to int32.
const intChain = (x: T, y: T) =>
  nb.where(x.less(y), x.mul(y).add(x), y.sub(x).neg())
    .maximum(x.abs().neg()).minimum(y.mul(7))
    .add(x.greaterEqual(y).astype("int32")).add(x.equal(y).astype("int32").mul(3));

Deno.test("fused int32 chains on wasm equal the cpu reference exactly", async (t) => {
  let seed = 40;
  // Large magnitudes make products and sums wrap; a few equal pairs exercise `eq`.
  const ints = (n: number) =>
    Int32Array.from(randomF32(n, seed++), (v, i) => i % 5 === 0 ? 3 : Math.round(v * 2 ** 30));
  for (const [layout, , make] of layouts) {
    await t.step(layout, async () => {
      const data: Int32Array[] = [];
      const base = (device: nb.Device) => {
        let i = 0;
        return (shape: number[]) => {
          data[i] ??= ints(shape.reduce((a, d) => a * d, 1));
          return nb.tensor(data[i++], { shape, device });
        };
      };
      const [x, y] = make(base("wasm"));
      const [cx, cy] = make(base("cpu"));
      const jitted = nb.jit((a: T, b: T) => intChain(a, b.broadcastTo(a.shape)));
      const ops = jitted.lower(x, y).kernels.flatMap((k) => k.ops.length > 1 ? [k.ops] : []);
      assert.equal(ops.length, 1, `one fused kernel, got ${JSON.stringify(ops)}`);
      assert.deepEqual(
        await jitted(x, y).toArray(),
        await intChain(cx, cy.broadcastTo(cx.shape)).toArray(),
      );
    });
  }
});

// Chains ending in a reduction over trailing axes: the reduction takes the chain as its
// prologue; a value the program also returns is written by the same kernel.
const reductions: [string, number[], (x: T, y: T) => T | T[]][] = [
  [
    "masked sum over rows",
    [7, 13],
    (x, y) => nb.where(x.greater(y), x.mul(y), 0).sum({ axis: -1 }),
  ],
  ["sum of squares, all axes", [5, 9], (x, y) => x.sub(y).square().sum()],
  ["max over the last two axes", [3, 5, 7], (x, y) => x.mul(y).exp().max({ axis: [1, 2] })],
  ["min with NaN rows", [6, 5], (x, y) => x.sqrt().add(y).min({ axis: -1 })],
  ["sum and its operand", [9, 6], (x, y) => {
    const e = x.tanh().mul(y);
    return [e, e.sum({ axis: 1 })];
  }],
  ["one element per row", [11, 1], (x, y) => x.add(y).sum({ axis: 1 })],
  ["empty batch", [0, 5], (x, y) => x.add(y).sum({ axis: 1 })],
  ["long rows in the heap", [3, 4099], (x, y) => x.mul(y).sum({ axis: 1 })],
  [
    "bias gradient: sum over the batch",
    [9, 7],
    (x, y) => nb.where(x.greater(0), y, 0).sum({ axis: 0 }),
  ],
  ["max over the leading two axes", [3, 5, 7], (x, y) => x.mul(y).tanh().max({ axis: [0, 1] })],
  ["min over the batch with NaN", [6, 5], (x, y) => x.sqrt().sub(y).min({ axis: 0 })],
  ["batch sum and its operand", [130, 33], (x, y) => {
    const e = x.exp().mul(y);
    return [e, e.sum({ axis: 0 })];
  }],
  ["one row", [1, 6], (x, y) => x.add(y).sum({ axis: 0 })],
];

Deno.test("fused reductions on wasm equal the cpu reference", async (t) => {
  let seed = 70;
  for (const [name, shape, f] of reductions) {
    for (
      const [layout, make] of [
        ["dense", (b: (s: number[]) => T) => [b(shape), b(shape)]],
        ["broadcast row", (b: (s: number[]) => T) => [b(shape), b(shape.slice(-1))]],
        [
          "broadcast column",
          (b: (s: number[]) => T) => [b(shape), b(shape.map((d, i) => (i === 0 ? d : 1)))],
        ],
        ["transposed", (b: (s: number[]) => T) => [b([...shape].reverse()).T, b(shape)]],
      ] as const
    ) {
      if (layout === "transposed" && shape.length !== 2) continue;
      await t.step(`${name}, ${layout}`, async () => {
        const data: Float32Array[] = [];
        const base = (device: nb.Device) => {
          let i = 0;
          return (s: number[]) => {
            data[i] ??= randomF32(s.reduce((a, d) => a * d, 1), seed++);
            return on(device, data[i++], s);
          };
        };
        const [x, y] = make(base("wasm"));
        const [cx, cy] = make(base("cpu"));
        const g = (a: T, b: T) => f(a, b.broadcastTo(a.shape));
        const jitted = nb.jit(g);
        const kernels = jitted.lower(x, y).kernels.map((k) => k.ops);
        assert.ok(
          kernels.some((ops) => ops.length > 1 && ops.at(-1)!.startsWith("reduce")),
          `a fused reduction in ${JSON.stringify(kernels)}`,
        );
        await assertAllClose(jitted(x, y), g(cx, cy), { rtol: 2e-6, atol: 1e-6 });
      });
    }
  }
});

Deno.test("fused kernels split across threads equal the one-thread result", async (t) => {
  // A context of three threads whose workers stay, so that every split is exercised.
  const ctx = new WasmContext({ threads: 3, initialPages: 256, idleMillis: 60_000 });
  const heap = new HeapStorage(ctx);
  const f32 = (shape: number[]) => ({ shape, dtype: "float32", device: "wasm" }) as const;
  const inHeap = (values: Float32Array, shape: number[], strides?: number[]) => {
    const data = heap.array("float32", values.length, false) as Float32Array;
    data.set(values);
    return new CpuBuffer(data, shape, strides);
  };
  const cases: [string, number[], number[] | undefined, number[]][] = [
    // One long row (a scalar read once), rows of whole vectors (a row broadcast along them),
    // and rows that end inside a vector (run on the calling thread alone).
    ["one long row", [300, 1000], [0, 0], [300, 1000]],
    ["rows of whole vectors", [300, 1000], [0, 1], [1000]],
    ["rows ending inside a vector", [300, 998], [0, 1], [998]],
  ];
  try {
    for (const [name, shape, yStrides, yShape] of cases) {
      await t.step(name, async () => {
        const size = shape[0] * shape[1];
        // exp(x) · y + x, its sigmoid, and the mask x > y: three outputs, one of them bool.
        const spec = {
          inputs: [f32(shape), f32(shape)],
          ops: [
            { name: "exp", params: {}, args: [0], out: f32(shape) },
            { name: "mul", params: {}, args: [2, 1], out: f32(shape) },
            { name: "add", params: {}, args: [3, 0], out: f32(shape) },
            { name: "sigmoid", params: {}, args: [4], out: f32(shape) },
            { name: "gt", params: {}, args: [0, 1], out: { ...f32(shape), dtype: "bool" } },
          ],
          outputs: [2, 3, 4],
        } as const;
        const xs = randomF32(size, 1);
        const ys = randomF32(yShape.reduce((a, b) => a * b, 1), 2);
        const x = inHeap(xs, shape);
        const y = yStrides![0] === 0 && yStrides![1] === 0
          ? inHeap(ys.subarray(0, 1), shape, [0, 0])
          : inHeap(ys, shape, yStrides);
        const kernel = fusedKernel(spec);
        const yAt = (i: number) => y.data[(i % shape[1]) * y.strides[1]];
        let used = 0;
        // The workers join once they have started: a few calls, each checked.
        for (let call = 0; call < 100 && used < 3; call++) {
          if (call > 0) await new Promise((r) => setTimeout(r, 10));
          const [sum, sig, mask] = kernel([x, y], heap);
          used = ctx.threadsUsed;
          for (let i = 0; i < size; i++) {
            const e = Math.exp(xs[i]) * yAt(i) + xs[i];
            assert.ok(Math.abs(sum.data[i] - e) <= 1e-5 * Math.abs(e) + 1e-6, `${name}: ${i}`);
            assert.ok(Math.abs(sig.data[i] - 1 / (1 + Math.exp(-e))) <= 1e-6, `${name}: ${i}`);
            assert.equal(mask.data[i], xs[i] > yAt(i) ? 1 : 0, `${name}: mask ${i}`);
          }
        }
        if (shape[1] % 4 === 0) assert.equal(used, 3, `${name}: threads used`);
      });
    }
  } finally {
    ctx.close();
  }
});

Deno.test("a chain that ends in a concatenation writes its operands in their places", async (t) => {
  const f = (axis: number) => (a: T, b: T) => {
    const e = a.exp();
    // An operand twice, one read again after the concatenation, one an input's negation.
    return [nb.concat([e.mul(b), b.neg(), e, a.tanh(), e], axis), e.add(1)];
  };
  const cases: [string, number[], number, boolean][] = [
    ["rows of two vectors", [7, 8], 1, true],
    ["rows of three vectors (a pair and one)", [5, 12], 1, true],
    ["along the first axis", [6, 4], 0, true],
    ["rows ending inside a vector: copied by a concat of its own", [5, 6], 1, false],
  ];
  for (const [name, shape, axis, inPlace] of cases) {
    await t.step(name, async () => {
      const n = shape[0] * shape[1];
      const [da, db] = [randomF32(n, 21), randomF32(n, 22)];
      const jitted = nb.jit(f(axis));
      const [a, b] = [on("wasm", da, shape), on("wasm", db, shape)];
      const kernels = jitted.lower(a, b).kernels.map((k) => k.ops.join(","));
      // (e, read after the concatenation, is a second output; its sum a kernel of its own.)
      if (inPlace) assert.deepEqual(kernels, ["exp,mul,neg,tanh,concat", "add"]);
      else assert.ok(kernels.includes("concat"), `${kernels}`);
      await assertAllClose(jitted(a, b), f(axis)(on("cpu", da, shape), on("cpu", db, shape)), {
        rtol: 2e-6,
        atol: 1e-6,
      });
    });
  }
  await t.step("int32", async () => {
    const g = (x: T, y: T) => nb.concat([x.mul(y), x.sub(y).abs()], 1);
    const ints = (seed: number) => Int32Array.from(randomF32(32, seed), (v) => Math.round(v * 1e9));
    const [dx, dy] = [ints(23), ints(24)];
    const at = (device: nb.Device, d: Int32Array) => nb.tensor(d, { shape: [4, 8], device });
    const jitted = nb.jit(g);
    assert.deepEqual(jitted.lower(at("wasm", dx), at("wasm", dy)).kernels.length, 1);
    assert.deepEqual(
      await jitted(at("wasm", dx), at("wasm", dy)).toArray(),
      await g(at("cpu", dx), at("cpu", dy)).toArray(),
    );
  });
  await t.step("split across threads by rows", async () => {
    const ctx = new WasmContext({ threads: 3, initialPages: 256, idleMillis: 60_000 });
    const heap = new HeapStorage(ctx);
    const f32 = (shape: number[]) => ({ shape, dtype: "float32", device: "wasm" }) as const;
    const [rows, cols] = [300, 1000];
    try {
      // [exp(x), x·x] side by side: [300, 2000].
      const kernel = fusedKernel({
        inputs: [f32([rows, cols])],
        ops: [
          { name: "exp", params: {}, args: [0], out: f32([rows, cols]) },
          { name: "mul", params: {}, args: [0, 0], out: f32([rows, cols]) },
          { name: "concat", params: { axis: 1 }, args: [1, 2], out: f32([rows, 2 * cols]) },
        ],
        outputs: [2],
      });
      const xs = randomF32(rows * cols, 25);
      const data = heap.array("float32", xs.length, false) as Float32Array;
      data.set(xs);
      const x = new CpuBuffer(data, [rows, cols]);
      let used = 0;
      for (let call = 0; call < 100 && used < 3; call++) {
        if (call > 0) await new Promise((r) => setTimeout(r, 10));
        const [out] = kernel([x], heap);
        used = ctx.threadsUsed;
        assert.deepEqual(out.shape, [rows, 2 * cols]);
        for (let i = 0; i < rows; i++) {
          for (let j = 0; j < cols; j++) {
            const v = xs[i * cols + j], e = Math.exp(v);
            const [got, sq] = [out.data[i * 2 * cols + j], out.data[i * 2 * cols + cols + j]];
            assert.ok(Math.abs(got - e) <= 1e-5 * e, `exp at ${i},${j}`);
            assert.equal(sq, Math.fround(v * v), `square at ${i},${j}`);
          }
        }
      }
      assert.equal(used, 3, "threads used");
    } finally {
      ctx.close();
    }
  });
});
