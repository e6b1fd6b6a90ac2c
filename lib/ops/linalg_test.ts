import assert from "node:assert/strict";
import * as nb from "../../mod.ts";

/** Deterministic small values in [-2, 2) with a few fractional bits (exact in float32). */
function values(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.floor((s / 2 ** 32) * 64) / 16 - 2;
  });
}

function rand(shape: number[], seed: number): { t: nb.Tensor; data: number[] } {
  const data = values(shape.reduce((a, b) => a * b, 1), seed);
  return { t: nb.tensor(data).reshape(shape), data };
}

/** Row-major strides. */
const strides = (shape: number[]): number[] =>
  shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));

/**
 * NumPy matmul by naive loops: 1-d operands are promoted (and the added axis dropped), batch
 * dims broadcast.
 */
function matmulRef(
  a: number[],
  aShape: number[],
  b: number[],
  bShape: number[],
): { values: number[]; shape: number[] } {
  const as = aShape.length === 1 ? [1, aShape[0]] : aShape;
  const bs = bShape.length === 1 ? [bShape[0], 1] : bShape;
  const [m, k] = as.slice(-2);
  const n = bs[bs.length - 1];
  const ab = as.slice(0, -2);
  const bb = bs.slice(0, -2);
  const rank = Math.max(ab.length, bb.length);
  const pa = [...Array(rank - ab.length).fill(1), ...ab];
  const pb = [...Array(rank - bb.length).fill(1), ...bb];
  const batch = pa.map((d, i) => Math.max(d, pb[i]));
  const batchSize = batch.reduce((x, y) => x * y, 1);
  const sa = strides(pa);
  const sb = strides(pb);
  const out: number[] = [];
  for (let q = 0; q < batchSize; q++) {
    let rest = q;
    let offA = 0;
    let offB = 0;
    for (let d = rank - 1; d >= 0; d--) {
      const i = rest % batch[d];
      rest = Math.floor(rest / batch[d]);
      if (pa[d] !== 1) offA += i * sa[d];
      if (pb[d] !== 1) offB += i * sb[d];
    }
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let l = 0; l < k; l++) acc += a[(offA * m + i) * k + l] * b[(offB * k + l) * n + j];
        out.push(acc);
      }
    }
  }
  const shape = [
    ...batch,
    ...(aShape.length === 1 ? [] : [m]),
    ...(bShape.length === 1 ? [] : [n]),
  ];
  return { values: out, shape };
}

async function expectValues(x: nb.Tensor, ref: { values: number[]; shape: number[] }) {
  assert.equal(x.dtype, "float32");
  assert.deepEqual(x.shape, ref.shape);
  await nb.testing.assertAllClose(x.reshape([-1]), ref.values, { rtol: 1e-6, atol: 1e-5 });
}

Deno.test("matmul against naive loops", async (t) => {
  const cases: [string, number[], number[]][] = [
    ["2-d @ 2-d", [3, 4], [4, 5]],
    ["1-d @ 2-d", [4], [4, 3]],
    ["2-d @ 1-d", [3, 4], [4]],
    ["1-d @ 1-d is a scalar", [4], [4]],
    ["batched [2,3,4] @ [4,5]", [2, 3, 4], [4, 5]],
    ["batched [4] @ [2,4,5]", [4], [2, 4, 5]],
    ["batched [2,3,4] @ [2,4,5]", [2, 3, 4], [2, 4, 5]],
    ["broadcast batch [2,1,3,4] @ [5,4,2]", [2, 1, 3, 4], [5, 4, 2]],
    ["1×1", [1, 1], [1, 1]],
    ["empty inner dim gives zeros", [2, 0], [0, 3]],
  ];
  for (const [name, sa, sb] of cases) {
    await t.step(name, async () => {
      const a = rand(sa, 1);
      const b = rand(sb, 2);
      const ref = matmulRef(a.data, sa, b.data, sb);
      await expectValues(nb.matmul(a.t, b.t), ref);
      await expectValues(a.t.matmul(b.t), ref);
    });
  }
  await t.step("hand-computed", async () => {
    const a = nb.tensor([[1, 2], [3, 4]]);
    const b = nb.tensor([[5, 6], [7, 8]]);
    assert.deepEqual(await a.matmul(b).toArray(), [[19, 22], [43, 50]]);
    assert.deepEqual(await nb.matmul(nb.tensor([1, 2]), b).toArray(), [19, 22]);
    const s = nb.matmul(nb.tensor([1, 2, 3]), nb.tensor([4, 5, 6]));
    assert.deepEqual(s.shape, []);
    assert.equal(s.item(), 32);
  });
  await t.step("of a transposed operand", async () => {
    const a = rand([4, 3], 3);
    const b = rand([4, 2], 4);
    const aT = [0, 1, 2].flatMap((i) => [0, 1, 2, 3].map((j) => a.data[j * 3 + i]));
    await expectValues(a.t.T.matmul(b.t), matmulRef(aT, [3, 4], b.data, [4, 2]));
  });
  await t.step("dtypes", async () => {
    const i = nb.tensor([[1, 2], [3, 4]], { dtype: "int32" });
    const y = i.matmul(i);
    assert.equal(y.dtype, "int32");
    assert.deepEqual(await y.toArray(), [[7, 10], [15, 22]]);
    assert.equal(i.matmul(nb.tensor([[0.5], [0.5]])).dtype, "float32");
    const d = nb.tensor(new Float64Array([0.1, 0.2]), { shape: [1, 2] });
    const dd = d.matmul(d.T);
    assert.equal(dd.dtype, "float64");
    assert.equal(dd.item(), 0.1 * 0.1 + 0.2 * 0.2);
    const b = nb.tensor([[true, true]]).matmul(nb.tensor([[true], [true]]));
    assert.deepEqual([b.dtype, b.item()], ["int32", 2]);
  });
});

Deno.test("dot", async (t) => {
  await t.step("vector · vector", async () => {
    const y = nb.dot(nb.tensor([1, 2, 3]), nb.tensor([4, 5, 6]));
    assert.deepEqual(y.shape, []);
    assert.equal(y.item(), 32);
    assert.equal(nb.tensor([1, 2]).dot(nb.tensor([3, 4])).item(), 11);
  });
  await t.step("matrix · matrix and matrix · vector", async () => {
    const a = rand([3, 4], 5);
    const b = rand([4, 2], 6);
    await expectValues(nb.dot(a.t, b.t), matmulRef(a.data, [3, 4], b.data, [4, 2]));
    const v = rand([4], 7);
    await expectValues(a.t.dot(v.t), matmulRef(a.data, [3, 4], v.data, [4]));
  });
  await t.step("with a scalar multiplies", async () => {
    assert.deepEqual(await nb.dot(nb.tensor(2), nb.tensor([1, 2])).toArray(), [2, 4]);
  });
  await t.step("N-d: sum over a's last axis and b's second-to-last", async () => {
    const a = rand([2, 3, 4], 8);
    const b = rand([5, 4, 6], 9);
    const out: number[] = [];
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        for (let p = 0; p < 5; p++) {
          for (let q = 0; q < 6; q++) {
            let acc = 0;
            for (let l = 0; l < 4; l++) {
              acc += a.data[i * 12 + j * 4 + l] * b.data[p * 24 + l * 6 + q];
            }
            out.push(acc);
          }
        }
      }
    }
    await expectValues(nb.dot(a.t, b.t), { values: out, shape: [2, 3, 5, 6] });
  });
  await t.step("N-d · vector", async () => {
    const a = rand([2, 3, 4], 10);
    const v = rand([4], 11);
    const out: number[] = [];
    for (let r = 0; r < 6; r++) {
      let acc = 0;
      for (let l = 0; l < 4; l++) acc += a.data[r * 4 + l] * v.data[l];
      out.push(acc);
    }
    await expectValues(nb.dot(a.t, v.t), { values: out, shape: [2, 3] });
  });
});

Deno.test("outer", async (t) => {
  await t.step("vectors", async () => {
    const a = rand([3], 12);
    const b = rand([4], 13);
    const out = a.data.flatMap((x) => b.data.map((y) => x * y));
    await expectValues(nb.outer(a.t, b.t), { values: out, shape: [3, 4] });
    await expectValues(a.t.outer(b.t), { values: out, shape: [3, 4] });
  });
  await t.step("hand-computed, int32", async () => {
    const y = nb.outer(nb.arange(1, 3), nb.arange(3, 5));
    assert.equal(y.dtype, "int32");
    assert.deepEqual(await y.toArray(), [[3, 4], [6, 8]]);
  });
  await t.step("higher-rank inputs are flattened (NumPy)", async () => {
    const y = nb.outer(nb.tensor([[1, 2]]), nb.tensor([[1], [10]]));
    assert.deepEqual(await y.toArray(), [[1, 10], [2, 20]]);
  });
});

Deno.test("linear algebra does not mutate its inputs", async () => {
  const a = nb.tensor([[1, 2], [3, 4]]);
  a.matmul(a);
  nb.dot(a, a);
  nb.outer(a, a);
  assert.deepEqual(await a.toArray(), [[1, 2], [3, 4]]);
});
