/**
 * Counter-based, splittable random numbers with JAX's bits: Threefry-2x32 (20 rounds) and
 * JAX's classic key derivation, so `split(key(0))` and `uniform(key(0), [])` give JAX's
 * values. A key is a pair of uint32 words; the same key gives the same numbers on every
 * device, because the bits are made here and uploaded.
 *
 * ```ts
 * import { random } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const [k1, k2] = random.split(random.key(0));
 * assert.deepEqual(k1, [4146024105, 967050713]);
 * assert.deepEqual(random.normal(k2, [2, 3]).shape, [2, 3]);
 * ```
 *
 * @module
 */

import { checkDevice, type Device, getDefaultDevice } from "../core/backend.ts";
import { allocate, type DType, isFloat, type TypedArray } from "../core/dtype.ts";
import * as lax from "../core/lax.ts";
import { allocating, checkShape, fmt, normalizeAxis, sizeOf } from "../core/shape.ts";
import { Tensor } from "../core/tensor.ts";
import { kindOf } from "../ops/_coerce.ts";
import { argmax } from "../ops/reduce.ts";
import {
  bitsToUniform01,
  foldIn as foldInKey,
  keyFromSeed,
  randomBits32,
  splitKey,
} from "./_threefry.ts";

/** A PRNG key: two uint32 words. Keys are values: use each one once, `split` for more. */
export type Key = readonly [number, number];

/** Where and as what random values are made. */
export interface RandomOptions {
  /** Element type (float32 by default). */
  dtype?: DType;
  /** Device (the default device by default). */
  device?: Device;
}

function checkKey(op: string, key: Key): Key {
  const ok = Array.isArray(key) && key.length === 2 &&
    key.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff);
  if (!ok) throw new TypeError(`random.${op}: expected a key (two uint32 words) from random.key()`);
  return key;
}

function floatType(op: string, dtype: DType | undefined): DType {
  const d = dtype ?? "float32";
  if (!isFloat(d)) throw new TypeError(`random.${op}: dtype must be float32 or float64, got ${d}`);
  return d;
}

// A number argument: a TypeError for another kind.
function checkNumber(op: string, name: string, v: unknown): number {
  if (typeof v !== "number") {
    throw new TypeError(`random.${op}: ${name} must be a number, got ${kindOf(v)}`);
  }
  return v;
}

// An integer argument: a TypeError for another kind, a RangeError for a fraction or below min.
function checkInteger(op: string, name: string, v: unknown, min = -Infinity): number {
  if (typeof v !== "number") {
    throw new TypeError(`random.${op}: ${name} must be an integer, got ${kindOf(v)}`);
  }
  if (!Number.isInteger(v) || v < min) {
    const bound = min === -Infinity ? "" : ` >= ${min}`;
    throw new RangeError(`random.${op}: ${name} must be an integer${bound}, got ${v}`);
  }
  return v;
}

// The shape and device of a draw, checked before any bits are made.
function target(
  op: string,
  shape: unknown,
  dtype: DType,
  device: Device | undefined,
): [number[], Device] {
  const s = checkShape(`random.${op}`, shape, dtype);
  return [s, device === undefined ? getDefaultDevice() : checkDevice(`random.${op}`, device)];
}

// A tensor of `dtype` on `device` holding `values()` (made inside, so that running out of
// memory is an error naming the draw).
function make(
  op: string,
  shape: readonly number[],
  dtype: DType,
  device: Device,
  values: () => ArrayLike<number>,
): Tensor {
  return allocating(`random.${op}`, shape, dtype, device, () => {
    const data = values();
    const out: TypedArray = allocate(dtype, data.length);
    out.set(data);
    return lax.fromArray(out, shape, device);
  });
}

/**
 * A key from an integer seed (JAX's `PRNGKey`).
 *
 * @example
 * ```ts
 * import { random } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(random.key(42), [0, 42]);
 * ```
 */
export function key(seed: number): Key {
  if (typeof seed !== "number") {
    throw new TypeError(`random.key: seed must be an integer, got ${kindOf(seed)}`);
  }
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`random.key: seed must be a safe integer, got ${seed}`);
  }
  return Object.freeze(keyFromSeed(seed)) as Key;
}

/**
 * `num` new independent keys from one.
 *
 * @example
 * ```ts
 * import { random } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.deepEqual(random.split(random.key(0)), [[4146024105, 967050713], [2718843009, 1272950319]]);
 * ```
 */
export function split(k: Key, num = 2): Key[] {
  checkKey("split", k);
  checkInteger("split", "num", num, 0);
  return splitKey(k, num).map((pair) => Object.freeze(pair) as Key);
}

/**
 * A new key derived from a key and an integer (for example a step number).
 *
 * @example
 * ```ts
 * import { random } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.notDeepEqual(random.foldIn(random.key(0), 1), random.foldIn(random.key(0), 2));
 * ```
 */
export function foldIn(k: Key, data: number): Key {
  checkKey("foldIn", k);
  checkInteger("foldIn", "data", data);
  return Object.freeze(foldInKey(k, data)) as Key;
}

function uniform01(k: Key, shape: readonly number[]): Float32Array {
  return bitsToUniform01(randomBits32(k, sizeOf(shape)));
}

/**
 * Uniform samples in `[minval, maxval)`, from 23 random mantissa bits as JAX builds them.
 *
 * @example
 * ```ts
 * import { random } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.equal(random.uniform(random.key(0), []).item(), 0.41845703125);
 * ```
 */
export function uniform(
  k: Key,
  shape: readonly number[],
  opts: RandomOptions & { minval?: number; maxval?: number } = {},
): Tensor {
  checkKey("uniform", k);
  const dtype = floatType("uniform", opts.dtype);
  const [s, device] = target("uniform", shape, dtype, opts.device);
  const { minval = 0, maxval = 1 } = opts;
  checkNumber("uniform", "minval", minval);
  checkNumber("uniform", "maxval", maxval);
  return make("uniform", s, dtype, device, () => {
    const u = uniform01(k, s);
    const out = new Float64Array(u.length);
    for (let i = 0; i < u.length; i++) {
      const v = dtype === "float32"
        ? Math.fround(Math.fround(u[i] * Math.fround(maxval - minval)) + minval)
        : u[i] * (maxval - minval) + minval;
      out[i] = Math.max(minval, v);
    }
    return out;
  });
}

// Inverse error function, single precision (Giles, "Approximating the erfinv function"):
// the approximation XLA uses for float32, so normal samples follow JAX's closely.
function erfinv(x: number): number {
  let w = -Math.log((1 - x) * (1 + x));
  let p: number;
  if (w < 5) {
    w -= 2.5;
    p = 2.81022636e-08;
    p = 3.43273939e-07 + p * w;
    p = -3.5233877e-06 + p * w;
    p = -4.39150654e-06 + p * w;
    p = 0.00021858087 + p * w;
    p = -0.00125372503 + p * w;
    p = -0.00417768164 + p * w;
    p = 0.246640727 + p * w;
    p = 1.50140941 + p * w;
  } else {
    w = Math.sqrt(w) - 3;
    p = -0.000200214257;
    p = 0.000100950558 + p * w;
    p = 0.00134934322 + p * w;
    p = -0.00367342844 + p * w;
    p = 0.00573950773 + p * w;
    p = -0.0076224613 + p * w;
    p = 0.00943887047 + p * w;
    p = 1.00167406 + p * w;
    p = 2.83297682 + p * w;
  }
  return p * x;
}

/**
 * Standard normal samples (JAX's construction: `√2·erfinv(u)` for `u` uniform in (-1, 1)).
 *
 * @example
 * ```ts
 * import { random } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const x = random.normal(random.key(1), [10000]);
 * assert.ok(Math.abs(x.mean().item()) < 0.05);
 * ```
 */
export function normal(k: Key, shape: readonly number[], opts: RandomOptions = {}): Tensor {
  checkKey("normal", k);
  const dtype = floatType("normal", opts.dtype);
  const [s, device] = target("normal", shape, dtype, opts.device);
  const lo = Math.fround(-1 + 2 ** -24); // nextafter(-1, 0) in float32
  return make("normal", s, dtype, device, () => {
    const u = uniform01(k, s);
    const out = new Float64Array(u.length);
    for (let i = 0; i < u.length; i++) {
      const v = Math.max(lo, Math.fround(Math.fround(u[i] * Math.fround(1 - lo)) + lo));
      out[i] = Math.SQRT2 * erfinv(v);
    }
    return out;
  });
}

/**
 * Booleans that are true with probability `p`.
 *
 * @example
 * ```ts
 * import { random } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const b = random.bernoulli(random.key(0), 0.3, [1000]);
 * assert.equal(b.dtype, "bool");
 * ```
 */
export function bernoulli(
  k: Key,
  p = 0.5,
  shape: readonly number[] = [],
  opts: { device?: Device } = {},
): Tensor {
  checkKey("bernoulli", k);
  checkNumber("bernoulli", "p", p);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`random.bernoulli: p must be in [0, 1], got ${p}`);
  const [s, device] = target("bernoulli", shape, "bool", opts.device);
  return make("bernoulli", s, "bool", device, () => uniform01(k, s).map((v) => (v < p ? 1 : 0)));
}

/**
 * Integers uniform in `[minval, maxval)` (JAX's two-draw construction, int32).
 *
 * @example
 * ```ts
 * import { random } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const r = random.randint(random.key(0), [100], 0, 10);
 * assert.ok(r.min().item() >= 0 && r.max().item() < 10);
 * ```
 */
export function randint(
  k: Key,
  shape: readonly number[],
  minval: number,
  maxval: number,
  opts: { device?: Device } = {},
): Tensor {
  checkKey("randint", k);
  const [s, device] = target("randint", shape, "int32", opts.device);
  for (const v of [minval, maxval]) {
    checkNumber("randint", "bounds", v);
    if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) {
      throw new RangeError(`random.randint: bounds must be int32 integers, got ${v}`);
    }
  }
  return make("randint", s, "int32", device, () => {
    const [k1, k2] = splitKey(k, 2);
    const n = sizeOf(s);
    const higher = randomBits32(k1, n);
    const lower = randomBits32(k2, n);
    const span = maxval <= minval ? 1 : (maxval - minval) >>> 0;
    // Two draws combined through 2^32 mod span keep the bias below 2^-32 for any span.
    let multiplier = 2 ** 16 % span;
    multiplier = mulmod(multiplier, multiplier, span);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const offset = ((mulmod(higher[i] % span, multiplier, span) + (lower[i] % span)) >>> 0) %
        span;
      out[i] = minval + offset;
    }
    return out;
  });
}

// (a · b) mod m in uint32 arithmetic, wrapping the product as JAX's uint32 `mul` does.
function mulmod(a: number, b: number, m: number): number {
  return (Math.imul(a, b) >>> 0) % m;
}

/**
 * A random permutation of `0..n-1` (int32), by JAX's sort-based shuffle.
 *
 * @example
 * ```ts
 * import { random } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const p = random.permutation(random.key(0), 5);
 * assert.deepEqual([...p.dataSync()].sort(), [0, 1, 2, 3, 4]);
 * ```
 */
export function permutation(k: Key, n: number, opts: { device?: Device } = {}): Tensor {
  checkKey("permutation", k);
  checkInteger("permutation", "n", n, 0);
  const [, device] = target("permutation", [n], "int32", opts.device);
  return make("permutation", [n], "int32", device, () => shuffled(k, n));
}

// JAX's sort-based shuffle of 0..n-1.
function shuffled(k: Key, n: number): Int32Array {
  let order = Int32Array.from({ length: n }, (_, i) => i);
  // Enough rounds of sorting by random 32-bit keys that collisions leave no visible bias.
  const rounds = Math.ceil((3 * Math.log(Math.max(1, n))) / Math.log(0xffffffff));
  let current: Key = k;
  for (let r = 0; r < rounds; r++) {
    const [next, sub] = splitKey(current, 2);
    current = next;
    const sortKeys = randomBits32(sub, n);
    const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) =>
      sortKeys[a] - sortKeys[b] || a - b
    );
    order = Int32Array.from(idx, (i) => order[i]);
  }
  return order;
}

/**
 * Samples class indices from unnormalized log-probabilities along `axis` (Gumbel-max, as JAX).
 *
 * @example
 * ```ts
 * import { random, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const c = random.categorical(random.key(0), tensor([[0, -1e9], [-1e9, 0]]));
 * assert.deepEqual(await c.toArray(), [0, 1]);
 * ```
 */
export function categorical(k: Key, logits: Tensor, opts: { axis?: number } = {}): Tensor {
  checkKey("categorical", k);
  if (!(logits instanceof Tensor)) {
    throw new TypeError(`random.categorical: logits must be a Tensor, got ${kindOf(logits)}`);
  }
  const axis = normalizeAxis("random.categorical", opts.axis ?? -1, logits.shape);
  if (logits.shape[axis] === 0) {
    throw new RangeError(
      `random.categorical: no classes along axis ${axis} of ${fmt(logits.shape)}`,
    );
  }
  const dtype = isFloat(logits.dtype) ? logits.dtype : "float32";
  const tiny = 1.1754943508222875e-38; // smallest normal float32
  const u = uniform(k, logits.shape, { dtype, minval: tiny, maxval: 1, device: logits.device });
  const gumbel = lax.neg(lax.log(lax.neg(lax.log(u))));
  return argmax(lax.add(gumbel, lax.convert(logits, dtype)), { axis });
}
