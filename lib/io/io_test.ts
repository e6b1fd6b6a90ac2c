import assert from "node:assert/strict";
import * as nb from "../../mod.ts";
import { encodeSafetensors } from "./_safetensors.ts";

const { io, tensor } = nb;

async function withTemp<T>(f: (path: string) => Promise<T>): Promise<T> {
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  try {
    return await f(path);
  } finally {
    await Deno.remove(path);
  }
}

const bytesOf = async (x: nb.Tensor) => {
  const d = await x.data();
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength).slice();
};

/** Compares two pytrees: same structure, same dtypes and shapes, identical bytes. */
async function assertBitEqual(actual: unknown, expected: unknown) {
  const [la, da] = nb.tree.flatten(actual);
  const [le, de] = nb.tree.flatten(expected);
  assert.deepEqual(nb.tree.paths(actual), nb.tree.paths(expected));
  assert.equal(la.length, le.length);
  assert.deepEqual(JSON.stringify(da), JSON.stringify(de));
  for (let i = 0; i < le.length; i++) {
    const a = la[i], e = le[i];
    if (e instanceof nb.Tensor) {
      assert.ok(a instanceof nb.Tensor, `leaf ${i} is not a tensor`);
      assert.equal(a.dtype, e.dtype);
      assert.deepEqual(a.shape, e.shape);
      assert.deepEqual(await bytesOf(a), await bytesOf(e));
    } else {
      assert.equal(a, e);
    }
  }
}

function sampleTree() {
  const params = { w: tensor([[1, -2], [0.5, 3]]), b: tensor([0.1, 0.2]) };
  const opt = nb.optim.adam(0.1);
  let state = opt.init(params);
  [, state] = opt.update({ w: tensor([[0.3, -0.1], [2, 1]]), b: tensor([1, -1]) }, state);
  return {
    params,
    f64: tensor([Math.PI, -1e-300, 1e300, 0.1], { dtype: "float64" }),
    nested: {
      ints: tensor([[1, -2, 2147483647], [-2147483648, 0, 7]], { dtype: "int32" }),
      mask: tensor([true, false, true], { dtype: "bool" }),
      scalar: tensor(NaN),
      list: [tensor([Number.MIN_VALUE, -0, Infinity], { dtype: "float64" }), 42],
    },
    lr: 0.125,
    optState: state,
  };
}

Deno.test("save/load round trip bit for bit", async () => {
  const t = sampleTree();
  await withTemp(async (path) => {
    await io.save(path, t);
    const back = await io.load(path);
    await assertBitEqual(back, t);
    const b = back as ReturnType<typeof sampleTree>;
    assert.equal(b.lr, 0.125);
    assert.equal(b.optState.count, 1);
    assert.equal(b.nested.list[1], 42);
    assert.equal(b.nested.mask.dtype, "bool");
    assert.deepEqual(await b.nested.mask.toArray(), await t.nested.mask.toArray());
    // The loaded optimizer state continues training like the original.
    const opt = nb.optim.adam(0.1);
    const g = { w: tensor([[1, 1], [1, 1]]), b: tensor([0.5, 0.5]) };
    const [u1] = opt.update(g, t.optState);
    const [u2] = opt.update(g, b.optState);
    await nb.testing.assertAllClose(u2, u1, { rtol: 0, atol: 0 });
  });
});

Deno.test("a truncated or corrupted file rejects with an Error", async (t) => {
  const tree = sampleTree();
  await withTemp(async (path) => {
    await io.save(path, tree);
    const full = await Deno.readFile(path);

    await t.step("truncated", async () => {
      const headerLen = Number(new DataView(full.buffer).getBigUint64(0, true));
      const cuts = [0, 4, 7, 8, 20, 8 + headerLen - 1, 8 + headerLen + 3, full.length - 1];
      for (const cut of cuts) {
        await withTemp(async (p) => {
          await Deno.writeFile(p, full.slice(0, cut));
          let result: unknown = "unset";
          await assert.rejects(
            async () => {
              result = await io.load(p);
            },
            Error,
            `cut at ${cut}`,
          );
          assert.equal(result, "unset");
        });
      }
    });

    await t.step("corrupted header", async () => {
      const bad = full.slice();
      bad[9] = "!".charCodeAt(0); // breaks the header's JSON
      await withTemp(async (p) => {
        await Deno.writeFile(p, bad);
        let result: unknown = "unset";
        await assert.rejects(async () => {
          result = await io.load(p);
        }, Error);
        assert.equal(result, "unset");
      });
      const hugeLen = full.slice();
      new DataView(hugeLen.buffer).setBigUint64(0, 2n ** 40n, true);
      await withTemp(async (p) => {
        await Deno.writeFile(p, hugeLen);
        await assert.rejects(() => io.load(p), Error);
      });
    });
  });
});

Deno.test("a file without nabla metadata loads as a flat object by name", async () => {
  const f32 = new Float32Array([1.5, -2.25, 3]);
  const i32 = new Int32Array([7, -8]);
  const f64 = new Float64Array([Math.E]);
  const u8 = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();
  const bytes = encodeSafetensors({
    "layer.weight": { dtype: "F32", shape: [3, 1], data: u8(f32) },
    ids: { dtype: "I32", shape: [2], data: u8(i32) },
    e: { dtype: "F64", shape: [], data: u8(f64) },
    flags: { dtype: "BOOL", shape: [2], data: new Uint8Array([1, 0]) },
  }, { format: "pt" });
  await withTemp(async (path) => {
    await Deno.writeFile(path, bytes);
    const back = await io.load(path) as Record<string, nb.Tensor>;
    assert.deepEqual(Object.keys(back).sort(), ["e", "flags", "ids", "layer.weight"]);
    assert.equal(back["layer.weight"].dtype, "float32");
    assert.deepEqual(back["layer.weight"].shape, [3, 1]);
    assert.deepEqual(await back["layer.weight"].toArray(), [[1.5], [-2.25], [3]]);
    assert.equal(back.ids.dtype, "int32");
    assert.deepEqual(await back.ids.toArray(), [7, -8]);
    assert.equal(back.e.dtype, "float64");
    assert.deepEqual(back.e.shape, []);
    assert.equal(back.e.item(), Math.E);
    assert.equal(back.flags.dtype, "bool");
    assert.deepEqual((await back.flags.toArray() as unknown[]).map(Boolean), [true, false]);
  });
});
