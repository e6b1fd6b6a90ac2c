/**
 * Programs: a function staged once into a flat list of primitive equations over typed values
 * (JAX's jaxpr). `jit` stages the functions it compiles into programs; optimisation passes
 * rewrite them; `toString()` prints them for people to read.
 *
 * A program is closed: the concrete tensors (and values of enclosing transformations) that the
 * staged function captured become its constants, bound to constant variables, so that running
 * it needs nothing but its inputs.
 *
 * @module
 */

import type { Aval, Params } from "./backend.ts";
import { StagingTrace, StagingTracer } from "./ir.ts";
import { type AnyPrimitive, isMultiPrimitive } from "./primitive.ts";
import { fmt } from "./shape.ts";
import { Tensor } from "./tensor.ts";
import { bind, bindMulti, withTrace } from "./trace.ts";
import { asOwnedByCaller } from "./transient.ts";

/** A value of a program: an input, a constant or an equation's output. */
export class Var {
  /** Its type. */
  readonly aval: Aval;
  /** Creates a variable of type `aval`. */
  constructor(aval: Aval) {
    this.aval = { shape: aval.shape, dtype: aval.dtype, device: aval.device };
  }
}

/** One primitive application of a program. */
export interface ProgramEquation {
  /** The primitive applied. */
  readonly prim: AnyPrimitive;
  /** Its static parameters. */
  readonly params: Params;
  /** Its arguments. */
  readonly inputs: readonly Var[];
  /** The values it defines (one, unless the primitive has several results). */
  readonly outs: readonly Var[];
}

/** The parts of a {@linkcode Program}. */
export interface ProgramParts {
  /** Variables standing for the constants. */
  readonly constVars: readonly Var[];
  /** The constants' values, one per constant variable. */
  readonly consts: readonly Tensor[];
  /** The inputs. */
  readonly inputs: readonly Var[];
  /** The equations, in an order where each input is defined before use. */
  readonly equations: readonly ProgramEquation[];
  /** The outputs: any variable of the program. */
  readonly outputs: readonly Var[];
}

/**
 * A closed staged program.
 *
 * @example
 * ```ts
 * import { makeJaxpr, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const program = makeJaxpr((x) => x.mul(2).exp())(tensor([1, 2]));
 * assert.equal(program.equations.length, 2);
 * assert.match(program.toString(), /d:float32\[2\] = exp c/);
 * ```
 */
export class Program implements ProgramParts {
  /** Variables standing for the constants. */
  readonly constVars: readonly Var[];
  /** The constants' values, one per constant variable. */
  readonly consts: readonly Tensor[];
  /** The inputs. */
  readonly inputs: readonly Var[];
  /** The equations, in an order where each input is defined before use. */
  readonly equations: readonly ProgramEquation[];
  /** The outputs: any variable of the program. */
  readonly outputs: readonly Var[];

  /** Assembles a program from its parts. */
  constructor(parts: ProgramParts) {
    this.constVars = parts.constVars;
    this.consts = parts.consts;
    this.inputs = parts.inputs;
    this.equations = parts.equations;
    this.outputs = parts.outputs;
  }

  /** A copy with some parts replaced (passes build their results with it). */
  with(parts: Partial<ProgramParts>): Program {
    return new Program({ ...this, ...parts });
  }

  /**
   * The program as text, one equation a line, with each value's dtype and shape:
   * `{ lambda a:float32[3] ; b:float32[3] . let c:float32[3] = mul a b in (c) }` spread over
   * lines. Constants come before the `;`, inputs after it.
   */
  toString(): string {
    return this.#format(new Map(), "");
  }

  // Sub-programs (a loop's body) are printed in place, indented, with names continuing the
  // outer program's, as JAX prints them.
  #format(names: Map<Var, string>, indent: string): string {
    const name = (v: Var) => {
      let n = names.get(v);
      if (n === undefined) names.set(v, n = varName(names.size));
      return n;
    };
    const typed = (v: Var) => `${name(v)}:${v.aval.dtype}${fmt(v.aval.shape)}`;
    const consts = this.constVars.map(typed).join(" ");
    const inputs = this.inputs.map(typed).join(" ");
    const lines = [`{ lambda ${consts}${consts ? " " : ""}; ${inputs} . let`];
    for (const { prim, params, inputs, outs } of this.equations) {
      const args = inputs.map(name).join(" ");
      const shown = formatParams(params, (p) => p.#format(names, `${indent}      `));
      lines.push(`${indent}    ${outs.map(typed).join(" ")} = ${prim.name}${shown} ${args}`);
    }
    lines.push(`${indent}  in (${this.outputs.map(name).join(", ")}) }`);
    return lines.join("\n");
  }
}

// a, b, ..., z, ba, bb, ...: short names in order of first appearance, as JAX prints.
function varName(i: number): string {
  let s = "";
  do {
    s = String.fromCharCode(97 + (i % 26)) + s;
    i = Math.floor(i / 26);
  } while (i > 0);
  return s;
}

function formatParams(params: Params, program: (p: Program) => string): string {
  const entries = Object.entries(params);
  if (entries.length === 0) return "";
  const show = (v: unknown): string =>
    v instanceof Tensor
      ? v.describe()
      : v instanceof Program
      ? program(v)
      : Array.isArray(v)
      ? `[${v.map(show).join(",")}]`
      : typeof v === "object" && v !== null
      ? "{...}"
      : String(v);
  return `[${entries.map(([k, v]) => `${k}=${show(v)}`).join(" ")}]`;
}

/**
 * Stages `f` on abstract inputs of types `avals` into a closed program. `purpose` names the
 * transformation in messages (reading a staged value inside `scan`'s body, say).
 *
 * @example
 * ```ts
 * import { stageProgram } from "./program.ts";
 * import "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const aval = { shape: [2], dtype: "float32", device: "cpu" } as const;
 * const program = stageProgram(([x, y]) => [x.add(y).sin()], [aval, aval]);
 * assert.deepEqual(program.equations.map((e) => e.prim.name), ["add", "sin"]);
 * ```
 */
export function stageProgram(
  f: (xs: Tensor[]) => Tensor[],
  avals: readonly Aval[],
  purpose = "jit",
): Program {
  return withTrace((level) => new StagingTrace(level, purpose), (staging) => {
    const inputs = avals.map((a) => staging.input(a));
    // Constants made while staging belong to the program, whatever transformation is running.
    const outs = asOwnedByCaller(() => f(inputs));
    const vars = new Map<Tensor, Var>();
    const constVars: Var[] = [];
    const consts: Tensor[] = [];
    const own = (x: Tensor): x is StagingTracer =>
      x instanceof StagingTracer && x.trace === staging;
    const varOf = (x: Tensor): Var => {
      let v = vars.get(x);
      if (v !== undefined) return v;
      if (own(x)) throw new Error(`internal: a staged value was used before it was defined`);
      vars.set(x, v = new Var(x));
      constVars.push(v);
      consts.push(x);
      return v;
    };
    const inputVars = inputs.map((x) => {
      const v = new Var(x);
      vars.set(x, v);
      return v;
    });
    const equations = staging.equations.map(({ prim, params, inputs, outs }) => {
      const eq = { prim, params, inputs: inputs.map(varOf), outs: outs.map((o) => new Var(o)) };
      outs.forEach((o, i) => vars.set(o, eq.outs[i]));
      return eq;
    });
    return new Program({
      constVars,
      consts,
      inputs: inputVars,
      equations,
      outputs: outs.map(varOf),
    });
  });
}

/**
 * Runs a program by applying its equations one by one with `bind`, so that whatever trace the
 * arguments belong to interprets them (how a program runs inside another transformation).
 * `consts` stand in for the program's constants (the same values, possibly lifted into a
 * trace).
 *
 * @example
 * ```ts
 * import { evalProgram, stageProgram } from "./program.ts";
 * import { tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const aval = { shape: [], dtype: "float32", device: "cpu" } as const;
 * const program = stageProgram(([x]) => [x.mul(x)], [aval]);
 * assert.equal(evalProgram(program, [tensor(3, { device: "cpu" })])[0].item(), 9);
 * ```
 */
export function evalProgram(
  program: Program,
  args: readonly Tensor[],
  consts: readonly Tensor[] = program.consts,
): Tensor[] {
  const env = new Map<Var, Tensor>();
  program.constVars.forEach((v, i) => env.set(v, consts[i]));
  program.inputs.forEach((v, i) => env.set(v, args[i]));
  for (const { prim, params, inputs, outs } of program.equations) {
    const args = inputs.map((v) => env.get(v)!);
    if (isMultiPrimitive(prim)) {
      bindMulti(prim, args, params).forEach((t, i) => env.set(outs[i], t));
    } else env.set(outs[0], bind(prim, args, params));
  }
  return program.outputs.map((v) => env.get(v)!);
}
