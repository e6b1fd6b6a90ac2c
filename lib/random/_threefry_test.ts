import assert from "node:assert/strict";
import {
  bitsToUniform01,
  foldIn,
  keyFromSeed,
  randomBits32,
  splitKey,
  threefry2x32,
} from "./_threefry.ts";

function kat(key: [number, number], x: [number, number]): [number, number] {
  const [y0, y1] = threefry2x32(key[0], key[1], new Uint32Array([x[0]]), new Uint32Array([x[1]]));
  return [y0[0], y1[0]];
}

Deno.test("threefry2x32 matches the Random123 known-answer vectors", () => {
  assert.deepEqual(kat([0, 0], [0, 0]), [0x6b200159, 0x99ba4efe]);
  assert.deepEqual(
    kat([0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff]),
    [0x1cb996fc, 0xbb002be7],
  );
  assert.deepEqual(
    kat([0x13198a2e, 0x03707344], [0x243f6a88, 0x85a308d3]),
    [0xc4923a9c, 0x483df7a0],
  );
});

Deno.test("threefry2x32 hashes each lane independently and rejects ragged input", () => {
  const [y0, y1] = threefry2x32(
    0x13198a2e,
    0x03707344,
    new Uint32Array([0, 0x243f6a88]),
    new Uint32Array([0, 0x85a308d3]),
  );
  assert.deepEqual([y0[1], y1[1]], [0xc4923a9c, 0x483df7a0]);
  assert.deepEqual([y0[0], y1[0]], kat([0x13198a2e, 0x03707344], [0, 0]));
  assert.throws(() => threefry2x32(0, 0, new Uint32Array(2), new Uint32Array(1)), RangeError);
});

Deno.test("splitKey(keyFromSeed(0), 2) matches jax.random.split(PRNGKey(0))", () => {
  assert.deepEqual(splitKey(keyFromSeed(0), 2), [
    [4146024105, 967050713],
    [2718843009, 1272950319],
  ]);
  assert.deepEqual(splitKey(keyFromSeed(0), 0), []);
});

Deno.test("splitKey lays counters out as JAX's halves, not interleaved pairs", () => {
  const key: [number, number] = [7, 11];
  const [y0, y1] = threefry2x32(7, 11, new Uint32Array([0, 1, 2]), new Uint32Array([3, 4, 5]));
  const flat = [...y0, ...y1];
  assert.deepEqual(splitKey(key, 3), [[flat[0], flat[1]], [flat[2], flat[3]], [
    flat[4],
    flat[5],
  ]]);
});

Deno.test("randomBits32 pads an odd count with a zero counter", () => {
  const key = keyFromSeed(3);
  const [y0, y1] = threefry2x32(key[0], key[1], new Uint32Array([0, 1]), new Uint32Array([2, 0]));
  assert.deepEqual(randomBits32(key, 3), new Uint32Array([y0[0], y0[1], y1[0]]));
  assert.equal(randomBits32(key, 0).length, 0);
  assert.throws(() => randomBits32(key, -1), RangeError);
  assert.throws(() => randomBits32(key, 1.5), RangeError);
});

Deno.test("uniform from PRNGKey(0) matches jax.random.uniform(PRNGKey(0), ())", () => {
  const u = bitsToUniform01(randomBits32(keyFromSeed(0), 1))[0];
  assert.ok(Math.abs(u - 0.41845703) < 1e-7, `got ${u}`);
});

Deno.test("bitsToUniform01 covers [0, 1) without reaching 1", () => {
  const u = bitsToUniform01(new Uint32Array([0, 0x1ff, 0x200, 0xffffffff]));
  assert.deepEqual([...u], [0, 0, 2 ** -23, 1 - 2 ** -23]);
});

Deno.test("foldIn is deterministic, data-sensitive, and hashes the counter pair [0, data]", () => {
  const key = keyFromSeed(0);
  assert.deepEqual(foldIn(key, 1), foldIn(key, 1));
  assert.notDeepEqual(foldIn(key, 1), foldIn(key, 2));
  assert.notDeepEqual(foldIn(key, 0), key);
  assert.deepEqual(foldIn(key, 5), kat(key, [0, 5]));
  assert.deepEqual(foldIn(key, -1), kat(key, [0, 0xffffffff]));
});

Deno.test("keyFromSeed reads 32-bit seeds as JAX int32 seeds, wider ones as int64", () => {
  assert.deepEqual(keyFromSeed(0), [0, 0]);
  assert.deepEqual(keyFromSeed(42), [0, 42]);
  assert.deepEqual(keyFromSeed(0xffffffff), [0, 0xffffffff]);
  assert.deepEqual(keyFromSeed(2 ** 32 + 5), [1, 5]);
  assert.deepEqual(keyFromSeed(-1), [0, 0xffffffff]);
  assert.deepEqual(keyFromSeed(-(2 ** 32)), [0xffffffff, 0]);
  assert.deepEqual(keyFromSeed(-(2 ** 32) - 1), [0xfffffffe, 0xffffffff]);
  assert.throws(() => keyFromSeed(0.5), RangeError);
  assert.throws(() => keyFromSeed(2 ** 53), RangeError);
});

Deno.test("uniform samples have the moments of U(0, 1)", () => {
  const n = 100_000;
  const u = bitsToUniform01(randomBits32(keyFromSeed(1), n));
  let sum = 0;
  for (const v of u) sum += v;
  const mean = sum / n;
  let sq = 0;
  for (const v of u) sq += (v - mean) ** 2;
  const variance = sq / n;
  assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1 / 12) < 0.01, `variance ${variance}`);
  assert.ok(u.every((v) => v >= 0 && v < 1));
});
