/**
 * Forward-mode differentiation as an interpreter: each tracer carries a primal and a tangent
 * (`null` is a symbolic zero, so constants cost nothing). Every primitive's `jvp` rule is
 * written in primitives, so tangents can themselves be traced: staged for reverse mode, or
 * differentiated again for higher orders.
 *
 * @module
 */

import { isFloat } from "./dtype.ts";
import * as lax from "./lax.ts";
import { definePrimitive, type MultiPrimitive, type Primitive } from "./primitive.ts";
import type { Aval, Params } from "./backend.ts";
import type { Tensor } from "./tensor.ts";
import {
  bind,
  bindCustomVjp,
  bindMulti,
  type CustomVjpFns,
  Trace,
  Tracer,
  withTrace,
} from "./trace.ts";
import { machinery } from "./transient.ts";

/** A value inside `jvp`: its primal and its tangent (`null` for zero). */
export class JVPTracer extends Tracer {
  /** The trace this tracer belongs to. */
  readonly trace: JVPTrace;
  /** The value. */
  readonly primal: Tensor;
  /** The derivative along the input tangents, or `null` for zero. */
  readonly tangent: Tensor | null;

  /** Pairs a primal with its tangent. */
  constructor(trace: JVPTrace, primal: Tensor, tangent: Tensor | null) {
    super(primal);
    this.trace = trace;
    this.primal = primal;
    this.tangent = tangent;
  }

  /** The primal's value: differentiation does not hide values, so JS control flow works. */
  override concrete(): Tensor | null {
    return this.trace.active ? this.primal.concrete() : null;
  }
}

/** The forward-mode interpreter. */
export class JVPTrace extends Trace {
  override get name(): string {
    return "grad/jvp";
  }

  lift(x: Tensor): Tensor {
    return new JVPTracer(this, x, null);
  }

  processPrimitive(prim: Primitive, args: Tensor[], params: Params): Tensor {
    return machinery(() => this.#jvp(prim, args, params));
  }

  #jvp(prim: Primitive, args: Tensor[], params: Params): Tensor {
    const primals = args.map((a) => (a as JVPTracer).primal);
    const tangents = args.map((a) => (a as JVPTracer).tangent);
    const out = bind(prim, primals, params);
    // Without an incoming tangent (or for integer results) the output is a constant here,
    // so it leaves this trace unwrapped.
    if (!isFloat(out.dtype) || tangents.every((t) => t === null)) return out;
    const tangent = prim.jvp(primals, tangents, out, params);
    return tangent === null ? out : new JVPTracer(this, out, tangent);
  }

  processMultiPrimitive(prim: MultiPrimitive, args: Tensor[], params: Params): Tensor[] {
    return machinery(() => {
      const primals = args.map((a) => (a as JVPTracer).primal);
      const tangents = args.map((a) => (a as JVPTracer).tangent);
      if (tangents.every((t) => t === null)) return bindMulti(prim, primals, params);
      const [outs, outTangents] = prim.jvp(primals, tangents, params);
      return outs.map((out, i) => {
        const t = outTangents[i];
        return t === null || !isFloat(out.dtype) ? out : new JVPTracer(this, out, t);
      });
    });
  }

  override processCustomVjp(fns: CustomVjpFns, args: Tensor[]): Tensor[] {
    return machinery(() => this.#customJvp(fns, args));
  }

  #customJvp(fns: CustomVjpFns, args: Tensor[]): Tensor[] {
    const primals = args.map((a) => (a as JVPTracer).primal);
    const tangents = args.map((a) => (a as JVPTracer).tangent);
    if (tangents.every((t) => t === null)) return bindCustomVjp(fns, primals);
    const [outs, residuals] = fns.fwd(primals);
    const linear = tangents.flatMap((t, i) => (t === null ? [] : [i]));
    const linearTangents = linear.map((i) => tangents[i]!);
    return outs.map((out, index) => {
      const params: CustomLinParams = { fns, residuals, index, linear, args: primals, outs };
      const tangent = bind(customLin, linearTangents, params);
      return new JVPTracer(this, out, tangent);
    });
  }
}

/**
 * Runs `f` on tracers carrying `tangents`, returning primal outputs and output tangents
 * (`null` where an output does not depend on the inputs).
 *
 * @example
 * ```ts
 * import { jvp, tensor } from "@nabla/nabla";
 * const [y, dy] = jvp((x) => x.mul(x), [tensor(3)], [tensor(1)]);
 * console.log(y.item(), dy.item()); // 9 6
 * ```
 */
export function jvpFlat(
  f: (xs: Tensor[]) => Tensor[],
  primals: Tensor[],
  tangents: (Tensor | null)[],
): [Tensor[], (Tensor | null)[]] {
  return withTrace((level) => new JVPTrace(level), (trace) => {
    const ins = primals.map((p, i) => new JVPTracer(trace, p, tangents[i]));
    const outs = f(ins);
    const pairs = outs.map((o) =>
      o instanceof JVPTracer && o.trace === trace
        ? [o.primal, o.tangent] as const
        : [o, null] as const
    );
    return [pairs.map((p) => p[0]), pairs.map((p) => p[1])];
  });
}

interface CustomLinParams extends Params {
  fns: CustomVjpFns;
  residuals: Tensor[];
  index: number;
  linear: number[];
  args: Tensor[];
  outs: Tensor[];
}

function forwardModeError(): never {
  throw new TypeError(
    "customVjp: a function with a custom VJP cannot be differentiated in forward mode (jvp, jacfwd); use grad, vjp or jacrev",
  );
}

// The tangent map of a custom-VJP function: linear in the tangents of the arguments listed in
// `linear`, and known only through its transpose, the user's `bwd`.
const customLin: Primitive<CustomLinParams> = definePrimitive<CustomLinParams>({
  name: "customLin",
  abstractEval: (_args, { outs, index }): Aval => outs[index],
  // Its tangents are only ever concrete (jvp), batched (jacfwd) or themselves differentiated
  // in forward mode: all of them forward mode of the custom function, which has no rule.
  jvp: forwardModeError,
  impl: forwardModeError,
  transpose: (ct, _args, { fns, residuals, index, linear, args, outs }) => {
    const cts = outs.map((o, i) => (i === index ? ct : lax.zerosLike(o)));
    const argCts = fns.bwd(residuals, cts);
    if (argCts.length !== args.length) {
      throw new TypeError(
        `customVjp: bwd returned ${argCts.length} cotangents for ${args.length} arguments`,
      );
    }
    return linear.map((i) => argCts[i]);
  },
  vmap: forwardModeError,
});
