/**
 * Transient tensors: the concrete values a transformation's own machinery makes (the primal
 * values inside tracers, the residuals of the linear program, the cotangents of the backward
 * pass). No caller can reach them once the transformation has returned, except the ones it
 * returns, so a top-level gradient frees the rest at once instead of leaving them to the
 * garbage collector: device memory (Wasm heap blocks, GPU buffers) is then reused by the next
 * step rather than piling up until a full collection.
 *
 * The ownership rule: the machinery frees only what it made itself, and never what user code
 * can hold. Values the user's own code makes (constants in the transformed function, a value
 * a custom rule caches) are not transient, since only what is made while the machinery runs
 * (inside {@linkcode machinery}) is; user callbacks that run inside the machinery (a custom
 * rule's `fwd` and `bwd`) run through {@linkcode asOwnedByCaller}, which also hands the
 * tensors they are given over to the user for good.
 *
 * @module
 */

/** What the machinery frees: a concrete tensor (this module needs nothing else of one). */
export interface Disposable {
  /** Releases the storage now. */
  dispose(): void;
}

let made: Disposable[] | null = null;
let depth = 0;
// Tensors user code has been given: it may keep them, so the machinery never frees them.
const handedOver = new WeakSet<Disposable>();

/**
 * Notes a new concrete tensor (called by the `Tensor` constructor): recorded when the
 * machinery of a freeing transformation is running.
 *
 * @example
 * ```ts
 * import { noteTensor } from "./transient.ts";
 * import { tensor } from "@nabla/nabla";
 * noteTensor(tensor(1)); // outside any transformation: nothing is recorded
 * ```
 */
export function noteTensor(t: Disposable): void {
  if (depth > 0 && made !== null) made.push(t);
}

/**
 * Runs a piece of a transformation's machinery (a JVP rule, a transposition): the concrete
 * tensors it makes are transient.
 *
 * @example
 * ```ts
 * import { machinery } from "./transient.ts";
 * console.log(machinery(() => 1 + 1)); // 2
 * ```
 */
export function machinery<T>(body: () => T): T {
  depth++;
  try {
    return body();
  } finally {
    depth--;
  }
}

/**
 * Runs code that is not the machinery's own (a user's callback, the compiling of a program
 * whose constants outlive the call) inside the machinery: the tensors it makes are never
 * transient, so no transformation frees them. `handed` are the tensors the code is given (a
 * custom rule's arguments, residuals and cotangents): it may keep them, so from now on the
 * machinery never frees them either.
 *
 * @example
 * ```ts
 * import { asOwnedByCaller, freeingTransients, machinery } from "./transient.ts";
 * import { tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * let kept = tensor(0);
 * freeingTransients(() => machinery(() => asOwnedByCaller(() => (kept = tensor(1)))), () => []);
 * assert.equal(kept.item(), 1); // still alive
 * ```
 */
export function asOwnedByCaller<T>(body: () => T, handed: Iterable<unknown> = []): T {
  for (const t of handed) if (isDisposable(t)) handedOver.add(t);
  const [outerDepth, outerMade] = [depth, made];
  // Nothing made here is noted, not even the results of a freeing call nested inside.
  [depth, made] = [0, null];
  try {
    return body();
  } finally {
    [depth, made] = [outerDepth, outerMade];
  }
}

function isDisposable(x: unknown): x is Disposable {
  return typeof x === "object" && x !== null && typeof (x as Disposable).dispose === "function";
}

/**
 * Disposes a tensor the machinery made, unless user code was given it (see
 * {@linkcode asOwnedByCaller}): the one way the machinery frees anything.
 *
 * @example
 * ```ts
 * import { asOwnedByCaller, release } from "./transient.ts";
 * import { tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const [mine, theirs] = [tensor([1, 2]), tensor([3, 4])];
 * asOwnedByCaller(() => theirs.sum(), [theirs]);
 * release(mine);
 * release(theirs);
 * assert.throws(() => mine.dataSync(), /disposed/);
 * assert.deepEqual([...theirs.dataSync()], [3, 4]);
 * ```
 */
export function release(t: Disposable): void {
  if (!handedOver.has(t)) t.dispose();
}

/**
 * Disposes the transient tensors made so far (in the innermost {@linkcode freeingTransients})
 * that `keep` does not hold: a gradient calls it between the forward and the backward pass
 * with the linear program's constants, so that forward values no residual needs are freed
 * before the backward pass allocates. Does nothing outside a freeing call.
 *
 * @example
 * ```ts
 * import { freeingTransients, freeTransientsExcept, machinery } from "./transient.ts";
 * import { tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * freeingTransients(() => {
 *   const [a, b] = machinery(() => [tensor(1), tensor(2)]);
 *   freeTransientsExcept(new Set([b]));
 *   assert.throws(() => a.item(), /disposed/);
 *   assert.equal(b.item(), 2);
 * }, () => []);
 * ```
 */
export function freeTransientsExcept(keep: ReadonlySet<unknown>): void {
  if (made === null) return;
  const rest: Disposable[] = [];
  for (const t of made) {
    if (keep.has(t)) rest.push(t);
    else release(t);
  }
  made = rest;
}

/**
 * Runs `body` and then disposes every transient tensor it made except those in
 * `results(value)`. Nested inside another freeing call, the kept results become the outer
 * call's transients.
 *
 * @example
 * ```ts
 * import { freeingTransients, machinery } from "./transient.ts";
 * import { tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * let scratch = tensor(0);
 * const kept = freeingTransients(() => {
 *   scratch = machinery(() => tensor(1));
 *   return machinery(() => tensor(2));
 * }, (t) => [t]);
 * assert.equal(kept.item(), 2);
 * assert.throws(() => scratch.item(), /disposed/);
 * ```
 */
export function freeingTransients<T>(body: () => T, results: (value: T) => Iterable<unknown>): T {
  const outer = made;
  made = [];
  let list: Disposable[];
  let value: T;
  try {
    value = body();
  } finally {
    list = made;
    made = outer;
  }
  const keep = new Set(results(value));
  for (const t of list) {
    if (!keep.has(t)) release(t);
    else outer?.push(t);
  }
  return value;
}
