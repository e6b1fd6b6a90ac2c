import assert from "node:assert/strict";
import * as nb from "../../mod.ts";
import { assertAllClose, checkGrads } from "../testing.ts";
import { getBackend } from "../core/backend.ts";

type T = nb.Tensor;

// A small recurrent cell: a carry threaded through matmul, tanh and a per-step input, with a
// per-step output.
const cell = (w: T) => (h: T, x: T): [T, T] => {
  const next = h.matmul(w).add(x).tanh();
  return [next, next.mul(next).sum()];
};
const viaScan = (w: T, h0: T, xs: T): T => {
  const [h, ys] = nb.scan(cell(w), h0, xs);
  return h.sum().add(ys.mul(nb.arange(xs.shape[0]).astype(ys.dtype).add(1)).sum());
};
const unrolled = (w: T, h0: T, xs: T): T => {
  let h = h0;
  let total = nb.zeros([], { dtype: h0.dtype });
  for (let t = 0; t < xs.shape[0]; t++) {
    const [next, y] = cell(w)(h, xs.slice([t, 0], [1, xs.shape[1]]).reshape([xs.shape[1]]));
    h = next;
    total = total.add(y.mul(t + 1));
  }
  return h.sum().add(total);
};
const inputs = (dtype: "float32" | "float64" = "float32"): [T, T, T] => [
  nb.tensor([[0.5, -0.2, 0.1], [0.1, 0.3, -0.4], [0.2, 0.0, 0.6]], { dtype }),
  nb.tensor([0.1, -0.1, 0.3], { dtype }),
  nb.tensor([[1, 2, 0], [-1, 0.5, 1], [0.3, -2, 0.7], [0, 1, -1]], { dtype }),
];

Deno.test("scan: values", async (t) => {
  await t.step("running sums, carry and stacked outputs", async () => {
    const [total, sums] = nb.scan(
      (c: T, x: T) => {
        const next = c.add(x);
        return [next, next];
      },
      nb.tensor(0),
      nb.tensor([1, 2, 3, 4]),
    );
    assert.equal(total.item(), 10);
    assert.deepEqual(await sums.toArray(), [1, 3, 6, 10]);
  });
  await t.step("equals the unrolled loop", async () => {
    const args = inputs();
    await assertAllClose(viaScan(...args), unrolled(...args), { rtol: 1e-6 });
  });
  await t.step("reverse runs from the last index; ys stay in index order", async () => {
    const [c, ys] = nb.scan((c: T, x: T) => [c.add(x), c], nb.tensor(0), nb.tensor([1, 2, 3]), {
      reverse: true,
    });
    assert.equal(c.item(), 6);
    assert.deepEqual(await ys.toArray(), [5, 3, 0]);
  });
  await t.step("pytrees of carries and xs, and no ys", async () => {
    const [c, ys] = nb.scan(
      (c: { s: T; n: T }, x: { a: T; b: T }) => [{ s: c.s.add(x.a.mul(x.b)), n: c.n.add(1) }, null],
      { s: nb.tensor(0), n: nb.tensor(0, { dtype: "int32" }) },
      { a: nb.tensor([1, 2, 3]), b: nb.tensor([4, 5, 6]) },
    );
    assert.equal(c.s.item(), 32);
    assert.equal(c.n.item(), 3);
    assert.equal(c.n.dtype, "int32");
    assert.equal(ys, null);
  });
  await t.step("length without xs; zero iterations", async () => {
    const [c] = nb.scan((c: T) => [c.mul(2), null], nb.tensor(1), null, { length: 5 });
    assert.equal(c.item(), 32);
    const [c0, ys0] = nb.scan((c: T, x: T) => [c.add(x), x.mul(2)], nb.tensor(7), nb.zeros([0]));
    assert.equal(c0.item(), 7);
    assert.deepEqual(ys0.shape, [0]);
  });
  await t.step("forLoop counts from lower to upper - 1", () => {
    const total = nb.forLoop(2, 6, (i: T, c: T) => c.add(i.astype("float32")), nb.tensor(0));
    assert.equal(total.item(), 2 + 3 + 4 + 5);
    assert.equal(nb.forLoop(3, 1, (_i: T, c: T) => c.add(1), nb.tensor(0)).item(), 0);
  });
  await t.step("the body is staged once: one equation whatever the length", () => {
    const step = (h: T, x: T): [T, T] => [h.add(x).tanh(), h];
    const count = (n: number) =>
      nb.makeJaxpr((xs: T) => nb.scan(step, nb.zeros([4]), xs))(nb.zeros([n, 4])).equations
        .length;
    assert.equal(count(29), count(290));
    assert.equal(count(29), 1);
  });
});

Deno.test("scan: derivatives", async (t) => {
  await t.step("grad equals the unrolled loop's, for every argument", async () => {
    const args = inputs();
    for (const argnums of [0, 1, 2]) {
      const a = nb.grad(viaScan, { argnums })(...args);
      const b = nb.grad(unrolled, { argnums })(...args);
      await assertAllClose(a, b, { rtol: 1e-5, atol: 1e-6 });
    }
  });
  await t.step("jvp equals the unrolled loop's", async () => {
    const args = inputs();
    const dir = nb.onesLike(args[0]).mul(0.3);
    const a = nb.jvp((w: T) => viaScan(w, args[1], args[2]), [args[0]], [dir])[1];
    const b = nb.jvp((w: T) => unrolled(w, args[1], args[2]), [args[0]], [dir])[1];
    await assertAllClose(a, b, { rtol: 1e-5 });
  });
  await t.step("checkGrads at order 2, both modes, float64", async () => {
    await checkGrads(viaScan, inputs("float64"), { order: 2 });
  });
  await t.step("reverse scans differentiate too", async () => {
    const f = (xs: T) =>
      nb.scan((c: T, x: T) => [c.mul(x).add(x), c.sin()], nb.tensor(0.5, { dtype: xs.dtype }), xs, {
        reverse: true,
      })[1].sum();
    await checkGrads(f, [nb.tensor([0.3, -0.7, 1.1], { dtype: "float64" })], { order: 2 });
  });
  await t.step("a carry that starts constant gets a tangent from the body", async () => {
    // the carry's initial value does not depend on x, but the body mixes x into it
    const f = (x: T) =>
      nb.scan((c: T) => [c.add(x).mul(c.add(1)), c], nb.tensor(0.1, { dtype: x.dtype }), null, {
        length: 3,
      })[0];
    await checkGrads(f, [nb.tensor(0.4, { dtype: "float64" })], { order: 2 });
  });
  await t.step("forLoop differentiates with static bounds", async () => {
    const f = (x: T) => nb.forLoop(0, 4, (i: T, c: T) => c.mul(x).add(i.astype(x.dtype)), x);
    await checkGrads(f, [nb.tensor(0.9, { dtype: "float64" })], { order: 2 });
  });
});

Deno.test("scan: vmap and jit", async (t) => {
  const [w, h0, xs] = inputs();
  const h0s = nb.tensor([[0.1, -0.1, 0.3], [0.0, 0.5, -0.2]]);
  await t.step("vmap over the initial carry equals a loop over examples", async () => {
    const batched = nb.vmap((h: T) => viaScan(w, h, xs))(h0s);
    const each = [0, 1].map((i) => viaScan(w, h0s.slice([i, 0], [1, 3]).reshape([3]), xs).item());
    await assertAllClose(batched, each, { rtol: 1e-6 });
  });
  await t.step("vmap over xs (batched per-step values) and of grad", async () => {
    const xss = nb.stack([xs, xs.mul(-0.5)]);
    const batched = nb.vmap((x: T) => viaScan(w, h0, x))(xss);
    const each = [xs, xs.mul(-0.5)].map((x) => viaScan(w, h0, x).item());
    await assertAllClose(batched, each, { rtol: 1e-6 });
    const grads = nb.vmap(nb.grad((h: T) => viaScan(w, h, xs)))(h0s);
    const loop = [0, 1].map((i) =>
      nb.grad((h: T) => unrolled(w, h, xs))(h0s.slice([i, 0], [1, 3]).reshape([3]))
    );
    await assertAllClose(grads, nb.stack(loop), { rtol: 1e-5, atol: 1e-6 });
  });
  await t.step("jit equals eager and compiles the loop as one kernel", async () => {
    const f = nb.jit(viaScan);
    await assertAllClose(f(w, h0, xs), viaScan(w, h0, xs), { rtol: 1e-6 });
    const kernels = f.lower(w, h0, xs).kernels.map((k) => k.ops.join("+"));
    assert.equal(kernels.filter((k) => k === "scan").length, 1);
    // a second call reuses the compiled loop
    await assertAllClose(f(w, h0, xs.mul(2)), viaScan(w, h0, xs.mul(2)), {
      rtol: 1e-6,
    });
  });
  await t.step("jit(grad), grad(jit) and jit(vmap) equal eager", async () => {
    const eager = nb.grad(viaScan)(w, h0, xs);
    await assertAllClose(nb.jit(nb.grad(viaScan))(w, h0, xs), eager, {
      rtol: 1e-5,
    });
    await assertAllClose(nb.grad(nb.jit(viaScan))(w, h0, xs), eager, {
      rtol: 1e-5,
    });
    const vm = nb.vmap((h: T) => viaScan(w, h, xs));
    await assertAllClose(nb.jit(vm)(h0s), vm(h0s), { rtol: 1e-6 });
  });
  await t.step("jit of a reverse scan and of zero iterations", async () => {
    const f = nb.jit((xs: T) =>
      nb.scan((c: T, x: T) => [c.add(x), c], nb.tensor(0), xs, { reverse: true })
    );
    const [c, ys] = f(nb.tensor([1, 2, 3]));
    assert.equal(c.item(), 6);
    assert.deepEqual(await ys.toArray(), [5, 3, 0]);
    const [c0, ys0] = f(nb.zeros([0]));
    assert.equal(c0.item(), 0);
    assert.deepEqual(ys0.shape, [0]);
  });
});

Deno.test("scan: bad input", async (t) => {
  const xs = nb.zeros([3, 2]);
  await t.step("a carry of another shape or dtype", () => {
    assert.throws(
      () => nb.scan((c: T, x: T) => [c.add(x), x], nb.tensor(0), xs),
      /scan: the carry f returned has shape \[2\], but init has shape \[\]/,
    );
    assert.throws(
      () => nb.scan((c: T) => [c.astype("int32"), null], nb.tensor(0), xs),
      /scan: the carry f returned is .*int32.*, but init is float32\[\]/,
    );
  });
  await t.step("xs of different lengths, a length that disagrees, a missing length", () => {
    assert.throws(() => nb.scan((c: T) => [c, null], nb.tensor(0), [xs, nb.zeros([4])]), {
      name: "RangeError",
      message: /scan: xs leaves must share their leading extent, got shapes \[3,2\], \[4\]/,
    });
    assert.throws(() => nb.scan((c: T) => [c, null], nb.tensor(0), xs, { length: 2 }), {
      name: "RangeError",
      message: /scan: length 2 does not match the leading extent 3 of xs/,
    });
    assert.throws(() => nb.scan((c: T) => [c, null], nb.tensor(0), null), {
      name: "TypeError",
      message: /scan: length is required when xs has no tensors/,
    });
  });
  await t.step("f that is not a function or returns no pair; a traced value read", () => {
    assert.throws(() => nb.scan(3 as never, nb.tensor(0), xs), /scan: f must be a function/);
    assert.throws(
      () => nb.scan((c: T) => c as never, nb.tensor(0), xs),
      /scan: f must return \[carry, y\], got a tensor/,
    );
    assert.throws(
      () => nb.scan((c: T) => [c.item() > 0 ? c : c.neg(), null], nb.tensor(0), xs),
      { name: "TypeError", message: /scan/ },
    );
  });
  await t.step("forLoop bounds", () => {
    assert.throws(() => nb.forLoop(0.5, 3, (_i: T, c: T) => c, nb.tensor(0)), {
      name: "TypeError",
      message: /forLoop: lower must be an integer, got 0.5/,
    });
  });
});

Deno.test("scan: a jitted loop on wasm writes each step's outputs into the stacked result", async (t) => {
  const backend = getBackend("wasm");
  // Counts the concatenations that stack a loop's outputs after it.
  const concats = (f: () => unknown) => {
    const run = backend.run;
    let count = 0;
    backend.run = (name, inputs, params, out) => {
      if (name === "concat") count++;
      return run.call(backend, name, inputs, params, out);
    };
    try {
      f();
    } finally {
      backend.run = run;
    }
    return count;
  };
  // (Large enough to live in the wasm heap, where kernels write.)
  const xs = (device: nb.Device) =>
    nb.tensor(Float32Array.from({ length: 5 * 64 * 128 }, (_, i) => Math.sin(i)), {
      shape: [5, 64, 128],
      device,
    });
  const cases: [string, (c: T, x: T) => [T, T[]], boolean, number][] = [
    // Each step's outputs computed by one fused kernel: written in place, nothing stacked after.
    ["fused outputs", (c, x) => [c.add(x), [x.exp().mul(c), x.tanh()]], false, 0],
    ["fused outputs, in reverse", (c, x) => [c.add(x), [x.exp().mul(c), x.tanh()]], true, 0],
    // A step's output that is also the next carry: the carry reads it from its step.
    [
      "an output that is also the carry",
      (c, x) => {
        const next = c.mul(0.5).add(x.exp());
        return [next, [next]];
      },
      false,
      0,
    ],
    // A product is no fused kernel: its steps are stacked by a concatenation after the loop.
    ["a product", (c, x) => [c.add(x), [x.matmul(c.T), x.neg()]], false, 1],
  ];
  for (const [name, body, reverse, stacked] of cases) {
    await t.step(name, async () => {
      const f = (c: T, xs: T) => nb.scan(body, c, xs, { reverse });
      const jitted = nb.jit(f);
      const c0 = (device: nb.Device) => nb.ones([64, 128], { device }).mul(0.5);
      jitted(c0("wasm"), xs("wasm")); // compiles
      let got: unknown;
      assert.equal(concats(() => (got = jitted(c0("wasm"), xs("wasm")))), stacked);
      await assertAllClose(got as T[], f(c0("cpu"), xs("cpu")), { rtol: 1e-4, atol: 1e-5 });
    });
  }
});
