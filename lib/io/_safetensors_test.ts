import assert from "node:assert/strict";
import {
  decodeSafetensors,
  dtypeByteSize,
  encodeSafetensors,
  type RawTensor,
} from "./_safetensors.ts";

const bytesOf = (a: ArrayBufferView): Uint8Array =>
  new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Builds a file from a raw header text (unpadded) and data bytes. */
function rawFile(headerText: string, data: number[] = []): Uint8Array {
  const h = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function rejects(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(() => decodeSafetensors(bytes), (e: unknown) => {
    assert.ok(e instanceof Error);
    assert.match(e.message, /^safetensors: /);
    assert.match(e.message, pattern);
    return true;
  });
}

Deno.test("dtypeByteSize", () => {
  const dtypes = ["F32", "F64", "I32", "BOOL", "F16", "BF16"] as const;
  assert.deepEqual(dtypes.map(dtypeByteSize), [4, 8, 4, 1, 2, 2]);
  assert.throws(() => dtypeByteSize("I64" as "F32"), /safetensors: unsupported dtype "I64"/);
});

Deno.test("round trip", async (t) => {
  // NaN with a non-default payload, and -0, must survive bit for bit.
  const f32 = new Float32Array([1.5, -0, Infinity, 0]);
  new DataView(f32.buffer).setUint32(12, 0x7fc12345, true);
  const f64 = new Float64Array([Math.PI, -0, NaN, -1e300, 5e-324, 2]);
  new DataView(f64.buffer).setBigUint64(16, 0xfff8_0000_dead_beefn, true);
  const tensors: Record<string, RawTensor> = {
    "w.f32": { dtype: "F32", shape: [2, 2], data: bytesOf(f32) },
    b: { dtype: "F64", shape: [3, 1, 2], data: bytesOf(f64) },
    idx: { dtype: "I32", shape: [3], data: bytesOf(new Int32Array([-2147483648, 0, 7])) },
    mask: { dtype: "BOOL", shape: [5], data: new Uint8Array([1, 0, 0, 1, 1]) },
    scalar: { dtype: "F64", shape: [], data: bytesOf(new Float64Array([-0])) },
    empty: { dtype: "F32", shape: [0], data: new Uint8Array(0) },
    half: { dtype: "F16", shape: [3], data: bytesOf(new Uint16Array([0x3c00, 0x8000, 0x7e01])) },
    brain: { dtype: "BF16", shape: [1, 1], data: bytesOf(new Uint16Array([0xff81])) },
    ["__proto__"]: { dtype: "I32", shape: [1], data: bytesOf(new Int32Array([42])) },
  };
  const bytes = encodeSafetensors(tensors, { format: "nabla", "ünïcode": "✓" });

  await t.step("data section is 8-aligned", () => {
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal(n % 8, 0);
    assert.equal(bytes.length, 8 + n + 16 + 48 + 12 + 5 + 8 + 0 + 6 + 2 + 4);
  });

  await t.step("decodes bit for bit", () => {
    const { tensors: back, metadata } = decodeSafetensors(bytes);
    assert.deepEqual(metadata, { format: "nabla", "ünïcode": "✓" });
    assert.deepEqual(Object.keys(back), Object.keys(tensors));
    assert.ok(Object.hasOwn(back, "__proto__"));
    for (const [name, t] of Object.entries(tensors)) {
      assert.equal(back[name].dtype, t.dtype, name);
      assert.deepEqual(back[name].shape, t.shape, name);
      assert.deepEqual([...back[name].data], [...t.data], name);
    }
    const g = new Float32Array(back["w.f32"].data.buffer);
    assert.ok(Object.is(g[1], -0));
    assert.equal(new DataView(g.buffer).getUint32(12, true), 0x7fc12345);
    const h = new Float64Array(back.b.data.buffer);
    assert.equal(new DataView(h.buffer).getBigUint64(16, true), 0xfff8_0000_dead_beefn);
    assert.ok(Object.is(new Float64Array(back.scalar.data.buffer)[0], -0));
  });

  await t.step("decoded data are aligned copies", () => {
    // Place the file at an odd offset in a bigger buffer.
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    const view = shifted.subarray(3);
    const { tensors: back } = decodeSafetensors(view);
    for (const t of Object.values(back)) {
      assert.equal(t.data.byteOffset, 0);
      assert.equal(t.data.buffer.byteLength, t.data.length);
      assert.notEqual(t.data.buffer, shifted.buffer);
    }
    assert.deepEqual([...new Int32Array(back.idx.data.buffer)], [-2147483648, 0, 7]);
  });

  await t.step("no metadata gives {}", () => {
    const only = encodeSafetensors({ m: tensors.mask });
    assert.ok(!new TextDecoder().decode(only).includes("__metadata__"));
    assert.deepEqual(decodeSafetensors(only).metadata, {});
    assert.deepEqual(decodeSafetensors(encodeSafetensors({})).tensors, {});
  });
});

Deno.test("encoding of a hand-written file is byte exact", () => {
  const data = bytesOf(new Float32Array([1, 2]));
  const bytes = encodeSafetensors({ a: { dtype: "F32", shape: [2], data } });
  const json = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
  assert.equal(json.length, 54); // padded with 2 spaces to 56
  const expected = [
    ...[56, 0, 0, 0, 0, 0, 0, 0],
    ...[...json].map((c) => c.charCodeAt(0)),
    0x20,
    0x20,
    ...[0x00, 0x00, 0x80, 0x3f], // 1.0f
    ...[0x00, 0x00, 0x00, 0x40], // 2.0f
  ];
  assert.equal(expected.length, 72);
  assert.deepEqual([...bytes], expected);
  assert.deepEqual(decodeSafetensors(new Uint8Array(expected)).tensors.a.data, data);
});

Deno.test("encode rejects invalid input", () => {
  const f = (t: RawTensor) => () => encodeSafetensors({ w: t });
  assert.throws(
    f({ dtype: "F32", shape: [2, 3], data: new Uint8Array(20) }),
    /safetensors: tensor "w" needs 24 bytes \(shape \[2,3\], F32\) but has 20/,
  );
  assert.throws(f({ dtype: "F32", shape: [-1], data: new Uint8Array(0) }), /invalid shape \[-1\]/);
  assert.throws(f({ dtype: "U8" as "F32", shape: [], data: new Uint8Array(1) }), /dtype "U8"/);
  assert.throws(
    () =>
      encodeSafetensors({ __metadata__: { dtype: "BOOL", shape: [], data: new Uint8Array(1) } }),
    /reserved/,
  );
  assert.throws(() => encodeSafetensors({}, { a: 1 as unknown as string }), /not a string/);
});

Deno.test("decode rejects corrupt files", async (t) => {
  const good = encodeSafetensors({
    x: { dtype: "F32", shape: [2], data: bytesOf(new Float32Array([1, 2])) },
    y: { dtype: "I32", shape: [1], data: bytesOf(new Int32Array([3])) },
  });

  await t.step("truncated", () => {
    for (const len of [0, 1, 7]) rejects(good.subarray(0, len), new RegExp(`file is ${len} bytes`));
    const n = Number(new DataView(good.buffer).getBigUint64(0, true));
    assert.equal(good.length, 8 + n + 12);
    for (const len of [8, 20, 8 + n - 1]) {
      rejects(good.subarray(0, len), new RegExp(`header size ${n} exceeds the ${len - 8} bytes`));
    }
    rejects(good.subarray(0, 8 + n), /tensor "x" data_offsets \[0,8\] exceed the 0-byte data/);
    rejects(good.subarray(0, 8 + n + 7), /tensor "x" data_offsets \[0,8\] exceed the 7-byte data/);
    rejects(good.subarray(0, 8 + n + 11), /tensor "y" data_offsets \[8,12\] exceed the 11-byte/);
  });

  await t.step("header size too large", () => {
    const big = new Uint8Array(16);
    new DataView(big.buffer).setBigUint64(0, 100_000_001n, true);
    rejects(big, /header size 100000001 exceeds the limit/);
    new DataView(big.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
    rejects(big, /header size 18446744073709551615 exceeds the limit/);
  });

  await t.step("bad header text", () => {
    rejects(rawFile(""), /not valid JSON/);
    rejects(rawFile('{"x": '), /not valid JSON/);
    rejects(rawFile("[1, 2]"), /header is not a JSON object/);
    rejects(rawFile("null"), /header is not a JSON object/);
    const bad = rawFile("{}  ");
    bad[9] = 0xff;
    rejects(bad, /not valid UTF-8/);
  });

  await t.step("bad entries", () => {
    const e = (entry: string, data: number[] = []) => rawFile(`{"t": ${entry}}`, data);
    rejects(e("3"), /tensor "t" entry is not a JSON object/);
    rejects(e('{"shape":[],"data_offsets":[0,4]}'), /tensor "t" has unsupported dtype undefined/);
    rejects(
      e('{"dtype":"I64","shape":[],"data_offsets":[0,8]}', [0, 0, 0, 0, 0, 0, 0, 0]),
      /dtype "I64" \(supported: F32, F64, I32, BOOL, F16, BF16\)/,
    );
    rejects(e('{"dtype":"BF16","shape":[2],"data_offsets":[0,2]}', [0, 0]), /needs 4 bytes/);
    rejects(e('{"dtype":"F32","data_offsets":[0,4]}'), /tensor "t" has invalid shape undefined/);
    rejects(e('{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}'), /invalid shape \[1.5\]/);
    rejects(e('{"dtype":"F32","shape":[1]}'), /invalid data_offsets undefined/);
    rejects(e('{"dtype":"F32","shape":[1],"data_offsets":[4,0]}'), /invalid data_offsets \[4,0\]/);
    rejects(e('{"dtype":"F32","shape":[1],"data_offsets":[0]}'), /invalid data_offsets \[0\]/);
    rejects(rawFile('{"__metadata__": {"a": 1}}'), /__metadata__ value for "a" is not a string/);
    rejects(rawFile('{"__metadata__": []}'), /__metadata__ is not a JSON object/);
  });

  await t.step("mismatched size", () => {
    const h = '{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}';
    const bytes = rawFile(h, new Array(20).fill(0));
    assert.throws(
      () => decodeSafetensors(bytes),
      new Error(
        'safetensors: tensor "w" needs 24 bytes (shape [2,3], F32) but data_offsets span 20',
      ),
    );
  });

  await t.step("offsets beyond end", () => {
    const h = '{"w":{"dtype":"I32","shape":[2],"data_offsets":[4,12]}}';
    rejects(rawFile(h, new Array(8).fill(0)), /tensor "w" data_offsets \[4,12\] exceed the 8-byte/);
  });

  await t.step("overlap", () => {
    const h = '{"a":{"dtype":"I32","shape":[2],"data_offsets":[0,8]},' +
      '"b":{"dtype":"I32","shape":[2],"data_offsets":[4,12]}}';
    rejects(rawFile(h, new Array(12).fill(0)), /tensor "b" data \[4,12\] overlaps/);
    const z = '{"a":{"dtype":"I32","shape":[2],"data_offsets":[0,8]},' +
      '"b":{"dtype":"I32","shape":[0],"data_offsets":[4,4]}}';
    rejects(rawFile(z, new Array(8).fill(0)), /tensor "b" data \[4,4\] overlaps/);
  });

  await t.step("gap", () => {
    const h = '{"a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]},' +
      '"b":{"dtype":"I32","shape":[1],"data_offsets":[8,12]}}';
    rejects(rawFile(h, new Array(12).fill(0)), /gap in data section: bytes \[4,8\) are unused/);
    const lead = '{"b":{"dtype":"I32","shape":[1],"data_offsets":[4,8]}}';
    rejects(rawFile(lead, new Array(8).fill(0)), /gap in data section: bytes \[0,4\)/);
  });

  await t.step("trailing bytes", () => {
    const extra = new Uint8Array(good.length + 3);
    extra.set(good);
    rejects(extra, /3 trailing bytes after the tensor data/);
    rejects(rawFile("{}", [1]), /1 trailing bytes/);
  });

  await t.step("valid unpadded and out-of-order files are accepted", () => {
    const h = '{"b":{"dtype":"BOOL","shape":[1],"data_offsets":[1,2]},' +
      '"a":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}}';
    const { tensors } = decodeSafetensors(rawFile(h, [1, 0]));
    assert.deepEqual(Object.keys(tensors), ["a", "b"]);
    assert.deepEqual([...tensors.b.data], [0]);
  });
});
