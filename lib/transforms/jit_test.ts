// jit: compiled results equal eager ones for every primitive family and for compositions with
// the other transformations; the cache, static and donated arguments, and the errors.

import * as nb from "../../mod.ts";
import assert from "node:assert/strict";

const { assertAllClose } = nb.testing;
const { random } = nb;
type T = nb.Tensor;
type Params = nb.nn.LinearParams[];

const normal = (seed: number, shape: number[]) => random.normal(random.key(seed), shape);

// Each function runs eagerly and jitted on the same inputs; the results must agree.
const families: [string, (...xs: T[]) => unknown, () => T[]][] = [
  [
    "unary math",
    (x) => [x.exp(), x.sin(), x.cos(), x.tanh(), x.sigmoid(), x.abs().sqrt(), x.neg(), x.sign()],
    () => [normal(1, [3, 5])],
  ],
  [
    "binary with broadcasting and weak scalars",
    (
      x,
      y,
    ) => [
      x.add(y),
      x.sub(2),
      x.mul(y),
      x.div(y.abs().add(1)),
      x.maximum(y),
      x.minimum(0.5),
      x.pow(2),
    ],
    () => [normal(2, [4, 3]), normal(3, [3])],
  ],
  [
    "comparisons and where",
    (x, y) => [x.greater(y), x.lessEqual(0), nb.where(x.less(y), x, y), x.equal(x)],
    () => [normal(4, [6]), normal(5, [6])],
  ],
  [
    "casts",
    (x) => [x.astype("int32"), x.greater(0).astype("float32"), x.astype("int32").add(1)],
    () => [normal(6, [5]).mul(4)],
  ],
  [
    "reductions",
    (
      x,
    ) => [
      x.sum(),
      x.mean({ axis: 0 }),
      x.max({ axis: 1, keepdims: true }),
      x.min(),
      x.prod({ axis: 0 }),
      x.argmax({ axis: 1 }),
      x.logsumexp({ axis: -1 }),
      x.var(),
    ],
    () => [normal(7, [4, 6])],
  ],
  [
    "shape and movement",
    (
      x,
    ) => [
      x.reshape([6, 4]),
      x.T,
      x.transpose([1, 0]).reshape([-1]),
      x.slice([1, 2], [2, 3]),
      x.pad([[1, 0], [0, 2]], 3),
      nb.concat([x, x], 1),
      nb.stack([x, x]),
      x.expandDims(0).squeeze(),
      x.broadcastTo([2, 4, 6]),
      ...x.split(2, 1),
    ],
    () => [normal(8, [4, 6])],
  ],
  [
    "indexing",
    (
      x,
      i,
    ) => [
      x.take(i, { axis: 0 }),
      nb.takeAlongAxis(x, i.reshape([4, 1]).astype("int32"), 1),
      nb.oneHot(i, 5),
      nb.gather(x, [nb.arange(4, undefined, undefined, { dtype: "int32" }), i]),
    ],
    () => [normal(9, [4, 5]), nb.tensor([3, 0, 2, 1], { dtype: "int32" })],
  ],
  [
    "linear algebra",
    (
      a,
      b,
      v,
    ) => [a.matmul(b), nb.matmul(v, b), a.matmul(b).matmul(b.T), nb.dot(v, v), nb.outer(v, v)],
    () => [normal(10, [2, 3, 4]), normal(11, [4, 4]), normal(12, [4])],
  ],
  [
    "softmax and log-softmax",
    (
      x,
    ) => [
      x.softmax(),
      x.logSoftmax({ axis: 0 }),
      nb.nn.softmaxCrossEntropy(x, nb.tensor([1, 0, 2], { dtype: "int32" })),
    ],
    () => [normal(13, [3, 4])],
  ],
  [
    "creation inside",
    (x) => [x.add(nb.ones([3])), x.mul(nb.arange(3)), nb.zerosLike(x), x.add(nb.eye(3))],
    () => [normal(14, [3])],
  ],
];

Deno.test("jit equals eager evaluation for every primitive family", async (t) => {
  for (const [name, f, inputs] of families) {
    await t.step(name, async () => {
      const xs = inputs();
      const jitted = nb.jit(f);
      await assertAllClose(jitted(...xs), f(...xs), { rtol: 1e-5, atol: 1e-6 });
      await assertAllClose(jitted(...xs), f(...xs), { rtol: 1e-5, atol: 1e-6 }); // a cache hit
    });
  }
});

Deno.test("jit composes with the other transformations", async (t) => {
  const f = (w: T, x: T) => nb.tanh(x.matmul(w)).square().sum();
  const w = normal(20, [3, 2]), x = normal(21, [4, 3]);
  await t.step("jit(valueAndGrad(f))", async () => {
    await assertAllClose(nb.jit(nb.valueAndGrad(f))(w, x), nb.valueAndGrad(f)(w, x));
  });
  await t.step("grad(jit(f))", async () => {
    await assertAllClose(nb.grad(nb.jit(f))(w, x), nb.grad(f)(w, x));
  });
  await t.step("grad(grad(jit(f))) and jit(grad(grad(f)))", async () => {
    const g = (x: T) => x.pow(3).sin();
    const x0 = nb.tensor(0.7);
    const expected = nb.grad(nb.grad(g))(x0);
    await assertAllClose(nb.grad(nb.grad(nb.jit(g)))(x0), expected);
    await assertAllClose(nb.jit(nb.grad(nb.grad(g)))(x0), expected);
  });
  await t.step("vmap(jit(f)) and jit(vmap(f))", async () => {
    const ws = normal(22, [5, 3, 2]);
    const expected = nb.vmap(f, { inAxes: [0, null] })(ws, x);
    await assertAllClose(nb.vmap(nb.jit(f), { inAxes: [0, null] })(ws, x), expected);
    await assertAllClose(nb.jit(nb.vmap(f, { inAxes: [0, null] }))(ws, x), expected);
  });
  await t.step("jvp(jit(f)) and jit(jvp)", async () => {
    const tw = normal(23, [3, 2]);
    const expected = nb.jvp((w: T) => f(w, x), [w], [tw]);
    await assertAllClose(nb.jvp((w: T) => nb.jit(f)(w, x), [w], [tw]), expected);
    const jitted = nb.jit((w: T, tw: T) => nb.jvp((w: T) => f(w, x), [w], [tw]));
    await assertAllClose(jitted(w, tw), expected);
  });
  await t.step("vjp(jit(f))", async () => {
    const [y, back] = nb.vjp(nb.jit((w: T) => w.exp().mul(x.sum())), w);
    await assertAllClose(y, w.exp().mul(x.sum()));
    await assertAllClose(back(nb.onesLike(y))[0], w.exp().mul(x.sum()));
  });
  await t.step("jit(jit(f))", async () => {
    await assertAllClose(nb.jit(nb.jit(f))(w, x), f(w, x));
  });
  await t.step("customVjp inside jit, under grad", async () => {
    const clipped = nb.customVjp(
      (x: T) => x.mul(2),
      (x: T) => [x.mul(2), null],
      (_r, ct: T) => [ct.clip(-1, 1)],
    );
    const g = nb.jit(nb.grad((x: T) => clipped(x).mul(5).sum()));
    await assertAllClose(g(nb.tensor([1, 2])), [1, 1]);
  });
  await t.step("a jitted function closing over a tracer of grad", async () => {
    const h = (x: T) => nb.jit((y: T) => y.mul(x))(x).sum();
    await assertAllClose(nb.grad(h)(nb.tensor([1, 2, 3])), [2, 4, 6]);
    await assertAllClose(nb.grad(h)(nb.tensor([4, 5, 6])), [8, 10, 12]);
  });
  await t.step("a training step: jit(valueAndGrad) with an optimizer, over pytrees", async () => {
    const model = nb.nn.mlp([2, 8, 3]);
    const opt = nb.optim.adam(1e-2);
    const { x, t } = nb.data.spiral();
    const step = (params: Params, state: unknown) => {
      const [loss, grads] = nb.valueAndGrad((p: Params) =>
        nb.nn.softmaxCrossEntropy(model.apply(p, x), t)
      )(params);
      const [updates, next] = opt.update(grads, state as never, params);
      return [nb.optim.applyUpdates(params, updates), next, loss] as const;
    };
    let eager = [model.init(random.key(0)), opt.init(model.init(random.key(0)))] as const;
    let jitted = eager;
    const jstep = nb.jit(step);
    for (let i = 0; i < 3; i++) {
      const [p, s, loss] = step(...eager);
      const [jp, js, jloss] = jstep(...jitted);
      await assertAllClose(jloss, loss, { rtol: 1e-5 });
      await assertAllClose(jp, p, { rtol: 1e-4, atol: 1e-6 });
      eager = [p, s];
      jitted = [jp, js];
    }
  });
});

Deno.test("jit stages once per signature", async (t) => {
  let stagings = 0;
  const f = nb.jit((x: T, opts: { scale: number }) => {
    stagings++; // a side effect: runs when staging, not when the compiled program runs
    return x.mul(opts.scale);
  });
  await t.step("a cache hit does not stage again", async () => {
    await assertAllClose(f(nb.tensor([1, 2]), { scale: 2 }), [2, 4]);
    await assertAllClose(f(nb.tensor([3, 4]), { scale: 2 }), [6, 8]);
    assert.equal(stagings, 1);
  });
  await t.step("a new shape, dtype, structure or non-tensor value stages anew", async () => {
    await assertAllClose(f(nb.tensor([1, 2, 3]), { scale: 2 }), [2, 4, 6]);
    await assertAllClose(f(nb.tensor([1, 2], { dtype: "int32" }), { scale: 2 }), [2, 4]);
    await assertAllClose(f(nb.tensor([1, 2]), { scale: 3 }), [3, 6]);
    assert.equal(stagings, 4);
    f(nb.tensor([5, 6]), { scale: 3 });
    assert.equal(stagings, 4);
  });
  await t.step("static arguments are part of the signature, by value", async () => {
    let count = 0;
    const g = nb.jit((x: T, axis: number, keep: boolean) => {
      count++;
      return x.sum({ axis, keepdims: keep });
    }, { staticArgnums: [1, 2] });
    const x = nb.tensor([[1, 2], [3, 4]]);
    await assertAllClose(g(x, 0, false), [4, 6]);
    await assertAllClose(g(x, 1, true), [[3], [7]]);
    await assertAllClose(g(x, 0, false), [4, 6]);
    assert.equal(count, 2);
  });
  await t.step("outputs keep their pytree structure and non-tensor leaves", async () => {
    const h = nb.jit((x: T) => ({ y: x.neg(), n: 3, pair: [x, null] }));
    const out = h(nb.tensor([1, 2]));
    assert.equal(out.n, 3);
    assert.equal(out.pair[1], null);
    await assertAllClose(out.y, [-1, -2]);
    await assertAllClose(out.pair[0], [1, 2]);
  });
});

Deno.test("jit's outputs are new tensors, never its inputs", async () => {
  const x = nb.tensor([1, 2, 3]);
  const [same, reshaped] = nb.jit((x: T) => [x, x.reshape([3])])(x);
  assert.notEqual(same, x);
  assert.notEqual(reshaped, x);
  same.dispose();
  reshaped.dispose();
  await assertAllClose(x, [1, 2, 3]);
});

Deno.test("donated arguments give their memory up", async (t) => {
  await t.step("reading a donated tensor afterwards is a TypeError", () => {
    const step = nb.jit((p: T, g: T) => p.sub(g.mul(0.1)), { donateArgnums: 0 });
    const p = nb.tensor([1, 2]), g = nb.tensor([1, 1]);
    const next = step(p, g);
    assert.deepEqual([...next.dataSync()].map((v) => Math.round(v * 10)), [9, 19]);
    assert.throws(() => p.dataSync(), { name: "TypeError", message: /donated to jit/ });
    assert.deepEqual([...g.dataSync()], [1, 1], "undonated arguments stay");
  });
  await t.step("an argument cannot be both static and donated", () => {
    assert.throws(
      () => nb.jit((x: T) => x, { staticArgnums: 0, donateArgnums: 0 }),
      TypeError,
    );
  });
  await t.step("a tensor passed twice is not donated", async () => {
    const step = nb.jit((a: T, b: T) => a.add(b), { donateArgnums: 0 });
    const x = nb.tensor([1, 2]);
    await assertAllClose(step(x, x), [2, 4]);
    await assertAllClose(x, [1, 2]);
  });
});

Deno.test("a jitted training step with donated state runs a synchronous loop in flat memory", async () => {
  if (nb.getDefaultDevice() !== "wasm") return;
  const { wasmBackend } = await import("../backends/wasm/mod.ts");
  const { nn, optim } = nb;
  const model = nn.mlp([2, 128, 128, 3]);
  const opt = optim.adam(1e-2);
  const { x, t } = nb.data.spiral();
  const step = nb.jit((params: Params, state: unknown) => {
    const [loss, grads] = nb.valueAndGrad((p: Params) =>
      nn.softmaxCrossEntropy(model.apply(p, x), t)
    )(params);
    const [updates, next] = opt.update(grads, state as never, params);
    return [optim.applyUpdates(params, updates), next, loss] as const;
  }, { donateArgnums: [0, 1] });
  let params = model.init(random.key(0));
  let state: unknown = opt.init(params);
  let first = 0, last = 0, usedAt100 = 0;
  for (let i = 1; i <= 1000; i++) {
    const [p, s, loss] = step(params, state);
    [params, state] = [p, s];
    const value = loss.dataSync()[0];
    if (i === 1) first = value;
    if (i === 100) usedAt100 = wasmBackend.stats().used;
    last = value;
  }
  const growth = (wasmBackend.stats().used - usedAt100) / (1 << 20);
  assert.ok(growth <= 1, `live heap bytes grew by ${growth} MiB from step 100 to 1000`);
  assert.ok(last < first / 4, `loss ${first} -> ${last}`);
});

Deno.test("jit errors name the operation", async (t) => {
  await t.step("reading a traced value is a TypeError", () => {
    const x = nb.tensor([1, 2]);
    assert.throws(() => nb.jit((x: T) => x.sum().item())(x), {
      name: "TypeError",
      message: /item: float32\[\] is a traced value inside jit/,
    });
    assert.throws(() => nb.jit((x: T) => x.dataSync())(x), {
      name: "TypeError",
      message: /dataSync/,
    });
    assert.throws(() => nb.jit((x: T) => (Number(x.sum()) > 0 ? x : x.neg()))(x), {
      name: "TypeError",
      message: /traced value inside jit/,
    });
  });
  await t.step("values are readable inside grad, as Python control flow is in JAX", async () => {
    const f = (x: T) => (Number(x.sum()) > 0 ? x.square() : x.neg()).sum();
    await assertAllClose(nb.grad(f)(nb.tensor([1, 2])), [2, 4]);
    await assertAllClose(nb.grad(f)(nb.tensor([-1, -2])), [-1, -1]);
  });
  await t.step("bad options", () => {
    assert.throws(() => nb.jit((x: T) => x, { staticArgnums: -1 }), RangeError);
    assert.throws(() => nb.jit((x: T) => x, { staticArgnums: 3 })(nb.tensor(1)), RangeError);
    assert.throws(() => nb.jit("nope" as unknown as (x: T) => T), {
      name: "TypeError",
      message: /jit: f must be a function, got string/,
    });
    assert.throws(() => nb.makeJaxpr(null as unknown as (x: T) => T), /makeJaxpr: f must be/);
  });
});

Deno.test("makeJaxpr and lower show the program and its kernels", async (t) => {
  const f = (x: T) => x.exp().add(x.exp()).sum();
  const x = nb.tensor([1, 2]);
  await t.step("makeJaxpr lists every staged equation", () => {
    const text = nb.makeJaxpr(f)(x).toString();
    assert.equal(
      text,
      [
        "{ lambda ; a:float32[2] . let",
        "    b:float32[2] = exp a",
        "    c:float32[2] = exp a",
        "    d:float32[2] = add b c",
        "    e:float32[] = reduceSum[axes=[0]] d",
        "  in (e) }",
      ].join("\n"),
    );
  });
  await t.step("lower reports the optimised program's kernels", () => {
    const lowered = nb.jit(f).lower(x);
    const fused = x.device === "wasm";
    assert.deepEqual(
      lowered.kernels.map((k) => k.ops),
      fused ? [["exp", "add", "reduceSum"]] : [["exp"], ["add"], ["reduceSum"]],
    );
    assert.match(lowered.toString(), fused ? /1 kernels/ : /3 kernels/);
  });
  await t.step("dead code and constant work are gone", () => {
    const scale = nb.tensor([2, 3]);
    const g = (x: T) => {
      x.sin(); // unused
      return x.mul(scale.exp().add(1));
    };
    assert.deepEqual(nb.jit(g).lower(x).kernels.map((k) => k.ops[0]), ["mul"]);
  });
});

Deno.test("a jitted seq2seq training step (LSTMs, attention, clipping, Adam) equals the eager one", async () => {
  const { nn, optim } = nb;
  const [V, B, TIN, TOUT] = [13, 6, 7, 4];
  const model = nn.seq2seq({ vocabSize: V, embedDim: 8, hiddenSize: 16, attention: true });
  type P = nb.nn.Seq2seqParams;
  const opt = optim.chain(optim.clipByGlobalNorm(1), optim.adam(1e-2));
  const step = (p: P, s: unknown, x: T, decIn: T, decOut: T) => {
    const [loss, grads] = nb.valueAndGrad((p: P) =>
      nn.softmaxCrossEntropy(model.apply(p, x, decIn).logits, decOut)
    )(p);
    const [updates, next] = opt.update(grads, s as never, p);
    return [optim.applyUpdates(p, updates), next, loss] as const;
  };
  const ids = (seed: number, shape: number[]) => random.randint(random.key(seed), shape, 0, V);
  const [x, decIn, decOut] = [ids(1, [B, TIN]), ids(2, [B, TOUT]), ids(3, [B, TOUT])];
  let eager: [P, unknown] = [model.init(random.key(0)), null];
  eager[1] = opt.init(eager[0]);
  let jitted = eager;
  const jstep = nb.jit(step);
  for (let i = 0; i < 3; i++) {
    const [p, s, loss] = step(...eager, x, decIn, decOut);
    const [jp, js, jloss] = jstep(...jitted, x, decIn, decOut);
    await assertAllClose(jloss, loss, { rtol: 1e-5 });
    [eager, jitted] = [[p, s], [jp, js]];
  }
  await assertAllClose(jitted[0], eager[0], { rtol: 1e-4, atol: 1e-5 });
});
