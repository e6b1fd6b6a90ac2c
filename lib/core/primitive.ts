/**
 * The primitive: the unit every operation is built from. Each primitive is declared once,
 * with all of its rules side by side: how its output type follows from its inputs
 * (`abstractEval`), how tangents flow through it (`jvp`), how cotangents flow back when it is
 * linear (`transpose`), and how it acts on a batch (`vmap`). Its kernels live in the backends,
 * keyed by `name`.
 *
 * @module
 */

import type { Aval, Params } from "./backend.ts";
import type { Tensor } from "./tensor.ts";

/** Where a batched argument carries its batch: always axis 0 in rules, or `null` if unbatched. */
export type BatchDim = 0 | null;

/**
 * Stands for the linear (unknown) input of a primitive during transposition: only its type is
 * known, since transposition runs backwards from the output.
 */
export class LinearArg {
  /** The abstract value of the unknown input. */
  readonly aval: Aval;
  /** Wraps an abstract value. */
  constructor(aval: Aval) {
    this.aval = aval;
  }
}

/**
 * A cotangent that is zero outside one block of a larger shape: what `slice` sends back to
 * its input. Transposition sums such blocks lazily, so the cotangent of a tensor read slice by
 * slice (a sequence step by step, gates split from one matrix) is assembled once, not padded
 * to full size for every slice.
 */
export class BlockCotangent {
  /** The nonzero block. */
  readonly block: Tensor;
  /** Where the block starts in the full shape. */
  readonly begin: readonly number[];
  /** The full shape. */
  readonly shape: readonly number[];

  /** Places `block` at `begin` inside zeros of `shape`. */
  constructor(block: Tensor, begin: readonly number[], shape: readonly number[]) {
    this.block = block;
    this.begin = begin;
    this.shape = shape;
  }
}

/** A primitive operation and its rule table. */
export interface Primitive<P extends Params = Params> {
  /** The unique name, also the key of its kernels in every backend. */
  readonly name: string;
  /** The output's shape, dtype and device; inputs were validated by the caller. */
  abstractEval(args: readonly Aval[], params: P): Aval;
  /**
   * The output tangent, linear in `tangents` (`null` is a symbolic zero; at least one tangent
   * is non-null). `out` is the primal output, already computed.
   */
  jvp(primals: Tensor[], tangents: (Tensor | null)[], out: Tensor, params: P): Tensor | null;
  /**
   * For primitives linear in some arguments: the cotangent of each argument given the output
   * cotangent `ct` (`null` for non-linear arguments). Linear arguments arrive as `LinearArg`.
   */
  transpose?(
    ct: Tensor,
    args: (Tensor | LinearArg)[],
    params: P,
  ): (Tensor | BlockCotangent | null)[];
  /**
   * The primitive applied to a batch: arguments arrive with their batch at axis 0 (or none),
   * and the result says where its own batch is.
   */
  vmap(args: Tensor[], dims: BatchDim[], params: P, size: number): [Tensor, BatchDim];
  /**
   * Evaluation on concrete tensors for primitives that are not backend kernels; when absent,
   * the backend of the output's device runs the kernel named `name`.
   */
  impl?(args: Tensor[], params: P): Tensor;
}

/**
 * A primitive with several results: control flow (a loop's carries and stacked outputs, a
 * branch's values) and `checkpoint`. Such primitives hold staged sub-programs in their
 * parameters and are not backend kernels: `impl` evaluates them, and each rule works on whole
 * lists, since a loop's tangents or batches are those of all its values together.
 */
export interface MultiPrimitive<P extends Params = Params> {
  /** The unique name. */
  readonly name: string;
  /** Tells multi-result primitives apart from single-result ones. */
  readonly multipleResults: true;
  /** The outputs' shapes, dtypes and devices. */
  abstractEval(args: readonly Aval[], params: P): Aval[];
  /**
   * The outputs and their tangents (`null` for symbolic zeros; at least one input tangent is
   * non-null). The tangents must be linear in the input tangents, so that reverse mode can
   * transpose them.
   */
  jvp(primals: Tensor[], tangents: (Tensor | null)[], params: P): [Tensor[], (Tensor | null)[]];
  /**
   * For primitives linear in some arguments (those arriving as `LinearArg`): the cotangent of
   * each argument (`null` for non-linear ones or zeros) given the outputs' cotangents.
   */
  transpose?(
    cts: (Tensor | null)[],
    args: (Tensor | LinearArg)[],
    params: P,
  ): (Tensor | null)[];
  /** The primitive applied to a batch, as for single-result primitives. */
  vmap(args: Tensor[], dims: BatchDim[], params: P, size: number): [Tensor[], BatchDim[]];
  /** Evaluation on concrete tensors. */
  impl(args: Tensor[], params: P): Tensor[];
}

/** Either kind of primitive, as programs hold them. */
export type AnyPrimitive = Primitive | MultiPrimitive;

const registry = new Map<string, Primitive>();
const multiRegistry = new Map<string, MultiPrimitive>();

/**
 * Declares a multi-result primitive. Its name shares the namespace of single-result ones.
 *
 * @example
 * ```ts
 * import { defineMultiPrimitive } from "./primitive.ts";
 * import assert from "node:assert/strict";
 * assert.equal(typeof defineMultiPrimitive, "function");
 * ```
 */
export function defineMultiPrimitive<P extends Params>(def: MultiPrimitive<P>): MultiPrimitive<P> {
  if (registry.has(def.name) || multiRegistry.has(def.name)) {
    throw new Error(`primitive "${def.name}" is defined twice`);
  }
  multiRegistry.set(def.name, def as unknown as MultiPrimitive);
  return def;
}

/**
 * Whether `prim` has several results.
 *
 * @example
 * ```ts
 * import { getPrimitive, isMultiPrimitive } from "./primitive.ts";
 * import "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.equal(isMultiPrimitive(getPrimitive("exp")), false);
 * ```
 */
export function isMultiPrimitive(prim: AnyPrimitive): prim is MultiPrimitive {
  return "multipleResults" in prim && prim.multipleResults === true;
}

/**
 * Declares a primitive and registers it by name.
 *
 * @example
 * ```ts
 * import { getPrimitive } from "./primitive.ts";
 * import "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.equal(getPrimitive("exp").name, "exp");
 * ```
 */
export function definePrimitive<P extends Params>(def: Primitive<P>): Primitive<P> {
  if (registry.has(def.name) || multiRegistry.has(def.name)) {
    throw new Error(`primitive "${def.name}" is defined twice`);
  }
  registry.set(def.name, def as unknown as Primitive);
  return def;
}

/**
 * Looks a primitive up by name.
 *
 * @example
 * ```ts
 * import { getPrimitive } from "./primitive.ts";
 * import "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.equal(typeof getPrimitive("add").jvp, "function");
 * ```
 */
export function getPrimitive(name: string): Primitive {
  const prim = registry.get(name);
  if (!prim) throw new Error(`unknown primitive "${name}"`);
  return prim;
}

/**
 * The names of all registered primitives (backends use it to check their kernel coverage).
 *
 * @example
 * ```ts
 * import { primitiveNames } from "./primitive.ts";
 * import "@nabla/nabla";
 * import assert from "node:assert/strict";
 * assert.ok(primitiveNames().includes("matmul"));
 * ```
 */
export function primitiveNames(): string[] {
  return [...registry.keys()];
}
