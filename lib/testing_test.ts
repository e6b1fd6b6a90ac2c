// The test helpers must be able to fail: assertAllClose and checkGrads reject with precise
// messages when values or derivatives disagree, and resolve when they agree.

import * as nb from "../mod.ts";
import assert from "node:assert/strict";
import { AssertionError } from "node:assert";

const { assertAllClose, checkGrads } = nb.testing;
type T = nb.Tensor;

Deno.test("assertAllClose resolves within tolerance", async (t) => {
  await t.step("a tensor against nested arrays and numbers", async () => {
    await assertAllClose(nb.tensor([[1, 2], [3, 4]]), [[1, 2], [3, 4.000001]]);
    await assertAllClose(nb.tensor(0.5), 0.5);
    await assertAllClose(nb.tensor([2, 2, 2]), 2);
  });
  await t.step("the tolerance is atol + rtol·|expected|", async () => {
    await assertAllClose(nb.tensor([100]), [100.0009]);
    await assertAllClose(nb.tensor([1]), [1.05], { atol: 0.06, rtol: 0 });
    await assertAllClose(nb.tensor([100]), [110], { atol: 0, rtol: 0.1 });
  });
  await t.step("NaN equals NaN, infinities equal themselves", async () => {
    await assertAllClose(nb.tensor([NaN, Infinity, -Infinity]), [NaN, Infinity, -Infinity]);
  });
  await t.step("pytrees of tensors, numbers and nested arrays", async () => {
    const actual = {
      w: nb.tensor([[1, 2]]),
      bs: [nb.tensor(3), nb.tensor([4, 5])],
      n: 6,
      none: null,
    };
    await assertAllClose(actual, { w: [[1, 2]], bs: [3, [4, 5]], n: 6, none: null });
    await assertAllClose([nb.tensor([1, 2]), nb.tensor([3, 4])], [[1, 2], [3, 4]]);
    await assertAllClose([nb.tensor([1, 2]), nb.tensor([3, 4])], nb.tensor([[1, 2], [3, 4]]));
    await assertAllClose([[1, 2], [3, 4]], [nb.tensor([1, 2]), nb.tensor([3, 4])]);
  });
  await t.step("plain nested arrays on both sides", async () => {
    await assertAllClose([[1, 2], [3, 4]], [[1, 2], [3, 4]]);
    await assertAllClose([], []);
  });
  await t.step("tensors against tensors of another dtype", async () => {
    await assertAllClose(
      nb.tensor([1, 2], { dtype: "int32" }),
      nb.tensor([1, 2], { dtype: "float64" }),
    );
  });
});

Deno.test("assertAllClose rejects outside tolerance, naming the worst element", async (t) => {
  await t.step("the worst element's index, values and the tolerance are named", async () => {
    await assert.rejects(
      assertAllClose(nb.tensor([[1, 2], [3, 4]]), [[1.1, 2], [3, 4.5]]),
      (e: unknown) => {
        assert.ok(e instanceof AssertionError);
        assert.match(e.message, /index \[1,1\]/);
        assert.match(e.message, /got 4, expected 4\.5/);
        assert.match(e.message, /atol 0\.000001/);
        assert.match(e.message, /rtol 0\.00001/);
        return true;
      },
    );
  });
  await t.step("custom tolerances appear in the message", async () => {
    await assert.rejects(
      assertAllClose(nb.tensor([1, 2]), [1, 2.5], { atol: 0.1, rtol: 0.01 }),
      (e: unknown) => {
        assert.ok(e instanceof AssertionError);
        assert.match(e.message, /index \[1\]/);
        assert.match(e.message, /atol 0\.1 \+ rtol 0\.01/);
        return true;
      },
    );
  });
  await t.step("in a pytree: the leaf's place and the worst element over all leaves", async () => {
    const actual = { a: nb.tensor([1, 2]), b: [nb.tensor([[0, 0], [0, 0]])] };
    await assert.rejects(
      assertAllClose(actual, { a: [1, 2.1], b: [[[0, 0], [0, -3]]] }),
      (e: unknown) => {
        assert.ok(e instanceof AssertionError);
        assert.match(e.message, /\.b\[0\]/);
        assert.match(e.message, /index \[1,1\]/);
        assert.match(e.message, /expected -3/);
        return true;
      },
    );
  });
  await t.step("in nested arrays without tensors", async () => {
    await assert.rejects(assertAllClose([[1, 2], [3, 4]], [[1, 2], [3.5, 4]]), /index \[1,0\]/);
  });
  await t.step("NaN against a number, and a number against NaN", async () => {
    await assert.rejects(assertAllClose(nb.tensor([1, NaN]), [1, 2]), /index \[1\]/);
    await assert.rejects(assertAllClose(nb.tensor([1, 2]), [NaN, 2]), /index \[0\]/);
  });
  await t.step("shapes that differ", async () => {
    await assert.rejects(assertAllClose(nb.tensor([1, 2, 3]), [1, 2]), (e: unknown) => {
      assert.ok(e instanceof AssertionError);
      assert.match(e.message, /\[3\].*\[2\]/);
      return true;
    });
    await assert.rejects(assertAllClose(nb.tensor([[1, 2]]), [1, 2]), AssertionError);
  });
  await t.step("structures that differ", async () => {
    await assert.rejects(assertAllClose({ a: nb.tensor(1) }, { b: 1 }), AssertionError);
    await assert.rejects(assertAllClose([nb.tensor(1), nb.tensor(2)], [1, 2, 3]), AssertionError);
    await assert.rejects(assertAllClose({ a: nb.tensor(1) }, [1]), AssertionError);
  });
});

Deno.test("checkGrads resolves for correct derivatives", async (t) => {
  await t.step("a smooth function of two arguments, order 2, both modes", async () => {
    await checkGrads((x: T, y: T) => x.sin().mul(y.exp()).sum(), [
      nb.tensor([0.3, -0.4]),
      nb.tensor([0.1, 0.2]),
    ], {
      order: 2,
    });
  });
  await t.step("pytree outputs and integer arguments held fixed", async () => {
    const idx = nb.tensor([2, 0], { dtype: "int32" });
    await checkGrads((x: T, i: T) => ({ a: nb.take(x, i).square(), b: [x.tanh()] }), [
      nb.tensor([0.5, 1, -1]),
      idx,
    ]);
  });
  await t.step("a correct customVjp passes in reverse mode", async () => {
    const sin = nb.customVjp(
      (x: T) => x.sin(),
      (x: T) => [x.sin(), x] as [T, T],
      (x: T, ct: T) => [ct.mul(x.cos())],
    );
    await checkGrads(sin, [nb.tensor([0.2, 1.4])], { modes: ["rev"], order: 2 });
  });
});

Deno.test("checkGrads rejects wrong derivatives", async (t) => {
  await t.step("a deliberately wrong custom gradient, reverse mode", async () => {
    const wrong = nb.customVjp(
      (x: T) => x.sin(),
      (x: T) => [x.sin(), x] as [T, T],
      (x: T, ct: T) => [ct.mul(x.cos()).mul(1.01)],
    );
    await assert.rejects(
      checkGrads(wrong, [nb.tensor([0.2, 1.4])], { modes: ["rev"] }),
      (e: unknown) => {
        assert.ok(e instanceof AssertionError);
        assert.match(e.message, /checkGrads \(order 1, rev\)/);
        assert.match(e.message, /index \[\d\]/);
        assert.match(e.message, /atol .* rtol/);
        return true;
      },
    );
  });
  await t.step(
    "a gradient wrong only at second order (bwd not differentiable as written)",
    async () => {
      const firstOnly = nb.customVjp(
        (x: T) => x.sin(),
        (x: T) => [x.sin(), x] as [T, T],
        (x: T, ct: T) => [ct.mul(nb.stopGradient(x.cos()))],
      );
      await checkGrads(firstOnly, [nb.tensor([0.2, 1.4])], { modes: ["rev"] });
      await assert.rejects(
        checkGrads(firstOnly, [nb.tensor([0.2, 1.4])], { modes: ["rev"], order: 2 }),
        /order 2, rev/,
      );
    },
  );
  await t.step("a derivative that misses a path (stopGradient), forward mode", async () => {
    const f = (x: T) => nb.stopGradient(x).mul(x);
    await assert.rejects(checkGrads(f, [nb.tensor([0.5, 2])], { modes: ["fwd"] }), /order 1, fwd/);
  });
  await t.step("a wrong gradient of the second argument names that argument", async () => {
    const wrong = nb.customVjp(
      (a: T, b: T) => a.mul(b),
      (a: T, b: T) => [a.mul(b), [a, b]] as [T, T[]],
      ([a, b]: T[], ct: T) => [ct.mul(b), ct.mul(a).neg()],
    );
    await assert.rejects(
      checkGrads(wrong, [nb.tensor([1, 2]), nb.tensor([3, 4])], { modes: ["rev"] }),
      /argument 1/,
    );
  });
});
