/**
 * A compiled `scan`: the body is compiled once, and each iteration runs its executable on
 * backend buffers: a slice of each `xs` in, the new carry and a `y` per output out. A `ys`
 * output is made in place where the backend can (`Backend.empty`): each iteration's kernel
 * writes its `y` straight into its step of the stacked result. Else it is stacked once at the
 * end, unless every reader of it is a loop that takes it step by step (the reverse loop of a
 * gradient reading its residuals): then it is handed over as its {@linkcode Steps}, and the
 * reader's iterations take each step as it was made.
 *
 * @module
 */

import { type Aval, getBackend } from "../../core/backend.ts";
import type { ScanParams } from "../../core/primitives/scan.ts";
import type { ProgramEquation } from "../../core/program.ts";
import { allocate } from "../../core/dtype.ts";
import type { CompiledKernel } from "../executable.ts";
import { Steps } from "../_steps.ts";
import type { CompileBody, ReadStepwise } from "./_lowering.ts";

/**
 * Whether a `scan` equation reads input `input` step by step (it is one of its `xs`).
 *
 * @example
 * ```ts
 * import { readsStepwise } from "./scan.ts";
 * import { makeJaxpr, scan, tensor, type Tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const f = (c: Tensor, xs: Tensor) => scan((c: Tensor, x: Tensor) => [c.add(x), c], c, xs);
 * const [eq] = makeJaxpr(f)(tensor(0), tensor([1, 2])).equations;
 * assert.deepEqual([0, 1].map((i) => readsStepwise(eq, i)), [false, true]);
 * ```
 */
export function readsStepwise(eq: ProgramEquation, input: number): boolean {
  const { consts, carry } = eq.params as ScanParams;
  return input >= consts + carry;
}

/**
 * The kernel of a `scan` equation, with its body compiled by `compileBody`; outputs that
 * `readStepwise` accepts are handed over as their steps.
 */
export function lowerScan(
  eq: ProgramEquation,
  compileBody: CompileBody,
  readStepwise: ReadStepwise,
): CompiledKernel {
  const { body, consts, carry, length, reverse } = eq.params as ScanParams;
  const run = compileBody(body);
  const xAvals = eq.inputs.slice(consts + carry).map((v) => v.aval);
  const yVars = eq.outs.slice(carry);
  const stepwise = yVars.map(readStepwise);
  const dispose = (aval: Aval, b: unknown) => getBackend(aval.device).dispose(b);
  const noPlaces = new Array<undefined>(carry).fill(undefined);
  return (ins) => {
    const cs = ins.slice(0, consts);
    let state = ins.slice(consts, consts + carry);
    const xs = ins.slice(consts + carry);
    const ys: unknown[][] = yVars.map(() => []);
    // The stacked results that the iterations may write in place, and which steps they did.
    const stacks = yVars.map((v, j) =>
      stepwise[j] || length === 0 ? undefined : getBackend(v.aval.device).empty?.(v.aval)
    );
    const placed = yVars.map(() => 0);
    for (let n = 0; n < length; n++) {
      const t = reverse ? length - 1 - n : n;
      const x = xs.map((b, i) => b instanceof Steps ? b.at(t) : sliceAt(b, xAvals[i], t));
      const places = stacks.map((s, j) => s === undefined ? s : sliceAt(s, yVars[j].aval, t));
      const outs = run([...cs, ...state, ...x], [...noPlaces, ...places]);
      x.forEach((b, i) => xs[i] instanceof Steps || dispose(xAvals[i], b));
      // The first carry belongs to the caller; later ones were made here.
      if (n > 0) state.forEach((b, i) => dispose(eq.outs[i].aval, b));
      state = outs.slice(0, carry);
      outs.slice(carry).forEach((b, j) => {
        if (places[j] !== undefined && b === places[j]) placed[j]++;
        else if (places[j] !== undefined) dispose(yVars[j].aval, places[j]);
        ys[j].push(b);
      });
    }
    if (length === 0) state = state.map((b, i) => view(b, eq.outs[i].aval));
    return [
      ...state,
      ...ys.map((list, j) => {
        const inOrder = reverse ? list.reverse() : list;
        const aval = yVars[j].aval, stacked = stacks[j];
        if (stepwise[j]) return new Steps(inOrder, aval);
        if (stacked !== undefined && placed[j] === length) {
          for (const b of list) dispose(aval, b); // steps of the stack, which holds them
          return stacked;
        }
        // (Steps a kernel wrote in place are views of the stack, copied like the others.)
        const result = stack(inOrder, aval);
        if (stacked !== undefined) dispose(aval, stacked);
        return result;
      }),
    ];
  };
}

// Step `t` of a stacked buffer, without the leading axis.
function sliceAt(buffer: unknown, aval: Aval, t: number): unknown {
  const backend = getBackend(aval.device);
  const rest = aval.shape.slice(1);
  const one = { ...aval, shape: [1, ...rest] };
  const sliced = backend.run("slice", [buffer], {
    begin: [t, ...rest.map(() => 0)],
    size: [1, ...rest],
  }, one);
  const step = view(sliced, { ...aval, shape: rest });
  backend.dispose(sliced);
  return step;
}

function view(buffer: unknown, aval: Aval): unknown {
  return getBackend(aval.device).run("reshape", [buffer], { shape: aval.shape }, aval);
}

// Per-step buffers joined along a new leading axis (they are disposed).
function stack(list: unknown[], aval: Aval): unknown {
  const backend = getBackend(aval.device);
  if (list.length === 0) return backend.fromArray(allocate(aval.dtype, 0), aval.shape);
  const rows = list.map((b) => view(b, { ...aval, shape: [1, ...aval.shape.slice(1)] }));
  const out = backend.run("concat", rows, { axis: 0 }, aval);
  for (const b of [...rows, ...list]) backend.dispose(b);
  return out;
}
