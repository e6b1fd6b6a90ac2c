import assert from "node:assert/strict";
import * as nb from "../../mod.ts";
import { decodeSafetensors, encodeSafetensors } from "./_safetensors.ts";

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
    assert.equal((b.optState.count as nb.Tensor).item(), 1);
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

Deno.test("leaves whose paths collide are a TypeError, and nothing is written", async () => {
  const t1 = tensor([1]), t2 = tensor([2]);
  await withTemp(async (path) => {
    const collisions: [unknown, string][] = [
      [{ "a.b": t1, a: { b: t2 } }, '"a.b"'],
      [{ a: [t1, t2], "a.1": 3 }, '"a.1"'],
      [{ "": t1, value: t2 }, '"value"'],
    ];
    for (const [t, name] of collisions) {
      await assert.rejects(() => io.save(path, t), (e: Error) => {
        assert.ok(e instanceof TypeError);
        assert.match(e.message, /^io\.save: two leaves have the path /);
        assert.ok(e.message.includes(name), e.message);
        return true;
      });
    }
    await assert.rejects(() => io.save(path, { __metadata__: t1 }), TypeError);
    await assert.rejects(() => io.save(path, { f: () => 1 }), /io.save: the leaf at "f"/);
    assert.equal((await Deno.readFile(path)).length, 0);
  });
});

Deno.test("numbers JSON cannot spell survive", async () => {
  await withTemp(async (path) => {
    const t = { best: Infinity, worst: -Infinity, nan: NaN, zero: -0, w: tensor(1), s: "x" };
    await io.save(path, t);
    const back = (await io.load(path)) as typeof t;
    assert.deepEqual({ ...back, w: 0 }, { ...t, w: 0 });
    assert.ok(Object.is(back.zero, -0));
  });
});

/** A safetensors file holding one F32 tensor "w" and the given nabla metadata text. */
const withMetadata = (text: string) =>
  encodeSafetensors({ w: { dtype: "F32", shape: [], data: new Uint8Array(4) } }, {
    "nabla.tree": text,
  });

Deno.test("malformed nabla metadata names io.load, the file and what is wrong", async () => {
  const leaf = { kind: "leaf" };
  const obj = (keys: string[]) => ({ kind: "object", keys, children: keys.map(() => leaf) });
  const cases: [string, RegExp][] = [
    ["{", /metadata is not valid JSON/],
    ["[]", /metadata is not a JSON object/],
    [JSON.stringify({ tags: [], names: [] }), /no valid tree structure/],
    [JSON.stringify({ def: { kind: "tree" }, tags: [], names: [] }), /no valid tree structure/],
    [
      JSON.stringify({ def: { kind: "object", keys: ["w"], children: [] }, tags: [], names: [] }),
      /no valid tree structure/,
    ],
    [JSON.stringify({ def: obj(["w"]), names: ["w"] }), /no "tags" list/],
    [JSON.stringify({ def: obj(["w"]), tags: [{ t: 1 }] }), /no "names" list/],
    [
      JSON.stringify({ def: obj(["w"]), tags: [{ x: 1 }], names: ["w"] }),
      /invalid tag \{"x":1\} for leaf 0/,
    ],
    [
      JSON.stringify({ def: obj(["w"]), tags: [{ v: null }], names: [] }),
      /invalid tag \{"v":null\} for leaf 0/,
    ],
    [JSON.stringify({ def: obj(["w"]), tags: [{ t: 1 }], names: [7] }), /not a string: 7/],
    [
      JSON.stringify({ def: obj(["w", "b"]), tags: [{ t: 1 }], names: ["w"] }),
      /has 1 leaf tags but its structure has 2 leaves/,
    ],
    [
      JSON.stringify({ def: obj(["w"]), tags: [{ t: 1 }], names: ["w", "b"] }),
      /has 2 names for 1 tensor leaves/,
    ],
    [JSON.stringify({ def: obj(["w"]), tags: [{ t: 1 }], names: ["b"] }), /tensor "b" is missing/],
  ];
  for (const [text, pattern] of cases) {
    await withTemp(async (path) => {
      await Deno.writeFile(path, withMetadata(text));
      await assert.rejects(() => io.load(path), (e: Error) => {
        assert.equal(e.constructor, Error, e.message);
        assert.ok(e.message.startsWith(`io.load: ${path}: `), e.message);
        assert.match(e.message, pattern);
        assert.doesNotMatch(e.message, /undefined/);
        return true;
      });
    });
  }
  // The same file with well-formed metadata loads.
  await withTemp(async (path) => {
    const good = { def: obj(["w"]), tags: [{ t: 1 }], names: ["w"] };
    await Deno.writeFile(path, withMetadata(JSON.stringify(good)));
    const back = (await io.load(path)) as { w: nb.Tensor };
    assert.equal(back.w.item(), 0);
  });
});

Deno.test("a corrupt file's error names io.load and the file", async () => {
  await withTemp(async (path) => {
    await Deno.writeFile(path, new Uint8Array([1, 2, 3]));
    await assert.rejects(() => io.load(path), (e: Error) => {
      assert.ok(e.message.startsWith(`io.load: ${path}: safetensors: file is 3 bytes`), e.message);
      return true;
    });
  });
});

/** The float32 values of F16 (or BF16) bit patterns, widened by the platform's Float16Array. */
const f16Values = (...bits: number[]) => Array.from(new Float16Array(new Uint16Array(bits).buffer));

Deno.test("float16 and bfloat16", async (t) => {
  await t.step("save rounds floating leaves; integers and booleans keep their dtype", async () => {
    const tree = {
      w: tensor([1 / 3, 65520, -(2 ** -25) * 3, NaN]),
      d: tensor([1 + 2 ** -11 + 2 ** -40], { dtype: "float64" }),
      i: tensor([7, -8], { dtype: "int32" }),
      m: tensor([true, false], { dtype: "bool" }),
      step: 2,
    };
    await withTemp(async (path) => {
      await io.save(path, tree, { dtype: "float16" });
      const { tensors } = decodeSafetensors(await Deno.readFile(path));
      const bits = (name: string) => [...new Uint16Array(tensors[name].data.buffer)];
      assert.deepEqual([tensors.w.dtype, tensors.d.dtype], ["F16", "F16"]);
      assert.deepEqual(bits("w"), [0x3555, 0x7c00, 0x8002, 0x7e00]);
      assert.deepEqual(bits("d"), [0x3c01]);
      assert.deepEqual([tensors.i.dtype, tensors.m.dtype], ["I32", "BOOL"]);

      const back = (await io.load(path)) as typeof tree;
      assert.deepEqual([back.w.dtype, back.d.dtype, back.i.dtype, back.m.dtype], [
        "float32",
        "float32",
        "int32",
        "bool",
      ]);
      assert.deepEqual(await back.w.toArray(), f16Values(0x3555, 0x7c00, 0x8002, 0x7e00));
      assert.deepEqual(await back.i.toArray(), [7, -8]);
      assert.equal(back.step, 2);
    });
    await withTemp(async (path) => {
      await io.save(path, tree, { dtype: "bfloat16" });
      const { tensors } = decodeSafetensors(await Deno.readFile(path));
      assert.deepEqual([tensors.w.dtype, tensors.d.dtype], ["BF16", "BF16"]);
      assert.deepEqual([...new Uint16Array(tensors.w.data.buffer)], [
        0x3eab,
        0x4780,
        0xb3c0,
        0x7fc0,
      ]);
      const back = (await io.load(path, { dtype: "float64" })) as typeof tree;
      assert.equal(back.w.dtype, "float64");
      // bfloat16 0x3eab is 0.333984375; 0x4780 is 65536; 0xb3c0 is -3 * 2^-25 (exact).
      assert.deepEqual(await back.w.toArray(), [0.333984375, 65536, -3 * 2 ** -25, NaN]);
    });
  });

  await t.step("a checkpoint's F16 and BF16 tensors load exactly", async () => {
    const u8 = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const bytes = encodeSafetensors({
      h: {
        dtype: "F16",
        shape: [2, 2],
        data: u8(new Uint16Array([0x3c00, 0x0001, 0xfc00, 0x7bff])),
      },
      b: { dtype: "BF16", shape: [2], data: u8(new Uint16Array([0x4049, 0x8001])) },
    }, { format: "pt" });
    await withTemp(async (path) => {
      await Deno.writeFile(path, bytes);
      const back = (await io.load(path)) as Record<string, nb.Tensor>;
      assert.deepEqual([back.h.dtype, back.h.shape], ["float32", [2, 2]]);
      assert.deepEqual(await back.h.toArray(), [[1, 2 ** -24], [-Infinity, 65504]]);
      assert.deepEqual(await back.b.toArray(), [3.140625, -(2 ** -133)]);
      const wide = (await io.load(path, { dtype: "float64" })) as Record<string, nb.Tensor>;
      assert.deepEqual([wide.h.dtype, wide.b.dtype], ["float64", "float64"]);
      assert.deepEqual(await wide.b.toArray(), [3.140625, -(2 ** -133)]);
    });
  });

  await t.step("bad dtype options are TypeErrors", async () => {
    await withTemp(async (path) => {
      await assert.rejects(
        () => io.save(path, tensor(1), { dtype: "float32" as "float16" }),
        (e: Error) => e instanceof TypeError && /io\.save: dtype must be/.test(e.message),
      );
      await io.save(path, tensor(1));
      await assert.rejects(
        () => io.load(path, { dtype: "int32" as "float32" }),
        (e: Error) => e instanceof TypeError && /io\.load: dtype must be/.test(e.message),
      );
    });
  });
});

Deno.test("a path that is not a string or URL is a TypeError naming the call", async () => {
  await assert.rejects(() => io.save(5 as never, { w: tensor([1]) }), {
    name: "TypeError",
    message: /io\.save: path must be a non-empty string or a URL, got 5/,
  });
  await assert.rejects(() => io.load("" as never), /io\.load: path must be a non-empty string/);
});
