/**
 * Bind groups cached by the buffers they name. Creating a bind group costs more than the
 * dispatch that uses it, while the buffers repeat: they come from a pool, and a loop (a jitted
 * step above all) draws the same buffers for the same kernels call after call.
 *
 * The cache is a trie of maps, one level per binding, keyed by the buffer objects themselves:
 * a hit costs a map lookup per buffer and builds no key.
 *
 * @module
 */

interface Node {
  group?: GPUBindGroup;
  readonly next: Map<GPUBuffer, Node>;
}

/** Makes the bind group of a variant (its layout and fixed entries) over these buffers. */
export type MakeBindGroup = (
  variant: number,
  inputs: readonly GPUBuffer[],
  outputs: readonly GPUBuffer[],
) => GPUBindGroup;

/**
 * Bind groups by variant and buffers, made on a miss. The cache starts over once it holds
 * `max` groups, which also lets go of buffers the pool has destroyed.
 *
 * @example
 * ```ts
 * import { BindGroupCache } from "./_bind_groups.ts";
 * import assert from "node:assert/strict";
 * const adapter = await navigator.gpu?.requestAdapter();
 * if (adapter) {
 *   const device = await adapter.requestDevice();
 *   const layout = device.createBindGroupLayout({
 *     entries: [{ binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: "storage" } }],
 *   });
 *   const cache = new BindGroupCache((_variant, _inputs, [buffer]) =>
 *     device.createBindGroup({ layout, entries: [{ binding: 0, resource: { buffer } }] })
 *   );
 *   const b = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
 *   assert.equal(cache.get(0, [], [b]), cache.get(0, [], [b]));
 *   assert.equal(cache.created, 1);
 *   device.destroy();
 * }
 * ```
 */
export class BindGroupCache {
  readonly #make: MakeBindGroup;
  readonly #max: number;
  readonly #roots = new Map<number, Node>();
  #held = 0;
  #created = 0;

  /** A cache making its groups with `make`, holding at most `max` of them. */
  constructor(make: MakeBindGroup, max = 4096) {
    this.#make = make;
    this.#max = max;
  }

  /** Bind groups made so far: one per miss. */
  get created(): number {
    return this.#created;
  }

  /** The group of `variant` over `inputs` then `outputs`, made on the first request. */
  get(variant: number, inputs: readonly GPUBuffer[], outputs: readonly GPUBuffer[]): GPUBindGroup {
    let node = this.#roots.get(variant);
    if (!node) this.#roots.set(variant, node = { next: new Map() });
    for (const buffer of inputs) node = step(node, buffer);
    for (const buffer of outputs) node = step(node, buffer);
    if (node.group) return node.group;
    if (this.#held >= this.#max) {
      this.#roots.clear();
      this.#held = 0;
      return this.get(variant, inputs, outputs);
    }
    this.#held++;
    this.#created++;
    return node.group = this.#make(variant, inputs, outputs);
  }
}

function step(node: Node, buffer: GPUBuffer): Node {
  let next = node.next.get(buffer);
  if (!next) node.next.set(buffer, next = { next: new Map() });
  return next;
}
