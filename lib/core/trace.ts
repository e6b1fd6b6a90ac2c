/**
 * The interpreter stack. Every transformation in progress owns a `Trace` at its own level;
 * a primitive applied to tracers is handled by the highest-level trace among them, which
 * lifts the other arguments into its own. Levels keep nested transformations of closures from
 * confusing their perturbations, and catch tracers that escape their transformation.
 *
 * @module
 */

import { getBackend, type Params } from "./backend.ts";
import { allocating, checkSize } from "./shape.ts";
import type { MultiPrimitive, Primitive } from "./primitive.ts";
import { Tensor } from "./tensor.ts";
import { freeingTransients, machinery } from "./transient.ts";

/**
 * The functions of a `customVjp`, over flat lists of tensors. Residuals are tensors too, so
 * that transformations (vmap) can carry them like any other value.
 */
export interface CustomVjpFns {
  /** The primal function. */
  f(args: Tensor[]): Tensor[];
  /** Returns the outputs and the residuals kept for the backward pass. */
  fwd(args: Tensor[]): [Tensor[], Tensor[]];
  /** Maps residuals and output cotangents to one cotangent per argument. */
  bwd(residuals: Tensor[], cotangents: Tensor[]): (Tensor | null)[];
}

/**
 * A call of a staged program (what `jit` binds), over flat lists of tensors. A trace that has
 * no rule of its own for calls runs the program's equations through itself (`inline`).
 */
export interface CallFns {
  /** Runs the program equation by equation with `bind`, on any trace's values. */
  inline(args: Tensor[]): Tensor[];
  /** Runs the compiled program on concrete tensors. */
  execute(args: Tensor[]): Tensor[];
}

/** One transformation in progress. */
export abstract class Trace {
  /** The position on the stack; higher levels are nested inside lower ones. */
  readonly level: number;
  /** False once the transformation has finished. */
  active = true;

  /** Creates a trace at a level. */
  constructor(level: number) {
    this.level = level;
  }

  /** Brings a value from outside every transformation (or a lower level) into this trace. */
  abstract lift(x: Tensor): Tensor;
  /** The transformation's name in messages. */
  get name(): string {
    return "a transformation";
  }
  /** Applies a primitive to this trace's tracers. */
  abstract processPrimitive(prim: Primitive, args: Tensor[], params: Params): Tensor;
  /** Applies a multi-result primitive (control flow, checkpoint) to this trace's tracers. */
  abstract processMultiPrimitive(prim: MultiPrimitive, args: Tensor[], params: Params): Tensor[];
  /** Applies a function with a custom VJP; by default the rule is irrelevant here. */
  processCustomVjp(fns: CustomVjpFns, args: Tensor[]): Tensor[] {
    return fns.f(args);
  }
  /** Applies a staged program; by default its equations run through this trace one by one. */
  processCall(fns: CallFns, args: Tensor[]): Tensor[] {
    return fns.inline(args);
  }
}

/** A Tensor that stands for a value inside a transformation. */
export abstract class Tracer extends Tensor {
  /** The trace this tracer belongs to. */
  abstract readonly trace: Trace;
  override get isTracer(): boolean {
    return true;
  }
  override concrete(): Tensor | null {
    return null;
  }
  override get tracedBy(): string {
    return this.trace.name;
  }
}

const stack: Trace[] = [];

/**
 * Runs `body` with a new trace on top of the stack, made by `make` for the next level.
 *
 * @example
 * ```ts
 * import { currentLevel } from "./trace.ts";
 * import assert from "node:assert/strict";
 * assert.equal(currentLevel(), 0);
 * ```
 */
export function withTrace<T extends Trace, R>(
  make: (level: number) => T,
  body: (trace: T) => R,
): R {
  const trace = make(stack.length + 1);
  stack.push(trace);
  try {
    return body(trace);
  } finally {
    stack.pop();
    trace.active = false;
  }
}

/**
 * The level a new trace would get minus one: 0 outside every transformation.
 *
 * @example
 * ```ts
 * import { currentLevel } from "./trace.ts";
 * import assert from "node:assert/strict";
 * assert.equal(currentLevel(), 0);
 * ```
 */
export function currentLevel(): number {
  return stack.length;
}

function topTrace(args: readonly Tensor[]): Trace | null {
  let top: Trace | null = null;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a instanceof Tracer && (top === null || a.trace.level > top.level)) top = a.trace;
  }
  if (top !== null && !top.active) {
    throw new Error(
      `a tracer of a finished transformation was used (${
        args.find((a) => a instanceof Tracer && a.trace === top)?.describe()
      }): values computed inside grad/vjp/jvp/vmap must be returned, not kept`,
    );
  }
  return top;
}

function raise(trace: Trace, x: Tensor): Tensor {
  if (x instanceof Tracer) {
    if (x.trace === trace) return x;
    if (!x.trace.active) {
      throw new Error(`a tracer of a finished transformation was used (${x.describe()})`);
    }
  }
  return trace.lift(x);
}

function evalPrimitive(prim: Primitive, args: Tensor[], params: Params): Tensor {
  if (prim.impl) return prim.impl(args, params);
  const out = prim.abstractEval(args, params);
  checkSize(prim.name, out.shape, out.dtype);
  const buffers = args.map((a, i) => bufferOf(prim.name, a, i));
  const run = () => getBackend(out.device).run(prim.name, buffers, params, out);
  return new Tensor(out, allocating(prim.name, out.shape, out.dtype, out.device, run));
}

// An argument's buffer, or its error (disposed, a leaked tracer) prefixed with the primitive.
function bufferOf(name: string, arg: Tensor, i: number): unknown {
  try {
    return arg.buffer;
  } catch (e) {
    if (!(e instanceof Error)) throw e;
    const Class = e.constructor as ErrorConstructor;
    throw new Class(`${name}: argument ${i}: ${e.message}`, { cause: e });
  }
}

/**
 * Applies a primitive: the highest-level trace among the arguments interprets it, or, when
 * there are no tracers, the backend of the arguments' device runs its kernel.
 *
 * @example
 * ```ts
 * import { bind } from "./trace.ts";
 * import { getPrimitive } from "./primitive.ts";
 * import { tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const y = bind(getPrimitive("neg"), [tensor([1, 2])], {});
 * assert.deepEqual(await y.toArray(), [-1, -2]);
 * ```
 */
export function bind<P extends Params>(prim: Primitive<P>, args: Tensor[], params: P): Tensor {
  const top = topTrace(args);
  if (top === null) return evalPrimitive(prim as unknown as Primitive, args, params);
  const raised = args.map((a) => raise(top, a));
  return top.processPrimitive(prim as unknown as Primitive, raised, params);
}

/**
 * Applies a multi-result primitive: the highest-level trace among the arguments interprets it,
 * or, when there are no tracers, its `impl` evaluates it.
 *
 * @example
 * ```ts
 * import { bindMulti } from "./trace.ts";
 * import { defineMultiPrimitive } from "./primitive.ts";
 * import { tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const both = defineMultiPrimitive({
 *   name: "example.negAndDouble",
 *   multipleResults: true,
 *   abstractEval: ([x]) => [x, x],
 *   impl: ([x]) => [x.neg(), x.mul(2)],
 *   jvp: ([x], [t]) => [[x.neg(), x.mul(2)], [t!.neg(), t!.mul(2)]],
 *   vmap: ([x], [d]) => [[x.neg(), x.mul(2)], [d, d]],
 * });
 * const [a, b] = bindMulti(both, [tensor([1, 2])], {});
 * assert.deepEqual([await a.toArray(), await b.toArray()], [[-1, -2], [2, 4]]);
 * ```
 */
export function bindMulti<P extends Params>(
  prim: MultiPrimitive<P>,
  args: Tensor[],
  params: P,
): Tensor[] {
  const top = topTrace(args);
  const multi = prim as unknown as MultiPrimitive;
  if (top === null) return multi.impl(args, params);
  return top.processMultiPrimitive(multi, args.map((a) => raise(top, a)), params);
}

/**
 * Applies a function that has a custom VJP rule, letting the top trace decide how.
 *
 * @example
 * ```ts
 * import { customVjp, grad, type Tensor, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const f = customVjp(
 *   (x: Tensor) => x.mul(2),
 *   (x: Tensor) => [x.mul(2), null],
 *   (_r, ct: Tensor) => [ct.mul(3)],
 * );
 * assert.equal(grad(f)(tensor(1)).item(), 3); // from the custom rule
 * ```
 */
export function bindCustomVjp(fns: CustomVjpFns, args: Tensor[]): Tensor[] {
  const top = topTrace(args);
  if (top === null) return fns.f(args);
  return top.processCustomVjp(fns, args.map((a) => raise(top, a)));
}

/**
 * Applies a staged program: outside every transformation its compiled form runs; inside one,
 * the top trace decides how.
 *
 * @example
 * ```ts
 * import { bindCall } from "./trace.ts";
 * import { tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const double = { inline: ([x]: any[]) => [x.mul(2)], execute: ([x]: any[]) => [x.mul(2)] };
 * assert.equal(bindCall(double, [tensor(3)])[0].item(), 6);
 * ```
 */
export function bindCall(fns: CallFns, args: Tensor[]): Tensor[] {
  const top = topTrace(args);
  if (top === null) return fns.execute(args);
  return top.processCall(fns, args.map((a) => raise(top, a)));
}

/**
 * Runs `body` and, outside every transformation, disposes the tensors it made except those in
 * `results(value)`. Library loops (an LSTM's time steps, greedy decoding) wrap each step in it,
 * so that evaluation frees a step's temporaries as soon as the step is done; inside `grad` or
 * `vmap` it only runs `body`, since the transformation owns those values.
 *
 * @example
 * ```ts
 * import { scoped } from "./trace.ts";
 * import { tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * let inner = tensor(0);
 * const y = scoped(() => {
 *   inner = tensor([1, 2]).mul(2);
 *   return inner.sum();
 * }, (y) => [y]);
 * assert.equal(y.item(), 6);
 * assert.throws(() => inner.dataSync(), /disposed/);
 * ```
 */
export function scoped<T>(body: () => T, results: (value: T) => Iterable<unknown>): T {
  return currentLevel() > 0 ? body() : freeingTransients(() => machinery(body), results);
}
