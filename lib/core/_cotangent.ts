/**
 * Sums of cotangents during transposition. The cotangent reaching a value is a sum of dense
 * terms and of blocks (what `slice` sends back); blocks are assembled once, when the sum is
 * passed on, so that a sequence read step by step gets one concat, not one padded copy per
 * step.
 *
 * @module
 */

import * as lax from "./lax.ts";
import { BlockCotangent } from "./primitive.ts";
import type { Tensor } from "./tensor.ts";
import { release } from "./transient.ts";

/**
 * The running sum of the cotangents that reach one value: dense terms and sparse blocks.
 *
 * @example
 * ```ts
 * import { CotangentSum } from "./_cotangent.ts";
 * import { tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const sum = new CotangentSum(false);
 * sum.add(tensor([1, 2]));
 * sum.add(tensor([3, 4]));
 * assert.deepEqual(await sum.total()[0].toArray(), [4, 6]);
 * ```
 */
export class CotangentSum {
  #dense: Tensor | null = null;
  // Whether #dense was made here (a partial sum): then nothing else holds it.
  #owned = false;
  #blocks: BlockCotangent[] = [];
  readonly #free: boolean;

  /** `free`: partial sums this object replaces may be disposed at once. */
  constructor(free: boolean) {
    this.#free = free;
  }

  add(ct: Tensor | BlockCotangent): void {
    if (ct instanceof BlockCotangent) this.#blocks.push(ct);
    else if (this.#dense === null) this.#dense = ct;
    else this.#replace(lax.add(this.#dense, ct));
  }

  /** The sum, and whether it was made here (so that its one consumer may free it). */
  total(): [Tensor, boolean] {
    if (this.#blocks.length === 0) return [this.#dense!, this.#owned];
    const blocks = assemble(this.#blocks);
    // A lone block that fills the whole shape is passed on as it is: not made here.
    const made = this.#blocks.every((b) => b.block !== blocks);
    if (this.#dense === null) return [blocks, made];
    this.#replace(lax.add(this.#dense, blocks));
    if (this.#free && made) release(blocks);
    return [this.#dense, true];
  }

  #replace(sum: Tensor): void {
    if (this.#owned && this.#free) release(this.#dense!);
    this.#dense = sum;
    this.#owned = true;
  }
}

// Blocks that differ along a single axis and do not overlap (a sequence read step by step)
// join into one concat with zero gaps; any other mix is summed as padded blocks.
function assemble(blocks: BlockCotangent[]): Tensor {
  const { shape } = blocks[0];
  const pad = (b: BlockCotangent) =>
    lax.pad(b.block, shape.map((d, i) => [b.begin[i], d - b.begin[i] - b.block.shape[i]]), 0);
  const axis = tilingAxis(blocks);
  if (axis < 0) return blocks.map(pad).reduce((a, b) => lax.add(a, b));
  const sorted = [...blocks].sort((a, b) => a.begin[axis] - b.begin[axis]);
  const like = sorted[0].block;
  const pieces: Tensor[] = [];
  let at = 0;
  const gap = (to: number) => {
    if (to > at) {
      const gapShape = shape.map((d, i) => (i === axis ? to - at : d));
      pieces.push(lax.full(gapShape, 0, like.dtype, like.device));
    }
  };
  for (const b of sorted) {
    gap(b.begin[axis]);
    pieces.push(b.block);
    at = b.begin[axis] + b.block.shape[axis];
  }
  gap(shape[axis]);
  return lax.concat(pieces, axis);
}

// The one axis along which all blocks are partial, if they are disjoint and full elsewhere.
function tilingAxis(blocks: BlockCotangent[]): number {
  const { shape } = blocks[0];
  const partial = shape.flatMap((d, i) => (blocks.some((b) => b.block.shape[i] !== d) ? [i] : []));
  if (partial.length !== 1) return partial.length === 0 && blocks.length === 1 ? 0 : -1;
  const axis = partial[0];
  const spans = blocks.map((b) => [b.begin[axis], b.begin[axis] + b.block.shape[axis]]);
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) if (spans[i][0] < spans[i - 1][1]) return -1;
  return axis;
}
