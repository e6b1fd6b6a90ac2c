// Fused WGSL kernels against the cpu reference: jitted elementwise chains on WebGPU over
// strided, broadcast and odd-sized views, masks and int32 values, and the dispatches they save.

import assert from "node:assert/strict";
import * as nb from "../../../mod.ts";
import {
  agree,
  gpu,
  ignore,
  ints,
  kernelByKernel,
  uniform,
  withOtherKernels,
} from "./_test_util.ts";

type T = nb.Tensor;

Deno.test({
  name: "jitted elementwise chains on webgpu match the cpu reference",
  ignore,
  fn: (t) =>
    kernelByKernel(async () => {
      const x = uniform([7, 13], 1, -3, 3), y = uniform([13], 2, -3, 3);
      const chains: [string, (x: T, y: T) => T][] = [
        [
          "arithmetic and transcendental",
          (x, y) => x.mul(y).add(x.exp()).div(y.abs().add(1)).tanh(),
        ],
        [
          "masks and select",
          (x, y) => nb.where(x.greater(y), x.sigmoid(), y.sin()).add(x.less(0).astype("float32")),
        ],
        ["log and pow", (x, y) => x.abs().add(1).log().mul(y).add(x.square().pow(0.5))],
      ];
      for (const [name, chain] of chains) {
        await t.step(`${name}, broadcast row`, () => agree(nb.jit(chain), [x, y]));
        await t.step(
          `${name}, transposed`,
          () => agree(nb.jit((a: T, b: T) => chain(a.T, b.reshape([13, 1]))), [x, y]),
        );
      }
      await t.step(
        "int32 arithmetic",
        () =>
          agree(nb.jit((a: T, b: T) => a.mul(b).add(a).maximum(b)), [
            ints([5, 6], 3),
            ints([6], 4),
          ]),
      );
      await t.step("empty and one element", async () => {
        await agree(nb.jit((a: T) => a.exp().mul(a)), [uniform([0, 4], 5)]);
        await agree(nb.jit((a: T) => a.exp().mul(a)), [uniform([1], 6)]);
      });
    }),
});

Deno.test({
  name: "jitted reductions with elementwise prologues on webgpu match the cpu reference",
  ignore,
  fn: (t) =>
    kernelByKernel(async () => {
      const ctx = gpu().context;
      const x = uniform([7, 13], 7, -3, 3), y = uniform([13], 8, -3, 3);
      const labels = ints([7], 9, 0, 13);
      const reductions: [string, (x: T, y: T, labels: T) => T | T[]][] = [
        ["sum of squares over rows", (x, y) => x.sub(y).square().sum({ axis: 1 })],
        [
          "masked sum (a cross-entropy's pick)",
          (x, _y, l) =>
            nb.where(l.reshape([7, 1]).equal(nb.arange(0, 13, 1, { device: l.device })), x, 0).sum({
              axis: -1,
            }),
        ],
        ["bias gradient over the batch", (x, y) => x.mul(y).exp().sum({ axis: 0 })],
        ["maximum, minimum, all axes", (x, y) => [x.add(y).max({ axis: [0, 1] }), x.mul(y).min()]],
        ["over the middle axis", (x) => x.reshape([7, 13, 1]).tanh().sum({ axis: 1 })],
        ["a value used again (an extra output)", (x, y) => {
          const e = x.add(y).exp();
          return [e.sum({ axis: 1 }), e.mul(2)];
        }],
        ["transposed and broadcast inputs", (x, y) => x.T.mul(y.reshape([13, 1])).sum({ axis: 1 })],
        ["NaN rows", (x, y) => x.log().add(y).max({ axis: 1 })],
      ];
      for (const [name, f] of reductions) {
        await t.step(name, async () => {
          const before = ctx.dispatched;
          await agree(nb.jit(f), [x, y, labels], { rtol: 1e-5, atol: 1e-5 });
          assert.ok(ctx.dispatched > before);
        });
      }
      await t.step("one kernel for a chain and its reduction", async () => {
        const f = nb.jit((a: T, b: T) => a.sub(b).square().sum({ axis: 1 }));
        const [a, b] = await Promise.all([x.to("webgpu"), y.to("webgpu")]);
        f(a, b).dispose(); // compiles
        const before = ctx.dispatched;
        const s = f(a, b);
        assert.equal(ctx.dispatched - before, 1);
        const want = await x.sub(y).square().sum({ axis: 1 }).data();
        const got = await s.data();
        got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= 1e-4 * Math.abs(want[i])));
      });
    }),
});

Deno.test({
  name: "a jitted training step on webgpu dispatches fewer kernels than the eager one",
  ignore,
  fn: () =>
    kernelByKernel(async () => {
      const ctx = gpu().context;
      const model = nb.nn.mlp([2, 10, 3]);
      const opt = nb.optim.sgd(0.5);
      const data = nb.data.spiral();
      const [x, t] = await Promise.all([data.x.to("webgpu"), data.t.to("webgpu")]);
      type P = ReturnType<typeof model.init>;
      const step = (params: P, state: unknown) => {
        const [loss, grads] = nb.valueAndGrad((p: P) =>
          nb.nn.softmaxCrossEntropy(model.apply(p, x), t)
        )(params);
        const [updates, next] = opt.update(grads, state as never, params);
        return [nb.optim.applyUpdates(params, updates), next, loss] as const;
      };
      const init = async () => {
        const [leaves, def] = nb.tree.flatten<T>(model.init(nb.random.key(0)));
        const params = nb.tree.unflatten<P>(
          def,
          await Promise.all(leaves.map((l) => l.to("webgpu"))),
        );
        return [params, opt.init(params)] as const;
      };
      const count = async (f: typeof step) => {
        let [params, state] = await init();
        let loss: T | null = null;
        for (let i = 0; i < 3; i++) {
          const d0 = ctx.dispatched;
          [params, state, loss] = f(params, state);
          if (i === 2) return [ctx.dispatched - d0, (await loss.data())[0]] as const;
        }
        throw new Error("unreachable");
      };
      const [eager, eagerLoss] = await count(step);
      const jitStep = nb.jit(step, { donateArgnums: [0, 1] });
      const [jitted, jitLoss] = await count(jitStep);
      assert.ok(Math.abs(jitLoss - eagerLoss) < 1e-5, `losses ${jitLoss} and ${eagerLoss}`);
      assert.ok(jitted < eager, `dispatches per step: ${jitted} jitted, ${eager} eager`);
      // Each kernel of the compiled program is one dispatch, except views, which cost none.
      const [params, state] = await init();
      const views = new Set(["broadcast", "transpose", "reshape"]);
      const kernels = jitStep.lower(params, state).kernels.filter((k) => !views.has(k.ops[0]));
      assert.equal(jitted, kernels.length);
    }),
});

// Runs `body` with small programs as one dispatch each (as llvmpipe runs them) and kernel by
// kernel (as hardware does), whichever this adapter runs by default.
async function bothWays(
  t: Deno.TestContext,
  body: (kernelsPerStep: number) => Promise<void>,
): Promise<void> {
  const ctx = gpu().context;
  const before = ctx.oneDispatchPrograms;
  for (const one of [true, false]) {
    ctx.oneDispatchPrograms = one;
    try {
      await t.step(one ? "one dispatch" : "kernel by kernel", () => body(one ? 1 : 10));
    } finally {
      ctx.oneDispatchPrograms = before;
    }
  }
}

Deno.test({
  name: "a jitted webgpu step makes no pipelines or bind groups once its buffers repeat",
  ignore,
  fn: (t) =>
    bothWays(t, async (kernelsPerStep) => {
      const ctx = gpu().context;
      const model = nb.nn.mlp([2, 10, 3]);
      const data = nb.data.spiral();
      const [x, t] = await Promise.all([data.x.to("webgpu"), data.t.to("webgpu")]);
      type P = ReturnType<typeof model.init>;
      const step = nb.jit((params: P) => {
        const [loss, grads] = nb.valueAndGrad((p: P) =>
          nb.nn.softmaxCrossEntropy(model.apply(p, x), t)
        )(params);
        return [nb.tree.map((p: T, g: T) => p.sub(g.mul(0.5)), params, grads), loss] as const;
      }, { donateArgnums: 0 });
      const [leaves, def] = nb.tree.flatten<T>(model.init(nb.random.key(0)));
      let params = nb.tree.unflatten<P>(
        def,
        await Promise.all(leaves.map((l) => l.to("webgpu"))),
      );
      const losses: number[] = [];
      let counts = [0, 0, 0];
      for (let i = 0; i < 32; i++) {
        // The first calls compile and fill the pool; the buffers of the donated parameters and
        // their successors then take turns, and once the pool's order settles (within about
        // fifteen calls) every turn has been seen.
        if (i === 24) counts = [ctx.pipelineCount, ctx.bindGroupsCreated, ctx.dispatched];
        const [next, loss] = step(params);
        params = next;
        losses.push((await loss.data())[0]);
        loss.dispose();
      }
      assert.ok(losses[31] < losses[0], `losses ${losses}`);
      assert.ok(ctx.dispatched - counts[2] >= 8 * kernelsPerStep, "eight steps ran");
      assert.equal(ctx.pipelineCount, counts[0], "new pipelines");
      assert.equal(ctx.bindGroupsCreated, counts[1], "new bind groups");
    }),
});

Deno.test({
  name: "a jitted step with donated state runs a synchronous webgpu loop in flat memory",
  ignore,
  fn: (t) =>
    bothWays(t, async () => {
      const ctx = gpu().context;
      const model = nb.nn.mlp([2, 16, 3]);
      const opt = nb.optim.adam(0.05);
      const data = nb.data.spiral();
      const [x, t] = await Promise.all([data.x.to("webgpu"), data.t.to("webgpu")]);
      type P = ReturnType<typeof model.init>;
      const step = nb.jit((params: P, state: unknown) => {
        const [loss, grads] = nb.valueAndGrad((p: P) =>
          nb.nn.softmaxCrossEntropy(model.apply(p, x), t)
        )(params);
        const [updates, next] = opt.update(grads, state as never, params);
        return [nb.optim.applyUpdates(params, updates), next, loss] as const;
      }, { donateArgnums: [0, 1] });
      const [leaves, def] = nb.tree.flatten<T>(model.init(nb.random.key(0)));
      let params = nb.tree.unflatten<P>(def, await Promise.all(leaves.map((l) => l.to("webgpu"))));
      let state: unknown = opt.init(params);
      let first = NaN, last: T | null = null, liveAt20 = 0, createdAt20 = 0, groupsAt100 = 0;
      // No await inside the loop: the losses are dropped, read once at the end.
      for (let i = 1; i <= 200; i++) {
        const [p, s, loss] = step(params, state);
        [params, state] = [p, s];
        if (i === 1) first = (await loss.data())[0];
        if (i === 20) [liveAt20, createdAt20] = [ctx.stats().liveBytes, ctx.stats().created];
        if (i === 100) groupsAt100 = ctx.bindGroupsCreated;
        last = loss;
      }
      const stats = ctx.stats();
      assert.ok((await last!.data())[0] < first, "the loss went down");
      // Only the dropped losses may still be live (a scalar each, in the pool's smallest buffer
      // of 256 bytes) until the collector finds them: nothing else grows.
      const growth = stats.liveBytes - liveAt20;
      assert.ok(growth <= 180 * 256, `live bytes ${liveAt20} -> ${stats.liveBytes}`);
      // New buffers: one per step for its loss, none for parameters, state or intermediates.
      const created = stats.created - createdAt20;
      assert.ok(created <= 180 + 8, `buffers created: ${createdAt20} -> ${stats.created}`);
      // The dropped losses' buffers are missing from the pool, yet once the pool's order has
      // settled every call draws the same buffers as the last: no new bind groups, which
      // would pile up with the calls.
      assert.equal(ctx.bindGroupsCreated, groupsAt100, "new bind groups");
    }),
});

Deno.test({
  name: "fused chains with several outputs on webgpu match the cpu reference",
  ignore,
  fn: () =>
    kernelByKernel(() =>
      agree(
        nb.jit((x: T, y: T) => {
          const mask = x.greater(y), e = x.exp();
          return [mask, e, nb.where(mask, e, y).mul(e)];
        }),
        [uniform([7, 13], 21), uniform([7, 13], 22)],
      )
    ),
});

Deno.test({
  name: "a fused chain on webgpu writes all its outputs from one kernel",
  ignore,
  fn: () =>
    kernelByKernel(async () => {
      const ctx = gpu().context;
      const f = nb.jit((x: T, y: T) => {
        const mask = x.greater(y), e = x.exp();
        return [mask, e, nb.where(mask, e, y).mul(e)];
      });
      const [gx, gy] = await Promise.all(
        [uniform([7, 13], 23), uniform([7, 13], 24)].map((a) => a.to("webgpu")),
      );
      f(gx, gy);
      const before = ctx.dispatched;
      const [mask, e, z] = f(gx, gy);
      assert.equal(ctx.dispatched - before, 1);
      const [xs, ys] = [await gx.data(), await gy.data()];
      const [m, ev, zv] = [await mask.data(), await e.data(), await z.data()];
      for (let i = 0; i < xs.length; i++) {
        assert.equal(m[i], xs[i] > ys[i] ? 1 : 0);
        assert.ok(Math.abs(ev[i] - Math.exp(xs[i])) < 1e-5 * ev[i]);
        assert.ok(Math.abs(zv[i] - (m[i] ? ev[i] : ys[i]) * ev[i]) < 1e-5 * Math.abs(zv[i]) + 1e-6);
      }
    }),
});

Deno.test({
  name: "a fused chain with more inputs and outputs than bindings splits its outputs",
  ignore,
  fn: async () => {
    const backend = gpu();
    const ctx = backend.context;
    const f32 = { shape: [5], dtype: "float32", device: "webgpu" } as const;
    // As many inputs as a kernel may read (the sum of them), then three outputs: the sum, its
    // negation and its square, each needing a binding of its own.
    const n = backend.maxFusedInputs!;
    const inputs = Array.from({ length: n }, () => f32);
    const ops = [
      { name: "add", params: {}, args: [0, 1], out: f32 },
      ...Array.from({ length: n - 2 }, (_, j) => ({
        name: "add",
        params: {},
        args: [n + j, j + 2],
        out: f32,
      })),
    ];
    const sum = ops.length - 1;
    ops.push({ name: "neg", params: {}, args: [n + sum], out: f32 });
    ops.push({ name: "mul", params: {}, args: [n + sum, n + sum], out: f32 });
    const kernel = backend.compileFused!({ inputs, ops, outputs: [sum, sum + 1, sum + 2] })!;
    const xs = Array.from(
      { length: n },
      (_, i) => backend.fromArray(Float32Array.from({ length: 5 }, (_, j) => i + j), [5]),
    );
    const before = ctx.dispatched;
    const outs = kernel(xs);
    const room = ctx.device.limits.maxStorageBuffersPerShaderStage - 1 - n;
    assert.equal(ctx.dispatched - before, Math.ceil(3 / room));
    const total = (j: number) => (n * (n - 1)) / 2 + n * j;
    const values = await Promise.all(outs.map((o) => backend.read(o)));
    assert.deepEqual([...values[0]], [0, 1, 2, 3, 4].map(total));
    assert.deepEqual([...values[1]], [0, 1, 2, 3, 4].map((j) => -total(j)));
    assert.deepEqual([...values[2]], [0, 1, 2, 3, 4].map((j) => total(j) ** 2));
  },
});

Deno.test({
  name: "a fused reduction with more inputs and outputs than bindings writes its values apart",
  ignore,
  fn: async () => {
    const backend = gpu();
    const ctx = backend.context;
    const f32 = (shape: number[]) => ({ shape, dtype: "float32", device: "webgpu" }) as const;
    // As many inputs as a kernel may read, added up, then the sum both kept and reduced: with
    // the parameters, one binding more than a kernel has.
    const n = backend.maxFusedInputs!;
    const ops = [
      { name: "add", params: {}, args: [0, 1], out: f32([2, 3]) },
      ...Array.from({ length: n - 2 }, (_, j) => ({
        name: "add",
        params: {},
        args: [n + j, j + 2],
        out: f32([2, 3]),
      })),
    ];
    const sum = ops.length - 1;
    ops.push({ name: "reduceSum", params: { axes: [1] }, args: [n + sum], out: f32([2]) });
    const inputs = Array.from({ length: n }, () => f32([2, 3]));
    const kernel = backend.compileFused!({ inputs, ops, outputs: [sum, sum + 1] })!;
    const xs = Array.from(
      { length: n },
      (_, i) => backend.fromArray(Float32Array.from({ length: 6 }, (_, j) => i + j), [2, 3]),
    );
    const before = ctx.dispatched;
    const [values, reduced] = kernel(xs);
    assert.equal(ctx.dispatched - before, 2);
    const total = (j: number) => (n * (n - 1)) / 2 + n * j;
    assert.deepEqual([...await backend.read(values)], [0, 1, 2, 3, 4, 5].map(total));
    assert.deepEqual([...await backend.read(reduced)], [
      total(0) + total(1) + total(2),
      total(3) + total(4) + total(5),
    ]);
  },
});

Deno.test({
  name: "a product takes the elementwise chain after it into its kernel on webgpu",
  ignore,
  fn: (t) =>
    kernelByKernel(async () => {
      const ctx = gpu().context;
      const cases: [string, (x: T, w: T, b: T) => T[], T[]][] = [
        [
          "bias and activation, the pre-activation kept (odd sizes)",
          (x, w, b) => {
            const z = x.matmul(w).add(b);
            return [z.sigmoid(), z];
          },
          [uniform([67, 35], 31), uniform([35, 19], 32), uniform([19], 33)],
        ],
        [
          "transposed operands and a masked relu",
          (x, w, b) => [nb.where(x.T.matmul(w.T).greater(b), x.T.matmul(w.T), b.mul(0.1))],
          [uniform([8, 64], 34), uniform([16, 8], 35), uniform([64, 16], 36)],
        ],
      ];
      for (const [name, f, inputs] of cases) {
        await t.step(name, async () => {
          // (The other family once: on a software adapter its kernels take seconds to compile.)
          const families = ["this adapter's kernels", "the other family"];
          for (const family of name === cases[0][0] ? families : families.slice(0, 1)) {
            const check = async () => {
              const jf = nb.jit(f);
              await agree(jf, inputs, { rtol: 1e-4, atol: 1e-5 });
              const onGpu = await Promise.all(inputs.map((x) => x.to("webgpu")));
              const kernels = jf.lower(...(onGpu as [T, T, T])).kernels.map((k) => k.ops);
              assert.ok(kernels.some((ops) => ops[0] === "matmul" && ops.length > 1), `${kernels}`);
              const before = ctx.dispatched;
              const outs = jf(...(onGpu as [T, T, T]));
              const views = ["broadcast", "transpose", "reshape"];
              const launched = kernels.filter((ops) => !views.includes(ops[0])).length;
              assert.equal(ctx.dispatched - before, launched, `${family}: one dispatch a kernel`);
              await Promise.all(outs.map((o) => o.data()));
            };
            if (family === "the other family") await withOtherKernels(check);
            else await check();
          }
        });
      }
      await t.step("a chain with more inputs than one kernel binds: product, then chain", () => {
        const room = ctx.device.limits.maxStorageBuffersPerShaderStage;
        // Parameters, both operands, the product's value kept and the sum: the addends leave
        // room for one binding fewer than needed.
        const addends = Array.from({ length: room - 4 }, (_, i) => uniform([5, 6], 40 + i));
        const f = (x: T, w: T, ...rest: T[]) => {
          const z = x.matmul(w);
          return [rest.reduce((s, c) => s.add(c), z), z];
        };
        return agree(nb.jit(f), [uniform([5, 7], 38), uniform([7, 6], 39), ...addends], {
          rtol: 1e-5,
          atol: 1e-5,
        });
      });
    }),
});
