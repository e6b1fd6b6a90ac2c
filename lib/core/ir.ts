/**
 * Staged programs. A `StagingTrace` records the primitives applied to its tracers as a list of
 * equations instead of running them. Reverse mode stages the tangent computation of a JVP
 * (which is linear in the input tangents) and runs it backwards through each primitive's
 * `transpose` rule: linearize, then transpose.
 *
 * @module
 */

import type { Aval, Params } from "./backend.ts";
import { JVPTrace, JVPTracer } from "./jvp.ts";
import * as lax from "./lax.ts";
import { LinearArg, type Primitive } from "./primitive.ts";
import type { Tensor } from "./tensor.ts";
import { Trace, Tracer, withTrace } from "./trace.ts";

/** A staged value: known only by its type until the program runs. */
export class StagingTracer extends Tracer {
  /** The trace this tracer belongs to. */
  readonly trace: StagingTrace;

  /** Declares a staged value of type `aval`. */
  constructor(trace: StagingTrace, aval: Aval) {
    super(aval);
    this.trace = trace;
  }
}

/** One recorded primitive application. Inputs are staged values or captured constants. */
export interface Equation {
  /** The primitive applied. */
  readonly prim: Primitive;
  /** Its static parameters. */
  readonly params: Params;
  /** Its arguments: `StagingTracer`s of the same program, or constants. */
  readonly inputs: readonly Tensor[];
  /** The value it defines. */
  readonly out: StagingTracer;
}

/** The staging interpreter: records instead of running. */
export class StagingTrace extends Trace {
  /** The equations recorded so far, in order. */
  readonly equations: Equation[] = [];

  /** Constants (and tracers of enclosing transformations) are captured as they are. */
  lift(x: Tensor): Tensor {
    return x;
  }

  processPrimitive(prim: Primitive, args: Tensor[], params: Params): Tensor {
    const out = new StagingTracer(this, prim.abstractEval(args, params));
    this.equations.push({ prim, params, inputs: args, out });
    return out;
  }

  /** A fresh input of the program. */
  input(aval: Aval): StagingTracer {
    return new StagingTracer(this, { shape: aval.shape, dtype: aval.dtype, device: aval.device });
  }
}

/** A staged linear map from `inputs` to `outputs` (`null` outputs are identically zero). */
export interface LinearProgram {
  /** The program's inputs. */
  readonly inputs: readonly StagingTracer[];
  /** The recorded equations. */
  readonly equations: readonly Equation[];
  /** The outputs: staged values, or `null`/constants where they do not depend on the inputs. */
  readonly outputs: readonly (Tensor | null)[];
}

/**
 * Evaluates `f` at `primals` and stages its linearization: the outputs, and the linear map
 * from input tangents to output tangents as a program.
 *
 * @example
 * ```ts
 * import { vjp, tensor } from "@nabla/nabla";
 * const [y, back] = vjp((x) => x.sin(), tensor(0));
 * console.log(y.item(), back(tensor(1))[0].item()); // 0 1
 * ```
 */
export function linearize(
  f: (xs: Tensor[]) => Tensor[],
  primals: Tensor[],
): [Tensor[], LinearProgram] {
  return withTrace((level) => new StagingTrace(level), (staging) => {
    const inputs = primals.map((p) => staging.input(p));
    const [outs, tangents] = withTrace((level) => new JVPTrace(level), (jvp) => {
      const results = f(primals.map((p, i) => new JVPTracer(jvp, p, inputs[i])));
      const own = (o: Tensor): o is JVPTracer => o instanceof JVPTracer && o.trace === jvp;
      return [
        results.map((o) => (own(o) ? o.primal : o)),
        results.map((o) => (own(o) ? o.tangent : null)),
      ];
    });
    return [outs, { inputs, equations: staging.equations, outputs: tangents }];
  });
}

/**
 * Runs a linear program backwards: given a cotangent per output (`null` for zero), returns
 * the cotangent of each input (`null` where it is zero).
 *
 * @example
 * ```ts
 * import { grad, tensor } from "@nabla/nabla";
 * console.log(grad((x) => x.mul(3).sum())(tensor([1, 2])).toString()); // tensor([3., 3.])
 * ```
 */
export function transposeLinear(
  program: LinearProgram,
  cotangents: readonly (Tensor | null)[],
): (Tensor | null)[] {
  const cts = new Map<Tensor, Tensor>();
  const isVar = (x: Tensor | null): x is StagingTracer =>
    x instanceof StagingTracer && x.trace === program.inputs[0]?.trace;
  const accumulate = (v: Tensor, ct: Tensor) => {
    const prev = cts.get(v);
    cts.set(v, prev === undefined ? ct : lax.add(prev, ct));
  };
  program.outputs.forEach((o, i) => {
    const ct = cotangents[i];
    if (ct !== null && isVar(o)) accumulate(o, ct);
  });
  for (let e = program.equations.length - 1; e >= 0; e--) {
    const { prim, params, inputs, out } = program.equations[e];
    const ct = cts.get(out);
    if (ct === undefined) continue;
    cts.delete(out);
    if (!prim.transpose) {
      throw new Error(
        `internal: primitive "${prim.name}" appeared in a linear program but is not linear`,
      );
    }
    const args = inputs.map((x) => (isVar(x) ? new LinearArg(x) : x));
    const argCts = prim.transpose(ct, args, params);
    inputs.forEach((x, i) => {
      const c = argCts[i];
      if (isVar(x) && c !== null && c !== undefined) accumulate(x, c);
    });
  }
  return program.inputs.map((v) => cts.get(v) ?? null);
}
