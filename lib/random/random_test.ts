import assert from "node:assert/strict";
import * as nb from "../../mod.ts";

const { random } = nb;

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const variance = (a: number[]) => {
  const m = mean(a);
  return a.reduce((s, v) => s + (v - m) ** 2, 0) / a.length;
};

Deno.test("random matches JAX's bits", async (t) => {
  await t.step("split", () => {
    assert.deepEqual(random.split(random.key(0)), [[4146024105, 967050713], [
      2718843009,
      1272950319,
    ]]);
    assert.equal(random.split(random.key(0), 3).length, 3);
  });

  await t.step("uniform scalar", () => {
    assert.equal(random.uniform(random.key(0), []).item(), 0.41845703125);
  });

  await t.step("normal(key(0), [10])", async () => {
    await nb.testing.assertAllClose(random.normal(random.key(0), [10]), [
      -0.3721109,
      0.26423115,
      -0.18252768,
      -0.7368197,
      -0.44030377,
      -0.1521442,
      -0.67135346,
      -0.5908641,
      0.73168886,
      0.5673026,
    ], { rtol: 1e-5 });
  });

  await t.step("normal(key(42), [2, 3]) * 5", async () => {
    await nb.testing.assertAllClose(random.normal(random.key(42), [2, 3]).mul(5), [
      [3.0613258, 5.6129413, 5.6866574],
      [-4.063663, -4.4520254, 0.63115686],
    ], { rtol: 1e-5, atol: 1e-5 });
  });

  await t.step("the same key gives the same numbers", async () => {
    const a = await random.normal(random.key(7), [50]).toArray();
    const b = await random.normal(random.key(7), [50]).toArray();
    assert.deepEqual(a, b);
    const c = await random.normal(random.key(8), [50]).toArray();
    assert.notDeepEqual(a, c);
  });
});

Deno.test("random distributions", async (t) => {
  const N = 100_000;

  await t.step("uniform moments and range", async () => {
    const u = await random.uniform(random.key(1), [N]).toArray() as number[];
    assert.ok(u.every((v) => v >= 0 && v < 1));
    assert.ok(Math.abs(mean(u) - 0.5) < 0.005, `mean ${mean(u)}`);
    assert.ok(Math.abs(variance(u) - 1 / 12) < 0.002, `var ${variance(u)}`);
    const w = await random.uniform(random.key(2), [N], { minval: -2, maxval: 4 })
      .toArray() as number[];
    assert.ok(w.every((v) => v >= -2 && v < 4));
    assert.ok(Math.abs(mean(w) - 1) < 0.03, `mean ${mean(w)}`);
    assert.ok(Math.abs(variance(w) - 3) < 0.06, `var ${variance(w)}`);
  });

  await t.step("normal moments", async () => {
    const z = await random.normal(random.key(3), [N]).toArray() as number[];
    assert.ok(Math.abs(mean(z)) < 0.015, `mean ${mean(z)}`);
    assert.ok(Math.abs(variance(z) - 1) < 0.02, `var ${variance(z)}`);
    const m = mean(z);
    const skew = mean(z.map((v) => (v - m) ** 3));
    const kurt = mean(z.map((v) => (v - m) ** 4));
    assert.ok(Math.abs(skew) < 0.05, `skew ${skew}`);
    assert.ok(Math.abs(kurt - 3) < 0.1, `kurtosis ${kurt}`);
  });

  await t.step("bernoulli frequency", async () => {
    const b = random.bernoulli(random.key(4), 0.3, [N]);
    assert.equal(b.dtype, "bool");
    const vals = await b.toArray() as (boolean | number)[];
    const freq = vals.filter((v) => Boolean(v)).length / N;
    assert.ok(Math.abs(freq - 0.3) < 0.01, `freq ${freq}`);
  });

  await t.step("randint range, every value hit", async () => {
    const r = random.randint(random.key(5), [10_000], -3, 7);
    assert.equal(r.dtype, "int32");
    const vals = await r.toArray() as number[];
    assert.ok(vals.every((v) => Number.isInteger(v) && v >= -3 && v < 7));
    assert.deepEqual([...new Set(vals)].sort((a, b) => a - b), [-3, -2, -1, 0, 1, 2, 3, 4, 5, 6]);
    for (let v = -3; v < 7; v++) {
      const f = vals.filter((x) => x === v).length / vals.length;
      assert.ok(Math.abs(f - 0.1) < 0.02, `value ${v}: ${f}`);
    }
  });

  await t.step("permutation", async () => {
    for (const n of [0, 1, 10, 1000]) {
      const p = await random.permutation(random.key(6), n).toArray() as number[];
      assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
    }
    const a = await random.permutation(random.key(6), 100).toArray();
    const b = await random.permutation(random.key(6), 100).toArray();
    assert.deepEqual(a, b);
    const c = await random.permutation(random.key(9), 100).toArray();
    assert.notDeepEqual(a, c);
    assert.notDeepEqual(a, Array.from({ length: 100 }, (_, i) => i));
  });

  await t.step("categorical follows the probabilities", async () => {
    const probs = [0.2, 0.5, 0.3];
    const n = 20_000;
    const logits = nb.tensor(Array.from({ length: n }, () => probs.map(Math.log)));
    const draws = await random.categorical(random.key(10), logits).toArray() as number[];
    assert.equal(draws.length, n);
    probs.forEach((p, c) => {
      const f = draws.filter((d) => d === c).length / n;
      assert.ok(Math.abs(f - p) < 0.02, `class ${c}: ${f} vs ${p}`);
    });
    assert.ok(draws.every((d) => d >= 0 && d < 3));
  });
});
