import assert from "node:assert/strict";
import * as nb from "../../mod.ts";

const f32 = Math.fround;

/**
 * A naive reduction in JS: folds `f` over the reduced axes (all when `axes` is undefined,
 * negative ones counting from the end), then applies `finish(acc, count)`.
 */
function reduceRef(
  data: number[],
  shape: number[],
  axes: number | number[] | undefined,
  keepdims: boolean,
  init: number,
  f: (acc: number, v: number) => number,
  finish: (acc: number, count: number) => number = (acc) => acc,
): { values: number[]; shape: number[] } {
  const list = axes === undefined
    ? shape.map((_, i) => i)
    : typeof axes === "number"
    ? [axes]
    : axes;
  const red = list.map((a) => (a < 0 ? a + shape.length : a));
  const keptShape = shape.map((d, i) => (red.includes(i) ? 1 : d));
  const outSize = keptShape.reduce((a, b) => a * b, 1);
  const acc = new Array<number>(outSize).fill(init);
  const count = red.reduce((n, a) => n * shape[a], 1);
  for (let flat = 0; flat < data.length; flat++) {
    let rest = flat;
    let out = 0;
    let stride = 1;
    for (let d = shape.length - 1; d >= 0; d--) {
      const i = rest % shape[d];
      rest = Math.floor(rest / shape[d]);
      if (!red.includes(d)) out += i * stride;
      stride *= keptShape[d];
    }
    acc[out] = f(acc[out], data[flat]);
  }
  return {
    values: acc.map((a) => finish(a, count)),
    shape: keepdims ? keptShape : shape.filter((_, i) => !red.includes(i)),
  };
}

// A [2,3,4] tensor with distinct, unordered values.
const DATA = Array.from({ length: 24 }, (_, i) => ((i * 7) % 24) - 11.5);
const SHAPE = [2, 3, 4];
const x = (): nb.Tensor => nb.tensor(DATA).reshape(SHAPE);

const AXES: (number | number[] | undefined)[] = [undefined, 0, 1, 2, -1, -2, [0, 2], [-1, 0], [
  0,
  1,
  2,
]];

async function expectReduce(
  actual: nb.Tensor,
  ref: { values: number[]; shape: number[] },
  dtype: nb.DType,
  rtol = 1e-6,
) {
  assert.equal(actual.dtype, dtype);
  assert.deepEqual(actual.shape, ref.shape);
  await nb.testing.assertAllClose(actual.reshape([-1]), ref.values, { rtol, atol: 1e-5 });
}

Deno.test("sum, mean, max, min, prod, logsumexp, var over every axis option", async (t) => {
  const mean = (a: number, n: number) => a / n;
  const refs: Record<
    string,
    (axes: number | number[] | undefined, keep: boolean) => {
      values: number[];
      shape: number[];
    }
  > = {
    sum: (axes, keep) => reduceRef(DATA, SHAPE, axes, keep, 0, (a, v) => a + v),
    mean: (axes, keep) => reduceRef(DATA, SHAPE, axes, keep, 0, (a, v) => a + v, mean),
    max: (axes, keep) => reduceRef(DATA, SHAPE, axes, keep, -Infinity, Math.max),
    min: (axes, keep) => reduceRef(DATA, SHAPE, axes, keep, Infinity, Math.min),
    prod: (axes, keep) => reduceRef(DATA.map((v) => v / 8), SHAPE, axes, keep, 1, (a, v) => a * v),
    logsumexp: (axes, keep) =>
      reduceRef(DATA, SHAPE, axes, keep, 0, (a, v) => a + Math.exp(v), (a) => Math.log(a)),
    var: (axes, keep) => {
      const m = reduceRef(DATA, SHAPE, axes, true, 0, (a, v) => a + v, mean);
      const sq = reduceRef(DATA.map((v) => v * v), SHAPE, axes, keep, 0, (a, v) => a + v, mean);
      return { values: sq.values.map((s, i) => s - m.values[i] ** 2), shape: sq.shape };
    },
  };
  for (const name of Object.keys(refs)) {
    await t.step(name, async () => {
      const input = name === "prod" ? x().div(8) : x();
      // deno-lint-ignore no-explicit-any
      const fn = ((nb as any)[name]) as (x: nb.Tensor, o?: nb.ReduceOptions) => nb.Tensor;
      for (const axis of AXES) {
        for (const keepdims of [false, true]) {
          const ref = refs[name](axis, keepdims);
          const opts = { axis, keepdims };
          await expectReduce(fn(input, opts), ref, "float32");
          // deno-lint-ignore no-explicit-any
          await expectReduce((input as any)[name](opts), ref, "float32");
        }
      }
      // No options at all reduce everything to a scalar.
      await expectReduce(fn(input), refs[name](undefined, false), "float32");
    });
  }
});

Deno.test("reduction dtypes", async (t) => {
  const i = nb.tensor([[1, 2, 3], [4, 5, 6]], { dtype: "int32" });
  const b = nb.tensor([[true, false, true], [true, true, true]]);
  await t.step("sum, prod, max, min keep int32", async () => {
    assert.deepEqual([i.sum().dtype, i.sum().item()], ["int32", 21]);
    assert.deepEqual([i.prod().dtype, i.prod().item()], ["int32", 720]);
    assert.deepEqual([i.max().dtype, i.max().item()], ["int32", 6]);
    assert.deepEqual([i.min({ axis: 1 }).dtype, await i.min({ axis: 1 }).toArray()], [
      "int32",
      [1, 4],
    ]);
  });
  await t.step("sum of bool counts as int32", async () => {
    const s = b.sum({ axis: 1 });
    assert.equal(s.dtype, "int32");
    assert.deepEqual(await s.toArray(), [2, 3]);
    assert.equal(b.sum().item(), 5);
  });
  await t.step("mean and var of ints give float32", async () => {
    assert.deepEqual([i.mean().dtype, i.mean().item()], ["float32", 3.5]);
    const v = nb.var(i, { axis: 1 });
    assert.equal(v.dtype, "float32");
    await nb.testing.assertAllClose(v, [2 / 3, 2 / 3]);
    assert.equal(b.mean().item(), f32(5 / 6));
  });
  await t.step("float64 stays float64", async () => {
    const d = nb.tensor(new Float64Array([0.1, 0.2, 0.3]));
    assert.equal(d.sum().dtype, "float64");
    assert.equal(d.sum().item(), 0.1 + 0.2 + 0.3);
    assert.equal(d.mean().item(), (0.1 + 0.2 + 0.3) / 3);
  });
});

Deno.test("argmax and argmin", async (t) => {
  const m = nb.tensor([[3, 7, 7, 1], [9, 2, 9, 2], [0, 0, 5, 5]]);
  await t.step("flattened, int32, first of ties", async () => {
    const a = nb.argmax(m);
    assert.equal(a.dtype, "int32");
    assert.deepEqual(a.shape, []);
    assert.equal(a.item(), 4);
    assert.equal(m.argmin().item(), 8);
  });
  await t.step("along an axis, ties pick the first", async () => {
    assert.deepEqual(await nb.argmax(m, { axis: 1 }).toArray(), [1, 0, 2]);
    assert.deepEqual(await m.argmax({ axis: -1 }).toArray(), [1, 0, 2]);
    assert.deepEqual(await m.argmax({ axis: 0 }).toArray(), [1, 0, 1, 2]);
    assert.deepEqual(await nb.argmin(m, { axis: 1 }).toArray(), [3, 1, 0]);
    assert.deepEqual(await m.argmin({ axis: -2 }).toArray(), [2, 2, 2, 0]);
    assert.deepEqual(await nb.argmax(nb.tensor([5, 5, 5])).toArray(), 0);
  });
  await t.step("keepdims", async () => {
    const a = m.argmax({ axis: 1, keepdims: true });
    assert.deepEqual(a.shape, [3, 1]);
    assert.deepEqual(await a.toArray(), [[1], [0], [2]]);
    const all = m.argmin({ keepdims: true });
    assert.deepEqual(all.shape, [1, 1]);
    assert.equal(all.item(), 8);
  });
  await t.step("3-d middle axis", async () => {
    const a = nb.argmax(x(), { axis: 1 });
    const expected = [0, 1].map((i) =>
      [0, 1, 2, 3].map((k) => {
        let best = 0;
        for (let j = 1; j < 3; j++) {
          if (DATA[i * 12 + j * 4 + k] > DATA[i * 12 + best * 4 + k]) best = j;
        }
        return best;
      })
    );
    assert.deepEqual(await a.toArray(), expected);
  });
  await t.step("int32 and bool inputs", async () => {
    assert.equal(nb.tensor([1, 9, 3], { dtype: "int32" }).argmax().item(), 1);
    assert.equal(nb.tensor([false, true, true]).argmax().item(), 1);
  });
  await t.step("NaN counts as the maximum (NumPy)", async () => {
    assert.equal(nb.tensor([1, NaN, 3]).argmax().item(), 1);
    assert.equal(nb.tensor([1, NaN, -3]).argmin().item(), 1);
  });
});

Deno.test("logsumexp is stable", async (t) => {
  await t.step("large values", async () => {
    const y = nb.logsumexp(nb.tensor([1e4, 1e4]));
    assert.equal(y.item(), f32(1e4 + Math.LN2));
    const z = nb.logsumexp(nb.tensor([[1e4, 0], [-1e4, -1e4]]), { axis: 1 });
    assert.deepEqual(await z.toArray(), [1e4, f32(-1e4 + Math.LN2)]);
  });
  await t.step("-Infinity entries", async () => {
    assert.equal(nb.logsumexp(nb.tensor([0, -Infinity])).item(), 0);
    assert.equal(nb.logsumexp(nb.tensor([-Infinity, -Infinity])).item(), -Infinity);
    const rows = nb.tensor([[-Infinity, -Infinity], [1, -Infinity]]).logsumexp({ axis: -1 });
    assert.deepEqual(await rows.toArray(), [-Infinity, 1]);
  });
  await t.step("+Infinity and NaN", async () => {
    assert.equal(nb.logsumexp(nb.tensor([1, Infinity])).item(), Infinity);
    assert.ok(Number.isNaN(nb.logsumexp(nb.tensor([1, NaN])).item()));
  });
  await t.step("keepdims", async () => {
    const y = nb.logsumexp(nb.tensor([[0, 0], [1, 1]]), { axis: 1, keepdims: true });
    assert.deepEqual(y.shape, [2, 1]);
    await nb.testing.assertAllClose(y, [[Math.LN2], [1 + Math.LN2]]);
  });
});

Deno.test("var", async (t) => {
  await t.step("nb.var and x.var agree with the definition", async () => {
    const v = nb.tensor([1, 2, 3, 4]);
    assert.equal(nb.var(v).item(), 1.25);
    assert.equal(v.var().item(), 1.25);
  });
  await t.step("is not fooled by a large offset", async () => {
    const v = nb.tensor([1e4 + 1, 1e4 + 2, 1e4 + 3, 1e4 + 4]);
    await nb.testing.assertAllClose(nb.var(v), 1.25, { rtol: 1e-4 });
  });
  await t.step("axis and keepdims", async () => {
    const m = nb.tensor([[1, 3], [2, 6]]);
    assert.deepEqual(await m.var({ axis: 0 }).toArray(), [0.25, 2.25]);
    assert.deepEqual(await nb.var(m, { axis: -1, keepdims: true }).toArray(), [[1], [4]]);
  });
});

Deno.test("empty reductions", async (t) => {
  await t.step("sum and prod of nothing are their identities", async () => {
    assert.equal(nb.zeros([0]).sum().item(), 0);
    assert.equal(nb.zeros([0]).prod().item(), 1);
    const s = nb.zeros([2, 0]).sum({ axis: 1 });
    assert.deepEqual(await s.toArray(), [0, 0]);
    assert.deepEqual(nb.zeros([2, 0]).sum({ axis: 0 }).shape, [0]);
  });
  await t.step("mean of nothing is NaN", async () => {
    assert.ok(Number.isNaN(nb.zeros([0]).mean().item()));
  });
  await t.step("max, min, argmax of nothing are RangeErrors", () => {
    assert.throws(() => nb.zeros([0]).max(), RangeError);
    assert.throws(() => nb.zeros([2, 0]).min({ axis: 1 }), RangeError);
    assert.throws(() => nb.zeros([0]).argmax(), RangeError);
  });
  await t.step("a non-empty axis of a tensor with an empty dim", async () => {
    const z = nb.zeros([2, 0]);
    assert.deepEqual(z.max({ axis: 0 }).shape, [0]);
    assert.deepEqual(z.argmax({ axis: 0 }).shape, [0]);
    assert.deepEqual(z.argmin({ axis: 0, keepdims: true }).shape, [1, 0]);
    assert.throws(() => z.argmax({ axis: 1 }), RangeError);
  });
  await t.step("logsumexp of nothing is -Infinity", async () => {
    assert.equal(nb.logsumexp(nb.zeros([0])).item(), -Infinity);
  });
  await t.step("an empty axis list reduces nothing", async () => {
    const m = nb.tensor([[1, 2], [3, 4]]);
    assert.deepEqual(await m.sum({ axis: [] }).toArray(), [[1, 2], [3, 4]]);
  });
});

Deno.test("max and min propagate NaN", () => {
  assert.ok(Number.isNaN(nb.tensor([1, NaN, 3]).max().item()));
  assert.ok(Number.isNaN(nb.tensor([1, NaN, 3]).min().item()));
});

Deno.test("reductions do not mutate their input", async () => {
  const v = x();
  for (const f of [nb.sum, nb.mean, nb.max, nb.min, nb.prod, nb.logsumexp, nb.var]) f(v);
  nb.argmax(v, { axis: 1 });
  assert.deepEqual([...(await v.data())], DATA);
});
