/**
 * A loop's stacked output kept as its steps: one buffer per step, in step order. A compiled
 * `scan` hands an output over this way when every reader takes it step by step (the reverse
 * loop of a gradient reads the forward loop's residuals so), which saves stacking the steps
 * into one buffer only to slice them apart again.
 *
 * @module
 */

import { type Aval, getBackend } from "../core/backend.ts";

/**
 * The steps of a stacked value: `at(t)` is step `t`, shaped as the stack without its leading
 * axis. The steps belong to this object.
 *
 * @example
 * ```ts
 * import { Steps } from "./_steps.ts";
 * import { tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const [a, b] = [tensor([1, 2]), tensor([3, 4])];
 * const steps = new Steps([a.buffer, b.buffer], { shape: [2, 2], dtype: "float32", device: a.device });
 * assert.equal(steps.at(1), b.buffer);
 * ```
 */
export class Steps {
  readonly #buffers: readonly unknown[];
  readonly #aval: Aval;

  /** The steps `buffers` of a stack described by `aval`. */
  constructor(buffers: readonly unknown[], aval: Aval) {
    this.#buffers = buffers;
    this.#aval = aval;
  }

  /** Step `t`. */
  at(t: number): unknown {
    return this.#buffers[t];
  }

  /** Releases every step. */
  dispose(): void {
    const backend = getBackend(this.#aval.device);
    for (const b of this.#buffers) backend.dispose(b);
  }
}

/**
 * Releases a slot's value: a buffer of `aval`'s device, or {@linkcode Steps}.
 *
 * @example
 * ```ts
 * import { release } from "./_steps.ts";
 * import { tensor } from "@nabla/nabla";
 * const x = tensor([1, 2]).mul(2);
 * release(x.buffer, { shape: [2], dtype: "float32", device: x.device });
 * ```
 */
export function release(value: unknown, aval: Aval): void {
  if (value instanceof Steps) value.dispose();
  else getBackend(aval.device).dispose(value);
}
