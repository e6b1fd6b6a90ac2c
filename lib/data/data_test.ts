import assert from "node:assert/strict";
import * as nb from "../../mod.ts";

const { data, random, tensor } = nb;

Deno.test("spiral", async (t) => {
  const train = data.spiral();
  const test = data.spiral({ train: false });

  await t.step("shapes and dtypes", () => {
    for (const d of [train, test]) {
      assert.deepEqual(d.x.shape, [300, 2]);
      assert.equal(d.x.dtype, "float32");
      assert.deepEqual(d.t.shape, [300]);
      assert.equal(d.t.dtype, "int32");
    }
  });

  await t.step("100 per class, radius <= 1, shuffled", async () => {
    const labels = await train.t.toArray() as number[];
    for (const c of [0, 1, 2]) assert.equal(labels.filter((l) => l === c).length, 100);
    assert.notDeepEqual(labels, [...labels].sort((a, b) => a - b));
    const x = await train.x.toArray() as number[][];
    assert.ok(x.every(([a, b]) => Math.hypot(a, b) <= 1 + 1e-6));
    // Radii are i/100 for i < 100: each class has a point at the origin and one at 0.99.
    for (const c of [0, 1, 2]) {
      const radii = x.filter((_, i) => labels[i] === c).map(([a, b]) => Math.hypot(a, b));
      radii.sort((a, b) => a - b);
      assert.ok(radii[0] < 1e-6);
      assert.ok(Math.abs(radii[99] - 0.99) < 1e-5);
    }
  });

  await t.step("train differs from test; both deterministic", async () => {
    assert.notDeepEqual(await train.x.toArray(), await test.x.toArray());
    assert.deepEqual(await data.spiral().x.toArray(), await train.x.toArray());
    assert.deepEqual(await data.spiral().t.toArray(), await train.t.toArray());
    assert.deepEqual(await data.spiral({ train: false }).x.toArray(), await test.x.toArray());
  });
});

Deno.test("batches", async (t) => {
  const n = 10;
  const ds = {
    x: tensor(Array.from({ length: n }, (_, i) => [i, 10 * i])),
    y: tensor(Array.from({ length: n }, (_, i) => i), { dtype: "int32" }),
  };

  async function collect(opts: nb.data.BatchOptions, size = 3) {
    const ys: number[][] = [];
    for (const b of data.batches(ds, size, opts)) {
      const x = await b.x.toArray() as number[][];
      const y = await b.y.toArray() as number[];
      assert.deepEqual(b.x.shape, [y.length, 2]);
      // Rows stay aligned across leaves.
      x.forEach((row, i) => assert.deepEqual(row, [y[i], 10 * y[i]]));
      ys.push(y);
    }
    return ys;
  }

  await t.step("shuffled: every example once per epoch", async () => {
    const ys = await collect({ key: random.key(0) });
    assert.deepEqual(ys.map((y) => y.length), [3, 3, 3, 1]);
    const all = ys.flat();
    assert.deepEqual([...all].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
    assert.notDeepEqual(all, Array.from({ length: n }, (_, i) => i));
    assert.deepEqual(await collect({ key: random.key(0) }), ys);
    assert.notDeepEqual((await collect({ key: random.key(1) })).flat(), all);
  });

  await t.step("without shuffle: in order", async () => {
    const ys = await collect({ shuffle: false });
    assert.deepEqual(ys, [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);
    assert.deepEqual(await collect({ shuffle: false }, 5), [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]);
    assert.deepEqual(await collect({ shuffle: false }, 20), [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]);
  });

  await t.step("dropLast drops the short batch", async () => {
    assert.deepEqual(await collect({ shuffle: false, dropLast: true }), [[0, 1, 2], [3, 4, 5], [
      6,
      7,
      8,
    ]]);
    const ys = await collect({ key: random.key(2), dropLast: true });
    assert.deepEqual(ys.map((y) => y.length), [3, 3, 3]);
    assert.equal(new Set(ys.flat()).size, 9);
    assert.deepEqual(await collect({ shuffle: false, dropLast: true }, 5), [[0, 1, 2, 3, 4], [
      5,
      6,
      7,
      8,
      9,
    ]]);
  });

  await t.step("errors", () => {
    assert.throws(() => [...data.batches(ds, 3)], TypeError);
    assert.throws(() => [...data.batches(ds, 3, { shuffle: true })], /key/);
    assert.throws(() => [...data.batches(ds, 0, { shuffle: false })], RangeError);
    assert.throws(
      () => [...data.batches({ a: tensor([1, 2]), b: tensor([1, 2, 3]) }, 1, { shuffle: false })],
      RangeError,
    );
  });
});

Deno.test("sine", async () => {
  const d = data.sine({ n: 200, seed: 3 });
  assert.deepEqual(d.x.shape, [200, 1]);
  assert.deepEqual(d.y.shape, [200, 1]);
  assert.equal(d.x.dtype, "float32");
  assert.equal(d.y.dtype, "float32");
  const x = (await d.x.toArray() as number[][]).map((r) => r[0]);
  const y = (await d.y.toArray() as number[][]).map((r) => r[0]);
  assert.ok(x.every((v) => v >= 0 && v < 1));
  x.forEach((xi, i) => {
    const r = y[i] - Math.sin(2 * Math.PI * xi);
    assert.ok(r >= -1e-5 && r < 1 + 1e-5, `residual ${r} at ${i}`);
  });
  assert.deepEqual(data.sine().x.shape, [100, 1]);
  assert.deepEqual(await data.sine({ n: 200, seed: 3 }).y.toArray(), await d.y.toArray());
  assert.notDeepEqual(await data.sine({ n: 200, seed: 4 }).y.toArray(), await d.y.toArray());
});
