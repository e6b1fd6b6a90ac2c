// Whole small programs as one dispatch on WebGPU, against the cpu reference: every family of
// operations it runs, inputs read in every pattern (dense, strided, broadcast from memory and
// from a known scalar), outputs of every kind, and the fallbacks.

import assert from "node:assert/strict";
import * as nb from "../../../mod.ts";
import { agree, gpu, ignore, ints, uniform } from "./_test_util.ts";
import { programKernel } from "./_program.ts";
import type { FusedSpec } from "../../core/backend.ts";
import type { GpuArray } from "./_array.ts";

type T = nb.Tensor;
type Fn = (...xs: T[]) => T | T[];

// Runs `f` jitted on cpu and webgpu copies of `inputs` (see `agree`), and checks that the
// webgpu call was one dispatch.
async function oneDispatch(f: Fn, inputs: T[], tol = {}): Promise<void> {
  const ctx = gpu().context;
  assert.ok(ctx.oneDispatchPrograms, "a software adapter runs small programs as one dispatch");
  const jf = nb.jit(f);
  await agree(jf, inputs, tol);
  const onGpu = await Promise.all(inputs.map((x) => x.to("webgpu")));
  const before = ctx.dispatched;
  const outs = [jf(...onGpu)].flat();
  assert.equal(ctx.dispatched - before, 1, "dispatches per call");
  assert.equal(jf.lower(...onGpu).kernels.length, 1, "kernels of the compiled program");
  await Promise.all(outs.map((o) => o.data()));
}

Deno.test({
  name: "small jitted programs run as one dispatch on webgpu and match the cpu reference",
  ignore,
  fn: async (t) => {
    const x = uniform([7, 13], 1, -3, 3), y = uniform([13], 2, -3, 3);
    const cases: [string, Fn, T[]][] = [
      [
        "elementwise chains over a broadcast row and scalars",
        (x, y) => x.mul(y).add(x.exp()).div(y.abs().add(1)).tanh().mul(2),
        [x, y],
      ],
      [
        "masks, select and converts",
        (x, y) => nb.where(x.greater(y), x.sigmoid(), y.sin()).add(x.less(0).astype("float32")),
        [x, y],
      ],
      [
        "int32 arithmetic and comparisons",
        (a, b) => [a.mul(b).sub(a.maximum(b)), a.greater(b).astype("int32").add(a)],
        [ints([5, 6], 3), ints([5, 6], 4)],
      ],
      ["transposed inputs", (x) => x.T.exp().sum({ axis: 0 }), [x]],
      ["a slice and reshapes", (x) => nb.slice(x, [2, 3], [4, 5]).reshape([20]).neg(), [x]],
      [
        "products with bias and activation",
        (a, w, b) => a.matmul(w).add(b).sigmoid().matmul(w.T),
        [uniform([9, 4], 5), uniform([4, 6], 6), uniform([6], 7)],
      ],
      [
        "batched products of views",
        (a, b) => a.matmul(b.transpose([0, 2, 1])),
        [uniform([2, 3, 4], 8), uniform([2, 5, 4], 9)],
      ],
      [
        "reductions over kept and reduced axes",
        (x) => [
          x.sum({ axis: [0, 2] }),
          x.max({ axis: 1 }),
          x.min(),
          x.prod({ axis: 2 }),
          x.exp().sum({ axis: 1 }),
        ],
        [uniform([3, 4, 5], 10, 0.5, 1.5)],
      ],
      ["int32 sums", (a) => a.sum({ axis: 1 }), [ints([4, 9], 11)]],
      [
        "softmax and logSoftmax along either axis",
        (
          x,
        ) => [nb.softmax(x, { axis: 0 }), nb.logSoftmax(x), nb.logSoftmax(x.mul(1e4), { axis: 0 })],
        [x],
      ],
      [
        "outputs that are views, repeated outputs, and inputs passed through",
        (x, y) => {
          const z = y.add(1);
          return [x.T, nb.broadcastTo(z, [2, 13]), z, z, x];
        },
        [x, y],
      ],
    ];
    for (const [name, f, inputs] of cases) await t.step(name, () => oneDispatch(f, inputs));
  },
});

Deno.test({
  name: "one-dispatch programs keep the cpu's NaN and infinity semantics",
  ignore,
  fn: async () => {
    const x = nb.tensor([[1, NaN, 3], [-Infinity, -Infinity, -Infinity], [2, Infinity, 0]]);
    await oneDispatch(
      (x) => [nb.logSoftmax(x), nb.softmax(x), x.max({ axis: 1 }), x.min({ axis: 0 })],
      [x],
    );
  },
});

Deno.test({
  name: "one-dispatch programs read broadcast inputs from memory and from known scalars",
  ignore,
  fn: async () => {
    const ctx = gpu().context;
    const f = nb.jit((a: T, b: T, c: T) => a.mul(b).add(c));
    const a = await uniform([3, 4], 12).to("webgpu");
    // A broadcast of a computed value (read from its buffer) and of an uploaded scalar (whose
    // value the kernel takes from its parameters, with no binding).
    const computed = nb.broadcastTo((await nb.tensor([2]).to("webgpu")).add(1), [3, 4]);
    const uploaded = nb.broadcastTo(await nb.tensor(0.5).to("webgpu"), [3, 4]);
    const before = ctx.dispatched;
    const out = f(a, computed, uploaded);
    assert.equal(ctx.dispatched - before, 1);
    const expected = (await a.data()).map((v) => v * 3 + 0.5);
    await nb.testing.assertAllClose(out, nb.tensor(expected, { shape: [3, 4] }), { atol: 1e-6 });
  },
});

Deno.test({
  name: "a jitted training step on webgpu is one dispatch, equal to the cpu's",
  ignore,
  fn: async () => {
    const ctx = gpu().context;
    const model = nb.nn.mlp([2, 10, 3]);
    const data = nb.data.spiral();
    type P = ReturnType<typeof model.init>;
    const step = nb.jit((params: P, x: T, t: T) => {
      const [loss, grads] = nb.valueAndGrad((p: P) =>
        nb.nn.softmaxCrossEntropy(model.apply(p, x), t)
      )(params);
      return [nb.tree.map((p: T, g: T) => p.sub(g.mul(0.5)), params, grads), loss] as const;
    }, { donateArgnums: 0 });
    const train = async (device: "cpu" | "webgpu") => {
      const to = (v: T) => v.to(device);
      const [leaves, def] = nb.tree.flatten<T>(model.init(nb.random.key(0)));
      let params = nb.tree.unflatten<P>(def, await Promise.all(leaves.map(to)));
      const [x, t] = await Promise.all([to(data.x), to(data.t)]);
      const losses: number[] = [];
      let dispatches = 0;
      for (let i = 0; i < 5; i++) {
        const before = ctx.dispatched;
        const [next, loss] = step(params, x, t);
        dispatches = ctx.dispatched - before;
        params = next;
        losses.push((await loss.data())[0]);
      }
      return { losses, dispatches, params: nb.tree.flatten<T>(params)[0] };
    };
    const [cpu, webgpu] = [await train("cpu"), await train("webgpu")];
    assert.equal(webgpu.dispatches, 1);
    await nb.testing.assertAllClose(nb.tensor(webgpu.losses), nb.tensor(cpu.losses), {
      rtol: 1e-5,
    });
    for (let i = 0; i < cpu.params.length; i++) {
      await nb.testing.assertAllClose(webgpu.params[i], cpu.params[i], { atol: 1e-5 });
    }
  },
});

// The spec of `(x, y) => [exp(x) * y, sum(x)]` over [4], its inputs' buffers, and the tensors
// that own them (held while the buffers are used: a collected tensor releases its buffer).
async function smallSpec(): Promise<[FusedSpec, GpuArray[], T[]]> {
  const f32 = (shape: number[]) => ({ shape, dtype: "float32", device: "webgpu" }) as const;
  const spec: FusedSpec = {
    inputs: [f32([4]), f32([4])],
    ops: [
      { name: "exp", params: {}, args: [0], out: f32([4]) },
      { name: "mul", params: {}, args: [2, 1], out: f32([4]) },
      { name: "reduceSum", params: { axes: [0] }, args: [0], out: f32([]) },
    ],
    outputs: [1, 2],
  };
  const x = await nb.tensor([0, 1, 2, 3]).to("webgpu");
  const y = await nb.tensor([1, 2, 3, 4]).to("webgpu");
  return [spec, [x.buffer as GpuArray, y.buffer as GpuArray], [x, y]];
}

Deno.test({
  name: "a program over the binding limit gathers its inputs, or runs its operations one by one",
  ignore,
  fn: async () => {
    const backend = gpu();
    const ctx = backend.context;
    const [spec, xs, owners] = await smallSpec();
    const run = (op: FusedSpec["ops"][number], args: readonly GpuArray[]) =>
      backend.run(op.name, args, op.params, op.out) as GpuArray;
    // Parameters, two inputs, two outputs and scratch: six bindings; five with the inputs
    // gathered into one buffer (copies, no dispatch); below that, one kernel per operation.
    for (const [limit, dispatches] of [[6, 1], [5, 1], [4, 3]]) {
      const kernel = programKernel(ctx, spec, limit, run)!;
      const before = ctx.dispatched;
      const [prod, sum] = kernel(xs);
      assert.equal(ctx.dispatched - before, dispatches, `dispatches under ${limit} bindings`);
      const e = [0, 1, 2, 3].map((v, i) => Math.exp(v) * (i + 1));
      const values = await backend.read(prod);
      e.forEach((v, i) => assert.ok(Math.abs(values[i] - v) < 1e-4 * v, `${values}`));
      assert.equal((await backend.read(sum))[0], 6);
      prod.release();
      sum.release();
    }
    owners.forEach((x) => x.dispose());
  },
});

Deno.test({
  name: "programs beyond the one-workgroup limits run as fused kernels",
  ignore,
  fn: async () => {
    const backend = gpu();
    const [spec] = await smallSpec();
    const gather = { ...spec, ops: [...spec.ops, { ...spec.ops[0], name: "gather" }] };
    assert.equal(programKernel(backend.context, gather, 16, () => null as never), null);
    // 256 x 512 x 512 multiply-adds: far more work than one workgroup should take.
    const a = await uniform([256, 512], 13).to("webgpu");
    const w = await uniform([512, 512], 14).to("webgpu");
    const kernels = nb.jit((a: T, w: T) => a.matmul(w).exp().sum()).lower(a, w).kernels;
    assert.ok(kernels.length > 1, `kernels ${kernels.map((k) => k.ops.join("+"))}`);
  },
});
