import assert from "node:assert/strict";
import * as nb from "../../mod.ts";

type ErrorClass = typeof TypeError | typeof RangeError;

/** Asserts that `f` throws exactly `cls` with a message matching every pattern. */
function throwsWith(f: () => unknown, cls: ErrorClass, ...patterns: (string | RegExp)[]) {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof Error, `expected an Error, got ${String(e)}`);
    assert.equal(
      e.constructor,
      cls,
      `expected ${cls.name}, got ${e.constructor.name}: ${e.message}`,
    );
    for (const p of patterns) {
      if (typeof p === "string") assert.ok(e.message.includes(p), `"${e.message}" lacks "${p}"`);
      else assert.match(e.message, p);
    }
    return true;
  });
}

const m23 = (): nb.Tensor => nb.zeros([2, 3]);

Deno.test("broadcast mismatch", async (t) => {
  await t.step("exact message", () => {
    assert.throws(() => nb.add(nb.zeros([2, 3]), nb.zeros([4])), {
      name: "RangeError",
      message: "add: cannot broadcast shapes [2,3] and [4]",
    });
  });
  await t.step("every binary op names itself", () => {
    const ops: [string, (a: nb.Tensor, b: nb.Tensor) => nb.Tensor][] = [
      ["sub", nb.sub],
      ["mul", nb.mul],
      ["div", nb.div],
      ["pow", nb.pow],
      ["maximum", nb.maximum],
      ["minimum", nb.minimum],
      ["equal", nb.equal],
      ["notEqual", nb.notEqual],
      ["less", nb.less],
      ["lessEqual", nb.lessEqual],
      ["greater", nb.greater],
      ["greaterEqual", nb.greaterEqual],
    ];
    for (const [name, f] of ops) {
      throwsWith(
        () => f(nb.zeros([3, 2]), nb.zeros([3])),
        RangeError,
        `${name}: cannot broadcast shapes [3,2] and [3]`,
      );
    }
  });
  await t.step("methods", () => {
    throwsWith(
      () => m23().mul(nb.zeros([2])),
      RangeError,
      "mul: cannot broadcast shapes [2,3] and [2]",
    );
  });
  await t.step("where and clip", () => {
    throwsWith(
      () => nb.where(nb.zeros([2], { dtype: "bool" }), m23(), 0),
      RangeError,
      "where",
      "[2]",
      "[2,3]",
    );
    throwsWith(() => nb.clip(m23(), nb.zeros([4]), 1), RangeError, "clip:", "[2,3]", "[4]");
  });
  await t.step("broadcastTo", () => {
    throwsWith(() => nb.broadcastTo(m23(), [3, 3]), RangeError, "broadcastTo", "[2,3]", "[3,3]");
    throwsWith(() => nb.broadcastTo(m23(), [3]), RangeError, "broadcastTo", "[2,3]", "[3]");
  });
  await t.step("gather index shapes", () => {
    throwsWith(() => nb.gather(m23(), [[0, 1], [0, 1, 2]]), RangeError, "gather", "[2]", "[3]");
  });
});

Deno.test("bad axis", async (t) => {
  const x = nb.zeros([2, 3]);
  const cases: [string, () => unknown][] = [
    ["sum", () => nb.sum(x, { axis: 2 })],
    ["mean", () => x.mean({ axis: -3 })],
    ["max", () => nb.max(x, { axis: [0, 5] })],
    ["min", () => x.min({ axis: 2 })],
    ["prod", () => x.prod({ axis: 2 })],
    ["argmax", () => nb.argmax(x, { axis: 2 })],
    ["argmin", () => x.argmin({ axis: -3 })],
    ["logsumexp", () => nb.logsumexp(x, { axis: 3 })],
    ["var", () => nb.var(x, { axis: 2 })],
    ["softmax", () => nb.softmax(x, { axis: 2 })],
    ["logSoftmax", () => x.logSoftmax({ axis: -3 })],
    ["expandDims", () => x.expandDims(4)],
    ["expandDims", () => x.expandDims(-4)],
    ["squeeze", () => x.squeeze(2)],
    ["transpose", () => x.transpose([0, 2])],
    ["concat", () => nb.concat([x, x], 2)],
    ["stack", () => nb.stack([x, x], 3)],
    ["split", () => nb.split(x, 2, 2)],
    ["take", () => nb.take(x, [0], { axis: 2 })],
    ["takeAlongAxis", () => nb.takeAlongAxis(x, nb.zeros([2, 1], { dtype: "int32" }), 2)],
  ];
  for (const [name, f] of cases) {
    await t.step(name, () => throwsWith(f, RangeError, `${name}:`, "[2,3]"));
  }
  await t.step("non-integer axis", () => {
    throwsWith(() => nb.sum(x, { axis: 0.5 }), RangeError, "sum:", "[2,3]");
  });
  await t.step("repeated axis", () => {
    throwsWith(() => nb.sum(x, { axis: [1, -1] }), RangeError, "sum:", "[2,3]");
  });
  await t.step("transpose needs a permutation", () => {
    throwsWith(() => x.transpose([0]), RangeError, "transpose:", "[2,3]");
    throwsWith(() => x.transpose([1, 1]), RangeError, "transpose:", "[2,3]");
    throwsWith(() => x.transpose([1, -1]), RangeError, "transpose:", "[2,3]");
  });
  await t.step("scalars have no axes", () => {
    throwsWith(() => nb.tensor(1).sum({ axis: 0 }), RangeError, "sum:", "[]");
    throwsWith(() => nb.softmax(nb.tensor(1)), RangeError, "softmax:", "[]");
  });
});

Deno.test("bad reshape", async (t) => {
  await t.step("size mismatch names both shapes", () => {
    throwsWith(() => nb.reshape(m23(), [4, 2]), RangeError, "reshape:", "[2,3]", "[4,2]");
    throwsWith(() => m23().reshape([7]), RangeError, "reshape:", "[2,3]", "[7]");
  });
  await t.step("-1 that does not divide", () => {
    throwsWith(() => m23().reshape([4, -1]), RangeError, "reshape:", "[2,3]", "[4,-1]");
  });
  await t.step("two -1s", () => {
    throwsWith(() => m23().reshape([-1, -1]), RangeError, "reshape:", "[2,3]", "[-1,-1]");
  });
  await t.step("negative or fractional dims", () => {
    throwsWith(() => m23().reshape([-2, -3]), RangeError, "reshape:", "[2,3]");
    throwsWith(() => m23().reshape([1.5, 4]), RangeError, "reshape:", "[2,3]");
  });
  await t.step("-1 with a zero-sized known part", () => {
    throwsWith(() => nb.zeros([0, 3]).reshape([0, -1]), RangeError, "reshape:", "[0,3]");
  });
  await t.step("not an array", () => {
    throwsWith(() => m23().reshape(6 as unknown as number[]), TypeError, "reshape:");
  });
});

Deno.test("matmul and friends: inner-size mismatch", async (t) => {
  await t.step("2-d", () => {
    throwsWith(
      () => nb.matmul(nb.zeros([2, 3]), nb.zeros([4, 5])),
      RangeError,
      "matmul:",
      "[2,3]",
      "[4,5]",
    );
  });
  await t.step("1-d promotion", () => {
    throwsWith(() => nb.zeros([3]).matmul(nb.zeros([4])), RangeError, "matmul:", "[3]", "[4]");
    throwsWith(
      () => nb.matmul(nb.zeros([2, 3]), nb.zeros([2])),
      RangeError,
      "matmul:",
      "[2,3]",
      "[2]",
    );
  });
  await t.step("batch dims that do not broadcast", () => {
    throwsWith(
      () => nb.matmul(nb.zeros([2, 3, 4]), nb.zeros([3, 4, 5])),
      RangeError,
      "matmul:",
      "[2,3,4]",
      "[3,4,5]",
    );
  });
  await t.step("scalars", () => {
    throwsWith(() => nb.matmul(nb.tensor(1), nb.zeros([2])), RangeError, "matmul:", "[]", "[2]");
  });
  await t.step("dot", () => {
    throwsWith(() => nb.dot(nb.zeros([3]), nb.zeros([4])), RangeError, "dot:", "[3]", "[4]");
    throwsWith(
      () => nb.dot(nb.zeros([2, 3]), nb.zeros([2, 4, 5])),
      RangeError,
      "dot:",
      "[2,3]",
      "[2,4,5]",
    );
  });
});

Deno.test("wrong kinds are TypeErrors", async (t) => {
  await t.step("strings and plain arrays to add", () => {
    throwsWith(() => nb.add(nb.zeros([2]), "1" as unknown as number), TypeError, "add:", "string");
    throwsWith(() => nb.add([1, 2] as unknown as nb.Tensor, 1), TypeError, "add:", "array");
    throwsWith(() => nb.zeros([2]).add([1, 2] as unknown as nb.Tensor), TypeError, "add:", "array");
  });
  await t.step("null and undefined", () => {
    throwsWith(() => nb.mul(null as unknown as number, 1), TypeError, "mul:");
    throwsWith(() => nb.exp(undefined as unknown as number), TypeError, "exp:");
  });
  await t.step("non-tensors to tensor-only ops", () => {
    const cases: [string, () => unknown][] = [
      ["sum", () => nb.sum([1, 2] as unknown as nb.Tensor)],
      ["reshape", () => nb.reshape(3 as unknown as nb.Tensor, [1])],
      ["transpose", () => nb.transpose("x" as unknown as nb.Tensor)],
      ["matmul", () => nb.matmul(nb.zeros([2, 2]), [[1, 0], [0, 1]] as unknown as nb.Tensor)],
      ["softmax", () => nb.softmax([1, 2] as unknown as nb.Tensor)],
      ["concat", () => nb.concat([nb.zeros([1]), [1] as unknown as nb.Tensor])],
      ["astype", () => nb.astype(1 as unknown as nb.Tensor, "int32")],
      ["take", () => nb.take([1, 2] as unknown as nb.Tensor, [0])],
    ];
    for (const [name, f] of cases) throwsWith(f, TypeError, `${name}:`);
  });
  await t.step("axes of the wrong kind", () => {
    throwsWith(() => nb.sum(m23(), { axis: "0" as unknown as number }), TypeError, "sum:", "[2,3]");
    throwsWith(() => nb.argmax(m23(), { axis: [0, 1] as unknown as number }), TypeError, "argmax:");
    throwsWith(() => m23().transpose("10" as unknown as number[]), TypeError, "transpose:");
    throwsWith(() => nb.split(m23(), "2" as unknown as number), TypeError, "split:");
    throwsWith(() => nb.split(nb.zeros([4]), [1.5]), TypeError, "split:");
    throwsWith(() => nb.slice(m23(), 0 as unknown as number[], [1, 1]), TypeError, "slice:");
  });
  await t.step("values of the wrong kind", () => {
    throwsWith(() => nb.full([2], "1" as unknown as number), TypeError, "full:", "string");
    throwsWith(() => nb.linspace("0" as unknown as number, 1, 3), TypeError, "linspace:");
    throwsWith(() => nb.arange("3" as unknown as number), TypeError, "arange:");
    throwsWith(() => nb.pad(m23(), [[0, 0], [0, 0]], "1" as unknown as number), TypeError, "pad:");
  });
  await t.step("float indices", () => {
    throwsWith(() => nb.take(nb.zeros([3]), nb.tensor([0, 1])), TypeError, "take:", "int32");
    throwsWith(() => nb.take(nb.zeros([3]), [0.5]), TypeError, "take:");
    throwsWith(() => nb.gather(m23(), [nb.tensor([0.5])]), TypeError, "gather:");
    throwsWith(() => nb.oneHot(nb.tensor([1.0]), 3), TypeError, "oneHot:");
  });
});

Deno.test("squeeze of a non-1 axis", () => {
  throwsWith(() => nb.squeeze(nb.zeros([1, 3]), 1), RangeError, "squeeze:", "[1,3]", "size 3");
  throwsWith(() => nb.zeros([2, 1]).squeeze([0, 1]), RangeError, "squeeze:", "[2,1]");
});

Deno.test("concat and stack shape mismatch", async (t) => {
  await t.step("concat outside the axis", () => {
    throwsWith(
      () => nb.concat([nb.zeros([2, 3]), nb.zeros([2, 4])]),
      RangeError,
      "concat:",
      "[2,3]",
      "[2,4]",
    );
  });
  await t.step("concat rank mismatch", () => {
    throwsWith(
      () => nb.concat([nb.zeros([2, 3]), nb.zeros([3])]),
      RangeError,
      "concat:",
      "[2,3]",
      "[3]",
    );
  });
  await t.step("concat of nothing and of scalars", () => {
    throwsWith(() => nb.concat([]), RangeError, "concat:");
    throwsWith(() => nb.concat([nb.tensor(1), nb.tensor(2)]), RangeError, "concat:", "[]");
  });
  await t.step("stack", () => {
    throwsWith(() => nb.stack([nb.zeros([2]), nb.zeros([3])]), RangeError, "stack:", "[2]", "[3]");
    throwsWith(() => nb.stack([]), RangeError, "stack:");
  });
});

Deno.test("split, slice and pad bounds", async (t) => {
  await t.step("split into unequal sections", () => {
    throwsWith(() => nb.split(nb.zeros([5]), 2), RangeError, "split:", "[5]");
    throwsWith(() => nb.split(nb.zeros([4]), 0), RangeError, "split:", "[4]");
  });
  await t.step("slice out of bounds", () => {
    throwsWith(() => nb.slice(m23(), [1, 0], [2, 3]), RangeError, "slice:", "[2,3]");
    throwsWith(() => nb.slice(m23(), [0, -1], [1, 1]), RangeError, "slice:", "[2,3]");
    throwsWith(() => nb.slice(m23(), [0], [1]), RangeError, "slice:", "[2,3]");
  });
  await t.step("pad widths", () => {
    throwsWith(() => nb.pad(m23(), [[1, 1]]), RangeError, "pad:", "[2,3]");
    throwsWith(() => nb.pad(m23(), [[1, 1], [-1, 0]]), RangeError, "pad:", "[2,3]");
  });
});

Deno.test("numbers that do not fit int32", () => {
  const i = nb.zeros([2], { dtype: "int32" });
  throwsWith(() => i.add(2 ** 31), RangeError, "add:", "2147483648", "int32");
  throwsWith(() => nb.maximum(-1e12, i), RangeError, "maximum:", "int32");
  throwsWith(() => nb.add(3e9, 1), RangeError, "add:", "int32");
});

Deno.test("bad dtype to astype", () => {
  throwsWith(
    () => nb.astype(nb.zeros([2]), "float16" as nb.DType),
    TypeError,
    "astype:",
    "float16",
  );
  throwsWith(() => nb.zeros([2]).astype("int64" as nb.DType), TypeError, "astype:", "int64");
  throwsWith(() => nb.zeros([2]).astype(undefined as unknown as nb.DType), TypeError, "astype:");
});

Deno.test("bad shapes to creation functions", () => {
  throwsWith(() => nb.zeros([2, -1]), RangeError, "zeros:", "[2,-1]");
  throwsWith(() => nb.ones([2, 0.5]), RangeError, "ones:", "[2,0.5]");
  throwsWith(() => nb.tensor([[1, 2], [3]]), RangeError, "tensor:");
  throwsWith(() => nb.tensor([1, 2, 3], { shape: [2] }), RangeError, "tensor:", "[2]");
});

Deno.test("errors are raised at the call, before any work", () => {
  // A rejected call leaves its inputs untouched and usable.
  const x = nb.tensor([1, 2, 3]);
  assert.throws(() => x.add(nb.zeros([2])), RangeError);
  assert.deepEqual(x.arraySync(), [1, 2, 3]);
  assert.deepEqual(x.add(1).arraySync(), [2, 3, 4]);
});
