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
import { CotangentSum } from "./_cotangent.ts";
import {
  type AnyPrimitive,
  BlockCotangent,
  isMultiPrimitive,
  LinearArg,
  type MultiPrimitive,
  type Primitive,
} from "./primitive.ts";
import { Tensor } from "./tensor.ts";
import { currentLevel, Trace, Tracer, withTrace } from "./trace.ts";
import { machinery, release } from "./transient.ts";

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
  readonly prim: AnyPrimitive;
  /** Its static parameters. */
  readonly params: Params;
  /** Its arguments: `StagingTracer`s of the same program, or constants. */
  readonly inputs: readonly Tensor[];
  /** The values it defines (one, unless the primitive has several results). */
  readonly outs: readonly StagingTracer[];
}

/** The staging interpreter: records instead of running. */
export class StagingTrace extends Trace {
  /** The equations recorded so far, in order. */
  readonly equations: Equation[] = [];
  /** The transformation that stages (`"jit"`, or `"grad"` for a linearization), for messages. */
  readonly purpose: string;

  /** Creates a staging trace at a level, for a transformation named in messages. */
  constructor(level: number, purpose = "grad") {
    super(level);
    this.purpose = purpose;
  }

  override get name(): string {
    return this.purpose;
  }

  /** Constants (and tracers of enclosing transformations) are captured as they are. */
  lift(x: Tensor): Tensor {
    return x;
  }

  processPrimitive(prim: Primitive, args: Tensor[], params: Params): Tensor {
    const out = new StagingTracer(this, prim.abstractEval(args, params));
    this.equations.push({ prim, params, inputs: args, outs: [out] });
    return out;
  }

  processMultiPrimitive(prim: MultiPrimitive, args: Tensor[], params: Params): Tensor[] {
    const outs = prim.abstractEval(args, params).map((aval) => new StagingTracer(this, aval));
    this.equations.push({ prim, params, inputs: args, outs });
    return outs;
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
 * The concrete tensors a linear program holds: the residuals its equations read, and outputs
 * that are constants.
 *
 * @example
 * ```ts
 * import { linearize, programConstants } from "./ir.ts";
 * import { tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const [[y], program] = linearize(([x]) => [x.sin()], [tensor(1)]);
 * assert.equal(programConstants(program).length, 1); // cos(1), for the tangent
 * assert.ok(Math.abs(y.item() - Math.sin(1)) < 1e-6);
 * ```
 */
export function programConstants(program: LinearProgram): Tensor[] {
  const constants: Tensor[] = [];
  // Residuals can also sit in parameters (a custom rule's saved values), nested in arrays.
  const collect = (x: unknown): void => {
    if (x instanceof Tensor) {
      if (!(x instanceof Tracer)) constants.push(x);
    } else if (Array.isArray(x)) x.forEach(collect);
  };
  for (const { inputs, params } of program.equations) {
    inputs.forEach(collect);
    Object.values(params).forEach(collect);
  }
  program.outputs.forEach(collect);
  return constants;
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
  return machinery(() => transposeProgram(program, cotangents));
}

function transposeProgram(
  program: LinearProgram,
  cotangents: readonly (Tensor | null)[],
): (Tensor | null)[] {
  const cts = new Map<Tensor, CotangentSum>();
  const isVar = (x: Tensor | null): x is StagingTracer =>
    x instanceof StagingTracer && x.trace === program.inputs[0]?.trace;
  // Outside every transformation, a cotangent made here is freed once it has been passed on:
  // the backward pass then needs memory for the live cotangents only. (Inside one, a staged
  // program may have captured it as a constant.)
  const free = currentLevel() === 0;
  const accumulate = (v: Tensor, ct: Tensor | BlockCotangent) => {
    let sum = cts.get(v);
    if (sum === undefined) cts.set(v, sum = new CotangentSum(free));
    sum.add(ct);
  };
  program.outputs.forEach((o, i) => {
    const ct = cotangents[i];
    if (ct !== null && isVar(o)) accumulate(o, ct);
  });
  for (let e = program.equations.length - 1; e >= 0; e--) {
    const { prim, params, inputs, outs } = program.equations[e];
    const sums = outs.map((o) => cts.get(o));
    if (sums.every((sum) => sum === undefined)) continue;
    outs.forEach((o) => cts.delete(o));
    if (!prim.transpose) {
      throw new Error(
        `internal: primitive "${prim.name}" appeared in a linear program but is not linear`,
      );
    }
    const args = inputs.map((x) => (isVar(x) ? new LinearArg(x) : x));
    const totals = sums.map((sum) => sum?.total() ?? null);
    const argCts = isMultiPrimitive(prim)
      ? prim.transpose!(totals.map((t) => t?.[0] ?? null), args, params)
      : prim.transpose(totals[0]![0], args, params);
    inputs.forEach((x, i) => {
      const c = argCts[i];
      if (isVar(x) && c !== null && c !== undefined) accumulate(x, c);
    });
    if (!free) continue;
    for (const t of totals) {
      if (t === null || !t[1]) continue;
      const passedOn = argCts.some((c) =>
        c === t[0] || (c instanceof BlockCotangent && c.block === t[0])
      );
      if (!passedOn) release(t[0]);
    }
  }
  return program.inputs.map((v) => cts.get(v)?.total()[0] ?? null);
}
