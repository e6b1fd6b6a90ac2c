/**
 * Minibatches of any pytree of tensors that share a leading dimension.
 *
 * @module
 */

import { checkBoolean, checkInteger, checkOptions } from "./_checks.ts";
import { fmt } from "../core/shape.ts";
import { Tensor } from "../core/tensor.ts";
import { arange } from "../ops/creation.ts";
import { take } from "../ops/indexing.ts";
import { slice } from "../ops/shape.ts";
import { type Key, permutation } from "../random/mod.ts";
import * as tree from "../tree.ts";

/** Options of `batches`. */
export interface BatchOptions {
  /** The key that orders a shuffled epoch (required when shuffling). */
  key?: Key;
  /** Visit examples in a random order (default true). */
  shuffle?: boolean;
  /** Skip a last batch smaller than `batchSize` (default false). */
  dropLast?: boolean;
}

/**
 * Iterates minibatches of `dataset` (a pytree of tensors with one leading size): each example
 * appears exactly once per pass.
 *
 * @example
 * ```ts
 * import { arange, data, random } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const ds = { x: arange(10), y: arange(10).mul(2) };
 * const sizes = [...data.batches(ds, 4, { key: random.key(0) })].map((b) => b.x.shape[0]);
 * assert.deepEqual(sizes, [4, 4, 2]);
 * ```
 */
export function batches<T>(dataset: T, batchSize: number, opts: BatchOptions = {}): Generator<T> {
  const { shuffle = true, dropLast = false } = checkOptions("batches", opts);
  checkInteger("batches", "batchSize", batchSize);
  if (batchSize <= 0) {
    throw new RangeError(`data.batches: batchSize must be a positive integer, got ${batchSize}`);
  }
  checkBoolean("batches", "shuffle", shuffle);
  checkBoolean("batches", "dropLast", dropLast);
  const leaves = tree.leaves(dataset);
  if (leaves.length === 0 || leaves.some((l) => !(l instanceof Tensor) || l.ndim === 0)) {
    throw new TypeError(
      "data.batches: dataset must be a pytree of tensors with a leading dimension",
    );
  }
  const n = (leaves[0] as Tensor).shape[0];
  const bad = leaves.find((l) => (l as Tensor).shape[0] !== n);
  if (bad) {
    throw new RangeError(
      `data.batches: leading sizes differ: ${n} and ${fmt((bad as Tensor).shape)}`,
    );
  }
  if (shuffle && opts.key === undefined) {
    throw new TypeError(
      "data.batches: shuffling needs a key: pass { key } (or { shuffle: false })",
    );
  }
  const key: unknown = opts.key;
  const isKey = Array.isArray(key) && key.length === 2 &&
    key.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff);
  if (shuffle && !isKey) {
    throw new TypeError("data.batches: expected a key (two uint32 words) from random.key()");
  }
  // Checked and ordered now, so that bad input fails at the call, not at the first batch.
  const order = shuffle ? permutation(opts.key!, n) : arange(n);
  return epoch(dataset, order, batchSize, dropLast);
}

function* epoch<T>(dataset: T, order: Tensor, batchSize: number, dropLast: boolean): Generator<T> {
  const n = order.shape[0];
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    if (size < batchSize && dropLast) return;
    const idx = slice(order, [start], [size]);
    yield tree.map((l: Tensor) => take(l, idx, { axis: 0 }), dataset) as T;
  }
}
