/**
 * Threefry-2x32 (20 rounds) and JAX's classic key derivation, in plain uint32 arithmetic so the
 * same key yields bit-identical streams on every backend and matches `jax.random` under
 * `jax_threefry_partitionable=False`.
 *
 * @module
 */

// Rotation schedule of Threefry-2x32; the two rows alternate between key injections.
const ROTATIONS = new Uint8Array([13, 15, 26, 6, 17, 29, 16, 24]);
// Key-schedule parity constant from the Threefish spec.
const PARITY = 0x1bd11bda;
// Reused output slot so hashing a block never allocates.
const block = new Uint32Array(2);

/** Hashes one counter pair into `block`; the loop form mirrors JAX's five injection groups. */
function hashBlock(k0: number, k1: number, x0: number, x1: number): void {
  const k2 = (k0 ^ k1 ^ PARITY) >>> 0;
  x0 = (x0 + k0) >>> 0;
  x1 = (x1 + k1) >>> 0;
  for (let s = 1; s <= 5; s++) {
    const base = ((s - 1) & 1) * 4;
    for (let r = base; r < base + 4; r++) {
      const rot = ROTATIONS[r];
      x0 = (x0 + x1) >>> 0;
      x1 = (((x1 << rot) | (x1 >>> (32 - rot))) ^ x0) >>> 0;
    }
    // The schedule cycles through (k0, k1, k2) and adds the injection index to the second word.
    const m = s % 3;
    x0 = (x0 + (m === 0 ? k0 : m === 1 ? k1 : k2)) >>> 0;
    x1 = (x1 + (m === 0 ? k1 : m === 1 ? k2 : k0) + s) >>> 0;
  }
  block[0] = x0;
  block[1] = x1;
}

/**
 * Threefry-2x32 over paired counter words, as JAX's `threefry2x32_p`.
 *
 * @example
 * ```ts
 * import { threefry2x32 } from "./_threefry.ts";
 * import assert from "node:assert/strict";
 * const [y0, y1] = threefry2x32(0, 0, new Uint32Array([0]), new Uint32Array([0]));
 * assert.deepEqual([y0[0], y1[0]], [0x6b200159, 0x99ba4efe]);
 * ```
 */
export function threefry2x32(
  key0: number,
  key1: number,
  x0: Uint32Array,
  x1: Uint32Array,
): [Uint32Array, Uint32Array] {
  if (x0.length !== x1.length) {
    throw new RangeError(`threefry2x32: word arrays differ in length (${x0.length}, ${x1.length})`);
  }
  const k0 = key0 >>> 0, k1 = key1 >>> 0;
  const y0 = new Uint32Array(x0.length), y1 = new Uint32Array(x1.length);
  for (let i = 0; i < x0.length; i++) {
    hashBlock(k0, k1, x0[i], x1[i]);
    y0[i] = block[0];
    y1[i] = block[1];
  }
  return [y0, y1];
}

/**
 * JAX's `threefry_2x32(key, iota(n))` for even `n`: the counters are split into halves rather
 * than interleaved, which is what fixes JAX's classic (non-partitionable) stream layout.
 */
function hashIota(key: readonly [number, number], n: number, count: number): Uint32Array {
  const k0 = key[0] >>> 0, k1 = key[1] >>> 0;
  const half = n / 2;
  const out = new Uint32Array(count);
  for (let i = 0; i < half; i++) {
    // The padding word of an odd count is 0, not the next counter, and it still feeds the
    // first-half output it is paired with.
    hashBlock(k0, k1, i, half + i < count ? half + i : 0);
    out[i] = block[0];
    if (half + i < count) out[half + i] = block[1];
  }
  return out;
}

function checkCount(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new RangeError(`${what} must be an integer in [0, 2^32), got ${n}`);
  }
}

/**
 * `count` random 32-bit words, as JAX's classic `_threefry_random_bits` for 32-bit outputs.
 *
 * @example
 * ```ts
 * import { keyFromSeed, randomBits32 } from "./_threefry.ts";
 * import assert from "node:assert/strict";
 * const bits = randomBits32(keyFromSeed(0), 3);
 * assert.equal(bits.length, 3);
 * assert.deepEqual(bits, randomBits32(keyFromSeed(0), 3));
 * ```
 */
export function randomBits32(key: readonly [number, number], count: number): Uint32Array {
  checkCount("randomBits32 count", count);
  // JAX pads an odd counter array with one zero word, then drops the extra output.
  return hashIota(key, count + (count & 1), count);
}

/**
 * Derives `num` independent keys, as JAX's classic `threefry_split`.
 *
 * @example
 * ```ts
 * import { keyFromSeed, splitKey } from "./_threefry.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(splitKey(keyFromSeed(0), 2), [
 *   [4146024105, 967050713],
 *   [2718843009, 1272950319],
 * ]);
 * ```
 */
export function splitKey(key: readonly [number, number], num: number): Array<[number, number]> {
  checkCount("splitKey num", num);
  const bits = hashIota(key, num * 2, num * 2);
  const keys: Array<[number, number]> = new Array(num);
  for (let i = 0; i < num; i++) keys[i] = [bits[2 * i], bits[2 * i + 1]];
  return keys;
}

/**
 * Mixes a 32-bit integer into a key, as JAX's `threefry_fold_in`.
 *
 * @example
 * ```ts
 * import { foldIn, keyFromSeed } from "./_threefry.ts";
 * import assert from "node:assert/strict";
 * assert.notDeepEqual(foldIn(keyFromSeed(0), 1), foldIn(keyFromSeed(0), 2));
 * ```
 */
export function foldIn(key: readonly [number, number], data: number): [number, number] {
  // JAX seeds `data` as a uint32 (hi word 0) and hashes it as the single counter pair [0, data].
  hashBlock(key[0] >>> 0, key[1] >>> 0, 0, data >>> 0);
  return [block[0], block[1]];
}

/**
 * The key JAX's `PRNGKey(seed)` builds for the threefry implementation.
 *
 * Seeds in 32-bit range are read as JAX's default mode reads them (as int32: hi word 0), so
 * `-1` gives `[0, 0xFFFFFFFF]`; wider seeds keep both int64 words, as with `jax_enable_x64`.
 *
 * @example
 * ```ts
 * import { keyFromSeed } from "./_threefry.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(keyFromSeed(42), [0, 42]);
 * assert.deepEqual(keyFromSeed(-1), [0, 0xffffffff]);
 * ```
 */
export function keyFromSeed(seed: number): [number, number] {
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`keyFromSeed: seed must be a safe integer, got ${seed}`);
  }
  // JAX's default (32-bit) mode takes the seed as int32: hi word 0, lo word its bits.
  if (seed >= -0x80000000 && seed < 0x100000000) return [0, seed >>> 0];
  // Wider seeds keep their int64 two's-complement words, as JAX does with x64 enabled.
  const hi = Math.floor(seed / 0x100000000);
  return [hi >>> 0, (seed - hi * 0x100000000) >>> 0];
}

/**
 * Maps random words to floats in [0, 1), as JAX's `uniform` does for float32.
 *
 * @example
 * ```ts
 * import { bitsToUniform01 } from "./_threefry.ts";
 * import assert from "node:assert/strict";
 * const u = bitsToUniform01(new Uint32Array([0, 0xffffffff]));
 * assert.deepEqual(u, new Float32Array([0, 1 - 2 ** -23]));
 * ```
 */
export function bitsToUniform01(bits: Uint32Array): Float32Array {
  // Filling the 23 mantissa bits under exponent 0 yields a float in [1, 2) with uniform spacing;
  // subtracting 1 is exact, so the result never rounds up to 1.
  const out = new Float32Array(bits.length);
  const asBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) asBits[i] = (bits[i] >>> 9) | 0x3f800000;
  for (let i = 0; i < out.length; i++) out[i] -= 1;
  return out;
}
