import assert from "node:assert/strict";
import * as nb from "../../mod.ts";

const { nn, random, tensor } = nb;
type M = number[][];

const matmulJs = (a: M, b: M): M =>
  a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
const sig = (x: number) => 1 / (1 + Math.exp(-x));

Deno.test("layers", async (t) => {
  await t.step("linear shapes and values", async () => {
    const lin = nn.linear(3, 2);
    const p = lin.init(random.key(0));
    assert.deepEqual(p.w.shape, [3, 2]);
    assert.deepEqual(p.b!.shape, [2]);
    const noBias = nn.linear(3, 2, { bias: false }).init(random.key(0));
    assert.equal(noBias.b, undefined);
    const w = [[1, 2], [-1, 0.5], [0, 3]];
    const b = [0.25, -1];
    const x = [[1, 2, 3], [-1, 0, 2]];
    const y = lin.apply({ w: tensor(w), b: tensor(b) }, tensor(x));
    assert.deepEqual(y.shape, [2, 2]);
    const expected = matmulJs(x, w).map((r) => r.map((v, j) => v + b[j]));
    await nb.testing.assertAllClose(y, expected);
    await nb.testing.assertAllClose(
      nn.linear(3, 2, { bias: false }).apply({ w: tensor(w) }, tensor(x)),
      matmulJs(x, w),
    );
    assert.throws(() => nn.linear(0, 2), RangeError);
  });

  await t.step("mlp", async () => {
    const m = nn.mlp([4, 5, 3]);
    const p = m.init(random.key(1));
    assert.equal(p.length, 2);
    assert.deepEqual(p[0].w.shape, [4, 5]);
    assert.deepEqual(p[1].w.shape, [5, 3]);
    const x = random.normal(random.key(2), [6, 4]);
    const y = m.apply(p, x);
    assert.deepEqual(y.shape, [6, 3]);
    const h = nn.sigmoid(x.matmul(p[0].w).add(p[0].b!));
    await nb.testing.assertAllClose(y, h.matmul(p[1].w).add(p[1].b!));
    const r = nn.mlp([4, 5, 3], { activation: nn.relu });
    const hr = nn.relu(x.matmul(p[0].w).add(p[0].b!));
    await nb.testing.assertAllClose(r.apply(p, x), hr.matmul(p[1].w).add(p[1].b!));
    assert.throws(() => nn.mlp([4]), RangeError);
  });

  await t.step("sequential", async () => {
    const l1 = nn.linear(2, 3), l2 = nn.linear(3, 1);
    const s = nn.sequential(l1, { init: () => ({}), apply: (_p, x) => nn.tanh(x) }, l2);
    const p = s.init(random.key(3)) as [nb.nn.LinearParams, unknown, nb.nn.LinearParams];
    assert.equal(p.length, 3);
    assert.deepEqual(p[0].w.shape, [2, 3]);
    assert.deepEqual(p[2].w.shape, [3, 1]);
    const x = tensor([[0.5, -1], [2, 0]]);
    const y = s.apply(p, x);
    assert.deepEqual(y.shape, [2, 1]);
    await nb.testing.assertAllClose(y, l2.apply(p[2], nn.tanh(l1.apply(p[0], x))));
  });

  await t.step("embedding", async () => {
    const e = nn.embedding(5, 3);
    const p = e.init(random.key(4));
    assert.deepEqual(p.table.shape, [5, 3]);
    const table = [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11], [12, 13, 14]];
    const ids = tensor([[4, 0], [2, 2]], { dtype: "int32" });
    const y = e.apply({ table: tensor(table) }, ids);
    assert.deepEqual(y.shape, [2, 2, 3]);
    await nb.testing.assertAllClose(y, [[table[4], table[0]], [table[2], table[2]]]);
  });
});

Deno.test("lstm", async (t) => {
  const D = 2, H = 3, B = 2;
  const wx = [[0.1, -0.2, 0.3, 0.4, -0.5, 0.6, 0.2, 0.1, -0.3, 0.5, 0.05, -0.15], [
    -0.3,
    0.2,
    0.1,
    -0.4,
    0.25,
    0.35,
    -0.1,
    0.45,
    0.15,
    -0.25,
    0.3,
    0.2,
  ]];
  const wh = Array.from(
    { length: H },
    (_, r) => Array.from({ length: 4 * H }, (_, c) => Math.sin(r * 7 + c) * 0.3),
  );
  const b = Array.from({ length: 4 * H }, (_, c) => 0.1 * ((c % 5) - 2));
  const params = { wx: tensor(wx), wh: tensor(wh), b: tensor(b) };

  /** One LSTM step by hand; gate order f, g, i, o along the 4H axis. */
  function stepJs(x: M, h: M, c: M) {
    const a = matmulJs(x, wx).map((r, i) => r.map((v, j) => v + matmulJs(h, wh)[i][j] + b[j]));
    const c2 = a.map((r, bi) =>
      Array.from({ length: H }, (_, j) => {
        const f = sig(r[j]), g = Math.tanh(r[H + j]), i = sig(r[2 * H + j]);
        return f * c[bi][j] + i * g;
      })
    );
    const h2 = a.map((r, bi) =>
      Array.from({ length: H }, (_, j) => sig(r[3 * H + j]) * Math.tanh(c2[bi][j]))
    );
    return { h: h2, c: c2 };
  }

  await t.step("init shapes", () => {
    const p = nn.lstm(D, H).init(random.key(0));
    assert.deepEqual(p.wx.shape, [D, 4 * H]);
    assert.deepEqual(p.wh.shape, [H, 4 * H]);
    assert.deepEqual(p.b.shape, [4 * H]);
  });

  await t.step("one step matches the gates by hand", async () => {
    const x = [[0.5, -1], [1.5, 0.25]];
    const zero = [[0, 0, 0], [0, 0, 0]];
    const out = nn.lstm(D, H).apply(params, tensor([[x[0]], [x[1]]]));
    assert.deepEqual(out.hs.shape, [B, 1, H]);
    const exp = stepJs(x, zero, zero);
    await nb.testing.assertAllClose(out.h, exp.h);
    await nb.testing.assertAllClose(out.c, exp.c);
    await nb.testing.assertAllClose(out.hs, exp.h.map((r) => [r]));
    // With a given initial state.
    const h0 = [[0.1, -0.2, 0.3], [0.4, 0, -0.1]];
    const c0 = [[-0.5, 0.2, 0.1], [0.3, 0.3, -0.2]];
    const out2 = nn.lstm(D, H).apply(params, tensor([[x[0]], [x[1]]]), {
      h: tensor(h0),
      c: tensor(c0),
    });
    const exp2 = stepJs(x, h0, c0);
    await nb.testing.assertAllClose(out2.h, exp2.h);
    await nb.testing.assertAllClose(out2.c, exp2.c);
  });

  await t.step("three steps by hand", async () => {
    const xs = [[[0.5, -1], [0.1, 0.2], [-0.7, 0.3]], [[1.5, 0.25], [0, -0.4], [0.9, 0.9]]];
    const out = nn.lstm(D, H).apply(params, tensor(xs));
    assert.deepEqual(out.hs.shape, [B, 3, H]);
    let h = [[0, 0, 0], [0, 0, 0]], c = [[0, 0, 0], [0, 0, 0]];
    const hs: M[] = [];
    for (let s = 0; s < 3; s++) {
      ({ h, c } = stepJs(xs.map((seq) => seq[s]), h, c));
      hs.push(h);
    }
    await nb.testing.assertAllClose(out.hs, [0, 1].map((bi) => hs.map((hh) => hh[bi])));
    await nb.testing.assertAllClose(out.h, h);
    await nb.testing.assertAllClose(out.c, c);
  });

  await t.step("checkGrads through a 3-step sequence", async () => {
    const xs = random.normal(random.key(5), [B, 3, D]);
    const f = (pwx: nb.Tensor, pwh: nb.Tensor, pb: nb.Tensor, x: nb.Tensor) => {
      const o = nn.lstm(D, H).apply({ wx: pwx, wh: pwh, b: pb }, x);
      return o.hs.square().sum().add(o.c.sum());
    };
    await nb.testing.checkGrads(f, [params.wx, params.wh, params.b, xs], {
      order: 1,
      modes: ["rev", "fwd"],
    });
  });

  await t.step("jitted gradients equal the eager ones on wasm", async () => {
    // The compiled backward loop recomputes some residuals and sums the recurrent weights'
    // gradient after the loop (see the jit passes); the values must not change.
    const xs = random.normal(random.key(7), [B, 6, D], { device: "wasm" });
    const onWasm = nb.tree.map(
      (v: nb.Tensor) => nb.tensor(v.dataSync(), { shape: v.shape, device: "wasm" }),
      params,
    );
    const loss = (p: nb.nn.LstmParams, x: nb.Tensor) => {
      const o = nn.lstm(D, H).apply(p, x);
      return o.hs.square().sum().add(o.c.sum());
    };
    const g = nb.valueAndGrad(loss, { argnums: [0, 1] });
    const [value, grads] = g(onWasm, xs);
    const [jitValue, jitGrads] = nb.jit(g)(onWasm, xs);
    await nb.testing.assertAllClose(jitValue, value, { rtol: 1e-5 });
    await nb.testing.assertAllClose(jitGrads, grads, { rtol: 1e-4, atol: 1e-6 });
  });

  await t.step(
    "checkpoint: the same values and gradients, and only inputs and states kept",
    async () => {
      const T = 4;
      const xs = random.normal(random.key(6), [B, T, D]);
      const lossOf = (checkpoint: boolean) => (p: nb.nn.LstmParams, x: nb.Tensor) => {
        const o = nn.lstm(D, H, { checkpoint }).apply(p, x);
        return o.hs.square().sum().add(o.c.sum());
      };
      const [plainLoss, plainGrads] = nb.valueAndGrad(lossOf(false), { argnums: [0, 1] })(
        params,
        xs,
      );
      const step = nb.jit(nb.valueAndGrad(lossOf(true), { argnums: [0, 1] }));
      const [loss, grads] = step(params, xs);
      await nb.testing.assertAllClose(loss, plainLoss, { rtol: 1e-5 });
      await nb.testing.assertAllClose(grads, plainGrads, { rtol: 1e-4, atol: 1e-6 });
      // What the backward loop reads per step: the input [B, D] and the states h, c [B, H]; no
      // gate, no [B, 4H] projection.
      const program = nb.makeJaxpr(nb.grad(lossOf(true)))(params, xs);
      const loops = program.equations.filter((e) => e.prim.name === "scan");
      assert.equal(loops.length, 2);
      const stacked = loops[1].inputs.filter((v) =>
        v.aval.shape[0] === T && v.aval.shape.length === 3
      );
      assert.deepEqual(
        stacked.map((v) => v.aval.shape.join("x")).sort(),
        [`${T}x${B}x${D}`, `${T}x${B}x${H}`, `${T}x${B}x${H}`, `${T}x${B}x${H}`],
      );
    },
  );
});

Deno.test("dotProductAttention", async (t) => {
  const q = random.normal(random.key(10), [2, 3, 4]);
  const k = random.normal(random.key(11), [2, 5, 4]);
  const v = random.normal(random.key(12), [2, 5, 6]);

  await t.step("weights sum to 1 and out = weights @ v", async () => {
    const { out, weights } = nn.dotProductAttention(q, k, v);
    assert.deepEqual(weights.shape, [2, 3, 5]);
    assert.deepEqual(out.shape, [2, 3, 6]);
    await nb.testing.assertAllClose(weights.sum({ axis: -1 }), [[1, 1, 1], [1, 1, 1]]);
    await nb.testing.assertAllClose(out, weights.matmul(v));
    const scores = q.matmul(k.transpose([0, 2, 1])).mul(1 / Math.sqrt(4));
    await nb.testing.assertAllClose(weights, nn.softmax(scores, { axis: -1 }));
  });

  await t.step("a mask zeroes masked weights", async () => {
    const maskJs = [0, 1, 2].map((i) => [0, 1, 2, 3, 4].map((j) => j <= i + 1));
    const mask = tensor(maskJs, { dtype: "bool" });
    const { out, weights } = nn.dotProductAttention(q, k, v, { mask });
    const w = await weights.toArray() as number[][][];
    for (const bw of w) {
      bw.forEach((row, i) =>
        row.forEach((val, j) => {
          if (!maskJs[i][j]) assert.equal(val, 0);
          else assert.ok(val > 0);
        })
      );
    }
    await nb.testing.assertAllClose(weights.sum({ axis: -1 }), [[1, 1, 1], [1, 1, 1]]);
    await nb.testing.assertAllClose(out, weights.matmul(v));
  });

  await t.step("checkGrads of out.sum() wrt q", async () => {
    await nb.testing.checkGrads(
      (qq: nb.Tensor) => nn.dotProductAttention(qq, k, v).out.sum(),
      [q],
      { order: 1, modes: ["rev", "fwd"] },
    );
  });
});

Deno.test("losses, metrics, activations", async (t) => {
  const logits = [[2, 1, 0.1], [0.5, 2.5, -1], [1, 1, 1], [-2, 0, 3]];
  const labels = [0, 1, 2, 2];
  const logSoftmaxJs = (r: number[]) => {
    const m = Math.max(...r);
    const lse = m + Math.log(r.reduce((s, v) => s + Math.exp(v - m), 0));
    return r.map((v) => v - lse);
  };

  await t.step("softmaxCrossEntropy", async () => {
    const lab = tensor(labels, { dtype: "int32" });
    const byHand = -logits.reduce((s, r, i) => s + logSoftmaxJs(r)[labels[i]], 0) / logits.length;
    await nb.testing.assertAllClose(nn.softmaxCrossEntropy(tensor(logits), lab), byHand);
    const labIgn = tensor([0, -100, 2, -100], { dtype: "int32" });
    const ign = -(logSoftmaxJs(logits[0])[0] + logSoftmaxJs(logits[2])[2]) / 2;
    await nb.testing.assertAllClose(
      nn.softmaxCrossEntropy(tensor(logits), labIgn, { ignoreIndex: -100 }),
      ign,
    );
    assert.throws(() => nn.softmaxCrossEntropy(tensor(logits), tensor([0, 1, 2, 2])), TypeError);
  });

  await t.step("meanSquaredError", async () => {
    const p = [[1, 2], [3, 4]], y = [[0, 2.5], [3, 6]];
    const exp = (1 + 0.25 + 0 + 4) / 4;
    await nb.testing.assertAllClose(nn.meanSquaredError(tensor(p), tensor(y)), exp);
  });

  await t.step("accuracy", async () => {
    // argmax per row: 0, 1, 0 (tie -> first), 2
    const acc = nn.accuracy(tensor(logits), tensor([0, 1, 2, 1], { dtype: "int32" }));
    await nb.testing.assertAllClose(acc, 0.5);
    await nb.testing.assertAllClose(
      nn.accuracy(tensor(logits), tensor([0, 1, 0, 2], { dtype: "int32" })),
      1,
    );
  });

  await t.step("gelu at known points", async () => {
    // tanh approximation: 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³)))
    const xs = [-3, -1, 0, 0.5, 1, 2];
    const exp = xs.map((x) =>
      0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)))
    );
    await nb.testing.assertAllClose(nn.gelu(tensor(xs)), exp);
    await nb.testing.assertAllClose(nn.gelu(tensor([0, 1, 2])), [0, 0.841192, 1.954598], {
      rtol: 1e-5,
      atol: 1e-5,
    });
  });
});
