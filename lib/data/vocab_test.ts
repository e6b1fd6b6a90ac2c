import assert from "node:assert/strict";
import * as nb from "../../mod.ts";

const { data, tensor } = nb;

Deno.test("Vocab", async (t) => {
  await t.step("sorted unique characters with the padding space and _", () => {
    const v = new data.Vocab(["cab", "b-a", "aa"]);
    assert.deepEqual(v.chars, [" ", "-", "_", "a", "b", "c"]);
    assert.equal(v.size, 6);
    assert.deepEqual(new data.Vocab(["aa", "b-a", "cab"]).chars, v.chars);
    assert.deepEqual(new data.Vocab([]).chars, [" ", "_"]);
    assert.deepEqual([v.id(" "), v.id("_"), v.id("c")], [0, 2, 5]);
    assert.throws(() => v.id("z"), (e: Error) => e instanceof RangeError && /"z"/.test(e.message));
    assert.throws(() => new data.Vocab([1 as unknown as string]), TypeError);
  });

  await t.step("encode gives int32 [N, T]", () => {
    const v = new data.Vocab(["0123456789+"]);
    const ids = v.encode(["1+2  ", "99+0 "]);
    assert.deepEqual(ids.shape, [2, 5]);
    assert.equal(ids.dtype, "int32");
    assert.deepEqual(ids.arraySync(), [[3, 1, 4, 0, 0], [11, 11, 1, 2, 0]]);
    assert.deepEqual(v.encode([]).shape, [0, 0]);
    assert.deepEqual(v.encode(["", ""]).shape, [2, 0]);
  });

  await t.step("round trips through tensors, nested arrays and typed arrays", () => {
    const texts = ["héllo wörld", "_😀 abc, xyz", "           "];
    const v = new data.Vocab(texts);
    const ids = v.encode(texts);
    assert.deepEqual(ids.shape, [3, 11]);
    assert.deepEqual(v.decode(ids), texts);
    const nested = ids.arraySync() as number[][];
    assert.deepEqual(v.decode(nested), texts);
    assert.deepEqual(v.decode(nested.map((r) => Int32Array.from(r))), texts);
    assert.deepEqual(v.decode([]), []);
  });

  await t.step("rejects strings of different lengths, naming the lengths", () => {
    const v = new data.Vocab(["abc"]);
    assert.throws(
      () => v.encode(["abc", "ab"]),
      (e: Error) =>
        e instanceof RangeError && /length 3/.test(e.message) && /length 2/.test(e.message),
    );
  });

  await t.step("rejects unknown characters, naming them", () => {
    const v = new data.Vocab(["abc"]);
    assert.throws(
      () => v.encode(["abc", "abq"]),
      (e: Error) => e instanceof RangeError && /"q"/.test(e.message),
    );
    assert.throws(() => v.encode(["ab", 3 as unknown as string]), TypeError);
    assert.throws(() => v.encode("abc" as unknown as string[]), TypeError);
  });

  await t.step("decode rejects bad ids and shapes", () => {
    const v = new data.Vocab(["ab"]);
    assert.throws(
      () => v.decode([[0, 1], [2, 4]]),
      (e: Error) => e instanceof RangeError && /id 4 at \[1, 1\]/.test(e.message),
    );
    assert.throws(() => v.decode([[-1]]), RangeError);
    assert.throws(() => v.decode([[0.5]]), RangeError);
    assert.throws(() => v.decode(tensor([0, 1], { dtype: "int32" })), RangeError);
    assert.throws(() => v.decode(tensor([[0, 1]])), TypeError);
  });

  await t.step("toJSON / fromJSON", () => {
    const v = new data.Vocab(["2017-12-31", "Wednesday, May 26, 2004"]);
    const text = JSON.stringify(v);
    assert.deepEqual(JSON.parse(text), { chars: v.chars.join("") });
    for (const saved of [text, v.toJSON()]) {
      const back = data.Vocab.fromJSON(saved);
      assert.deepEqual(back.chars, v.chars);
      assert.deepEqual(back.encode(["May 26"]).arraySync(), v.encode(["May 26"]).arraySync());
    }
    assert.throws(() => data.Vocab.fromJSON({ chars: "ba _" }), RangeError);
    assert.throws(() => data.Vocab.fromJSON({ chars: " _aa" }), RangeError);
    assert.throws(() => data.Vocab.fromJSON({ chars: "ab" }), RangeError);
    assert.throws(() => data.Vocab.fromJSON({} as unknown as { chars: string }), TypeError);
    assert.throws(() => data.Vocab.fromJSON("null"), TypeError);
  });
});
