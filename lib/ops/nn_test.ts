import assert from "node:assert/strict";
import * as nb from "../../mod.ts";

const f32 = Math.fround;

/** Softmax of each row of a JS matrix, in float64. */
function softmaxRows(rows: number[][]): number[][] {
  return rows.map((r) => {
    const m = Math.max(...r);
    const e = r.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  });
}

const transpose = (m: number[][]): number[][] => m[0].map((_, j) => m.map((r) => r[j]));

Deno.test("softmax matches the seed's numbers", async () => {
  const x = nb.tensor([[-0.51222398, -0.48154886, -0.19620913]]);
  const y = nb.softmax(x);
  assert.equal(y.dtype, "float32");
  assert.deepEqual(y.shape, [1, 3]);
  await nb.testing.assertAllClose(y, [[0.29387554, 0.30302989, 0.40309457]], { rtol: 1e-6 });
  await nb.testing.assertAllClose(x.softmax(), [[0.29387554, 0.30302989, 0.40309457]], {
    rtol: 1e-6,
  });
});

Deno.test("softmax and logSoftmax along axes", async (t) => {
  const rows = [[1, 2, 3], [-1, 0, 4]];
  const x = nb.tensor(rows);
  await t.step("last axis by default and -1", async () => {
    const expected = softmaxRows(rows);
    await nb.testing.assertAllClose(nb.softmax(x), expected, { rtol: 1e-6 });
    await nb.testing.assertAllClose(nb.softmax(x, { axis: -1 }), expected, { rtol: 1e-6 });
    await nb.testing.assertAllClose(x.softmax({ axis: 1 }), expected, { rtol: 1e-6 });
    const logs = expected.map((r) => r.map(Math.log));
    await nb.testing.assertAllClose(nb.logSoftmax(x), logs, { rtol: 1e-6 });
    await nb.testing.assertAllClose(x.logSoftmax({ axis: -1 }), logs, { rtol: 1e-6 });
  });
  await t.step("axis 0", async () => {
    const expected = transpose(softmaxRows(transpose(rows)));
    await nb.testing.assertAllClose(nb.softmax(x, { axis: 0 }), expected, { rtol: 1e-6 });
    await nb.testing.assertAllClose(x.softmax({ axis: -2 }), expected, { rtol: 1e-6 });
    const logs = expected.map((r) => r.map(Math.log));
    await nb.testing.assertAllClose(nb.logSoftmax(x, { axis: 0 }), logs, { rtol: 1e-6 });
  });
  await t.step("3-d, middle axis", async () => {
    const data = Array.from({ length: 24 }, (_, i) => Math.sin(i) * 3);
    const y = nb.softmax(nb.tensor(data).reshape([2, 3, 4]), { axis: 1 });
    const expected: number[] = new Array(24);
    for (let i = 0; i < 2; i++) {
      for (let k = 0; k < 4; k++) {
        const col = [0, 1, 2].map((j) => data[i * 12 + j * 4 + k]);
        softmaxRows([col])[0].forEach((v, j) => (expected[i * 12 + j * 4 + k] = v));
      }
    }
    assert.deepEqual(y.shape, [2, 3, 4]);
    await nb.testing.assertAllClose(y.reshape([-1]), expected, { rtol: 1e-6 });
  });
  await t.step("rows sum to 1", async () => {
    const s = nb.softmax(x).sum({ axis: -1 });
    await nb.testing.assertAllClose(s, [1, 1], { rtol: 1e-6 });
  });
  await t.step("integer input gives float32", async () => {
    const y = nb.softmax(nb.tensor([0, 0], { dtype: "int32" }));
    assert.equal(y.dtype, "float32");
    assert.deepEqual(await y.toArray(), [0.5, 0.5]);
  });
  await t.step("float64 stays float64", async () => {
    const y = nb.logSoftmax(nb.tensor(new Float64Array([0, Math.log(3)])));
    assert.equal(y.dtype, "float64");
    await nb.testing.assertAllClose(y, [Math.log(0.25), Math.log(0.75)], { rtol: 1e-12 });
  });
  await t.step("a size-1 axis", async () => {
    assert.deepEqual(await nb.softmax(nb.tensor([[5], [-5]])).toArray(), [[1], [1]]);
    assert.deepEqual(await nb.logSoftmax(nb.tensor([[5], [-5]])).toArray(), [[0], [0]]);
  });
});

Deno.test("softmax and logSoftmax are stable at ±1e4", async (t) => {
  const x = nb.tensor([[1e4, -1e4, 0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4]]);
  await t.step("softmax gives exact finite values", async () => {
    assert.deepEqual(await nb.softmax(x).toArray(), [
      [1, 0, 0],
      [f32(1 / 3), f32(1 / 3), f32(1 / 3)],
      [0.5, 0.5, 0],
    ]);
  });
  await t.step("logSoftmax gives exact finite values", async () => {
    const y = await nb.logSoftmax(x).toArray() as number[][];
    assert.deepEqual(y[0], [0, -2e4, -1e4]);
    await nb.testing.assertAllClose(y[1], [-Math.log(3), -Math.log(3), -Math.log(3)], {
      rtol: 1e-6,
    });
    await nb.testing.assertAllClose(y[2], [-Math.LN2, -Math.LN2, -2e4 - Math.LN2], {
      rtol: 1e-6,
    });
    assert.ok(y.flat().every(Number.isFinite));
  });
  await t.step("along axis 0", async () => {
    const y = nb.softmax(nb.tensor([[1e4], [-1e4]]), { axis: 0 });
    assert.deepEqual(await y.toArray(), [[1], [0]]);
  });
});

Deno.test("softmax cross-entropy: library equals hand-computed loops", async () => {
  const logits = [
    [2.0, -1.0, 0.5, 0.1],
    [-0.3, 0.8, 1.9, -2.2],
    [0.0, 0.0, 0.0, 0.0],
    [5.0, -3.0, 1.0, 2.0],
    [-1.5, 2.5, 0.3, 0.7],
  ];
  const labels = [0, 2, 3, 1, 1];
  const n = logits.length;

  // By hand: p = softmax(logits) in JS loops, then -mean(log p[i, t[i]]).
  let total = 0;
  for (let i = 0; i < n; i++) {
    const row = logits[i].map(f32);
    let m = -Infinity;
    for (const v of row) m = Math.max(m, v);
    let s = 0;
    for (const v of row) s += Math.exp(v - m);
    const p = Math.exp(row[labels[i]] - m) / s;
    total += Math.log(p);
  }
  const expected = -total / n;

  // With the library: logSoftmax + gather([arange(N), t]) + mean.
  const x = nb.tensor(logits);
  const t = nb.tensor(labels, { dtype: "int32" });
  const picked = nb.gather(nb.logSoftmax(x), [nb.arange(n), t]);
  assert.deepEqual(picked.shape, [n]);
  const value = picked.mean().neg();
  assert.deepEqual(value.shape, []);
  assert.equal(value.dtype, "float32");
  await nb.testing.assertAllClose(value, expected, { rtol: 1e-6 });

  // The same through softmax, log and the p[arange(N), t] pattern.
  const p = nb.gather(nb.softmax(x), [nb.arange(n), t]);
  await nb.testing.assertAllClose(p.log().mean().neg(), expected, { rtol: 1e-6 });

  // And through oneHot: -mean(sum(oneHot(t) * logSoftmax(x), -1)).
  const viaOneHot = nb.oneHot(t, 4).mul(nb.logSoftmax(x)).sum({ axis: -1 }).mean().neg();
  await nb.testing.assertAllClose(viaOneHot, expected, { rtol: 1e-6 });
});

Deno.test("cross-entropy of huge logits stays finite", async () => {
  const x = nb.tensor([[1e4, -1e4], [-1e4, 1e4]]);
  const t = nb.tensor([1, 1], { dtype: "int32" });
  const loss = nb.gather(nb.logSoftmax(x), [nb.arange(2), t]).mean().neg();
  assert.equal(loss.item(), 1e4);
});
