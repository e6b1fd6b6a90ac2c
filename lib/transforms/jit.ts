/**
 * `jit`: stage a function once per input signature into a program, optimise and compile it,
 * and run the compiled form on later calls. `makeJaxpr` shows the staged program.
 *
 * Staging runs the function once on abstract values, so its side effects (a `console.log`, a
 * counter) happen once per signature, not once per call; and its concrete values are read
 * then: a tensor it captures from outside is a constant of the compiled program. Values only
 * known when the program runs cannot steer JavaScript: `x.item()`, `await x.data()` or
 * `if (x.greater(0))` on a traced value is a TypeError; `nb.where` chooses by value instead.
 *
 * @module
 */

import type { Aval } from "../core/backend.ts";
import { evalProgram, type Program, stageProgram } from "../core/program.ts";
import { Tensor } from "../core/tensor.ts";
import { bindCall } from "../core/trace.ts";
import { asOwnedByCaller } from "../core/transient.ts";
import type { KernelInfo } from "../jit/executable.ts";
import { compile, type Compiled } from "../jit/compile.ts";
import { flatten, type TreeDef, unflatten } from "../tree.ts";
import type { Fn } from "./grad.ts";

/** Options of `jit` and `makeJaxpr`. */
export interface JitOptions {
  /**
   * Arguments that are not traced: their values are part of the signature (a new value
   * compiles anew). Numbers and other non-tensor leaves of any argument are static too.
   */
  staticArgnums?: number | readonly number[];
  /**
   * Arguments whose tensors the call may take: their memory can hold the results, and reading
   * them after the call is a TypeError.
   */
  donateArgnums?: number | readonly number[];
}

/** A compiled form of a jitted function for one signature, for inspection. */
export interface Lowered {
  /** The optimised program. */
  readonly program: Program;
  /** The kernels a call launches, in order, each with the primitives it computes. */
  readonly kernels: readonly KernelInfo[];
  /** The program, then one line per kernel. */
  toString(): string;
}

/** A jitted function: `f`, compiled per signature, with `lower` to inspect a compiled form. */
export type Jitted<F extends Fn> = F & {
  /** The optimised program and kernels for the signature of `args` (compiling if needed). */
  lower(...args: Parameters<F>): Lowered;
};

// One staged signature: the program, how to rebuild the output, and its compiled form.
interface Staged {
  readonly program: Program;
  readonly outDef: TreeDef;
  // The output's leaves, with `null` where a program output goes.
  readonly outLeaves: readonly unknown[];
  compiled?: Compiled;
}

/**
 * Compiles `f`: each new input signature (pytree structure, shapes, dtypes, devices, static
 * values) stages `f` once into a program, which is optimised and compiled; later calls with
 * that signature run the compiled program. The results equal `f`'s.
 *
 * Inside other transformations (`grad(jit(f))`, `vmap(jit(f))`) the program's equations run
 * through them one by one; `jit(grad(f))` compiles the whole gradient, which is the fast
 * order for a training step.
 *
 * @example
 * ```ts
 * import { jit, tensor, type Tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const f = jit((x: Tensor, y: Tensor) => x.mul(y).add(1).exp().sum());
 * const x = tensor([1, 2]), y = tensor([0.5, -0.5]);
 * const [value] = await f(x, y).data();
 * assert.ok(Math.abs(value - (Math.exp(1.5) + Math.exp(0))) < 1e-5);
 * // The chain and its sum are one fused kernel on wasm (each op its own on the cpu reference).
 * const kernels = f.lower(x, y).kernels.map((k) => k.ops.join("+"));
 * assert.equal(kernels.join(", "), x.device === "wasm" ? "mul+add+exp+reduceSum" : "mul, add, exp, reduceSum");
 * ```
 */
export function jit<F extends Fn>(f: F, opts: JitOptions = {}): Jitted<F> {
  checkFunction("jit", f);
  const label = `jit(${f.name || "anonymous"})`;
  const cache = new Map<string, Staged>();
  const statics = argnumSet(label, "staticArgnums", opts.staticArgnums);
  const donates = argnumSet(label, "donateArgnums", opts.donateArgnums);
  for (const i of donates) {
    if (statics.has(i)) {
      throw new TypeError(`${label}: argument ${i} cannot be both static and donated`);
    }
  }
  const lookup = (args: unknown[]): [Signature, Staged] => {
    const sig = signature(label, args, statics);
    let staged = cache.get(sig.key);
    if (staged === undefined) {
      staged = stage(f, sig);
      // A program that captured values of an enclosing transformation is valid for this call
      // only.
      if (!staged.program.consts.some((c) => c.isTracer)) cache.set(sig.key, staged);
    }
    return [sig, staged];
  };
  const compiled = (staged: Staged, sig: Signature): Compiled =>
    staged.compiled ??= compile(staged.program, donatedLeaves(sig, donates));
  const call = (...args: unknown[]): unknown => {
    const [sig, staged] = lookup(args);
    const { program } = staged;
    const nConsts = program.consts.length;
    const outs = bindCall({
      inline: (all) => evalProgram(program, all.slice(nConsts), all.slice(0, nConsts)),
      execute: (all) => {
        const { program: optimised, executable } = compiled(staged, sig);
        return executable.run([...optimised.consts, ...all.slice(nConsts)], label);
      },
    }, [...program.consts, ...sig.leaves]);
    let pos = 0;
    return unflatten(staged.outDef, staged.outLeaves.map((l) => (l === null ? outs[pos++] : l)));
  };
  const lower = (...args: unknown[]): Lowered => {
    const [sig, staged] = lookup(args);
    const { program, executable } = compiled(staged, sig);
    return {
      program,
      kernels: executable.kernels,
      toString: () =>
        [
          program.toString(),
          `${executable.kernels.length} kernels:`,
          ...executable.kernels.map((k, i) => `  ${i}: ${k.ops.join(" + ")} (${k.device})`),
        ].join("\n"),
    };
  };
  return Object.assign(call, { lower }) as unknown as Jitted<F>;
}

/**
 * Stages `f` on the arguments' signature and returns the program, as `jit` would compile it
 * before optimisation. Its `toString()` lists the equations with their dtypes and shapes.
 *
 * @example
 * ```ts
 * import { makeJaxpr, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const program = makeJaxpr((x) => x.sin().sum())(tensor([1, 2, 3]));
 * assert.equal(
 *   program.toString(),
 *   "{ lambda ; a:float32[3] . let\n    b:float32[3] = sin a\n    c:float32[] = reduceSum[axes=[0]] b\n  in (c) }",
 * );
 * ```
 */
export function makeJaxpr<F extends Fn>(
  f: F,
  opts: Pick<JitOptions, "staticArgnums"> = {},
): (...args: Parameters<F>) => Program {
  checkFunction("makeJaxpr", f);
  const label = `makeJaxpr(${f.name || "anonymous"})`;
  const statics = argnumSet(label, "staticArgnums", opts.staticArgnums);
  return (...args) => stage(f, signature(label, args, statics)).program;
}

function checkFunction(op: string, f: unknown): void {
  if (typeof f !== "function") {
    throw new TypeError(`${op}: f must be a function, got ${f === null ? "null" : typeof f}`);
  }
}

// ---- Signatures --------------------------------------------------------------------------

interface Signature {
  // Everything the program depends on besides the tensors' values.
  readonly key: string;
  // The traced leaves, in order, and their types.
  readonly leaves: Tensor[];
  readonly avals: Aval[];
  // Which argument each traced leaf came from.
  readonly argOf: number[];
  // The arguments with the traced leaves replaced.
  rebuild(leaves: readonly Tensor[]): unknown[];
}

function signature(label: string, args: unknown[], statics: ReadonlySet<number>): Signature {
  for (const i of statics) {
    if (i >= args.length) {
      throw new RangeError(
        `${label}: staticArgnums ${i} is out of range for ${args.length} arguments`,
      );
    }
  }
  const parts: string[] = [];
  const leaves: Tensor[] = [];
  const argOf: number[] = [];
  const flat = args.map((arg, i) => {
    if (statics.has(i)) {
      parts.push(`static ${staticKey(arg)}`);
      return null;
    }
    const [ls, def] = flatten(arg);
    parts.push(JSON.stringify(def));
    for (const leaf of ls) {
      if (leaf instanceof Tensor) {
        parts.push(`${leaf.dtype}[${leaf.shape}]@${leaf.device}`);
        leaves.push(leaf);
        argOf.push(i);
      } else {
        parts.push(`value ${staticKey(leaf)}`);
      }
    }
    return [ls, def] as const;
  });
  return {
    key: parts.join("|"),
    leaves,
    avals: leaves.map((t) => ({ shape: t.shape, dtype: t.dtype, device: t.device })),
    argOf,
    rebuild(traced) {
      let pos = 0;
      return args.map((arg, i) => {
        const part = flat[i];
        if (part === null) return arg;
        const [ls, def] = part;
        return unflatten(def, ls.map((l) => (l instanceof Tensor ? traced[pos++] : l)));
      });
    },
  };
}

const identities = new WeakMap<object, number>();
let nextIdentity = 0;

// Plain data by value; functions, tensors and other objects by identity.
function staticKey(v: unknown): string {
  if (v === null || typeof v !== "object" && typeof v !== "function") {
    return typeof v === "string" ? JSON.stringify(v) : `${typeof v}:${String(v)}`;
  }
  if (Array.isArray(v)) return `[${v.map(staticKey).join(",")}]`;
  if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    const entries = Object.entries(v as Record<string, unknown>);
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${staticKey(x)}`).join(",")}}`;
  }
  let id = identities.get(v);
  if (id === undefined) identities.set(v, id = ++nextIdentity);
  return `#${id}`;
}

function argnumSet(
  label: string,
  name: string,
  nums: number | readonly number[] | undefined,
): Set<number> {
  const list = nums === undefined ? [] : typeof nums === "number" ? [nums] : nums;
  if (!Array.isArray(list) && typeof nums !== "number") {
    throw new TypeError(`${label}: ${name} must be a number or an array of numbers`);
  }
  for (const n of list) {
    if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(`${label}: ${name} must hold non-negative integers, got ${n}`);
    }
  }
  return new Set(list);
}

// The traced leaves of donated arguments, except tensors also passed elsewhere.
function donatedLeaves(sig: Signature, donates: ReadonlySet<number>): number[] {
  const counts = new Map<Tensor, number>();
  for (const t of sig.leaves) counts.set(t, (counts.get(t) ?? 0) + 1);
  return sig.leaves.flatMap((t, i) => donates.has(sig.argOf[i]) && counts.get(t) === 1 ? [i] : []);
}

// ---- Staging -----------------------------------------------------------------------------

function stage(f: Fn, sig: Signature): Staged {
  let outDef: TreeDef | null = null;
  let outLeaves: unknown[] = [];
  // The constants staging captures belong to the program, whatever is running around it.
  const program = asOwnedByCaller(() =>
    stageProgram((xs) => {
      const [ls, def] = flatten(f(...sig.rebuild(xs)));
      outDef = def;
      outLeaves = ls.map((l) => (l instanceof Tensor ? null : l));
      return ls.filter((l): l is Tensor => l instanceof Tensor);
    }, sig.avals)
  );
  return { program, outDef: outDef!, outLeaves };
}
