/**
 * What the fidelity harnesses share: running a NumPy reference script, and comparing nabla's
 * state after a training step with the reference's, leaf by leaf.
 *
 * A harness writes the starting weights and the batches with `io.save` (safetensors), the
 * reference reads them with a few lines of NumPy, takes the same steps and writes one
 * safetensors file per step; the harness takes its own steps and compares after each one.
 *
 * @module
 */

import { type Tensor, tree } from "../mod.ts";

/** A leaf's values, read back from the device. */
export interface Leaf {
  /** Its shape. */
  shape: readonly number[];
  /** Its elements, row-major. */
  data: ArrayLike<number>;
}

/** The state of one step: flat leaf name (`loss`, `grads.<path>`, `params.<path>`) → values. */
export type StepState = Record<string, Leaf>;

/** How far one leaf of nabla's state is from the reference's. */
export interface LeafError {
  /** The leaf's name. */
  leaf: string;
  /** `max |nabla − reference|` over the leaf, relative to the largest magnitude of its group. */
  error: number;
  /** The flat index of the largest difference. */
  index: number;
  /** nabla's value there. */
  actual: number;
  /** The reference's value there. */
  expected: number;
}

/** The comparison of one step. */
export interface StepComparison {
  /** The step, counted from 1. */
  step: number;
  /** nabla's loss. */
  loss: number;
  /** The reference's loss. */
  referenceLoss: number;
  /** Every compared leaf, in the order of the reference's file. */
  leaves: LeafError[];
  /** The largest error of the step. */
  worst: LeafError;
}

/** The message when the reference cannot run: the harness fails, it never skips. */
export const NEEDS_NUMPY = "the fidelity harness needs python3 with NumPy";

/**
 * Runs `python3 script ...args` (`$NABLA_PYTHON` instead of `python3` when set) and returns
 * its standard output; throws with its stderr when it fails.
 */
export async function runPython(script: URL, args: string[]): Promise<string> {
  const python = Deno.env.get("NABLA_PYTHON") ?? "python3";
  let result: Deno.CommandOutput;
  try {
    result = await new Deno.Command(python, {
      args: [script.pathname, ...args],
    }).output();
  } catch (e) {
    const why = e instanceof Deno.errors.NotCapable
      ? `run with --allow-run=${python}`
      : `cannot start ${python}: ${(e as Error).message}`;
    throw new Error(`${NEEDS_NUMPY} (${why})`);
  }
  const stderr = new TextDecoder().decode(result.stderr);
  if (stderr.includes("No module named 'numpy'")) {
    throw new Error(`${NEEDS_NUMPY} (${python} has no NumPy)`);
  }
  if (result.code !== 0) {
    const name = script.pathname.split("/").at(-1);
    throw new Error(`${name} failed (exit ${result.code}):\n${stderr}`);
  }
  return new TextDecoder().decode(result.stdout);
}

/** Reads a pytree (such as `{ loss, grads, params }`) back as flat leaves named by their paths. */
export async function readState(
  state: Record<string, unknown>,
): Promise<StepState> {
  const [leaves] = tree.flatten<Tensor>(state);
  const names = tree.paths(state);
  const out: StepState = {};
  for (let i = 0; i < leaves.length; i++) {
    out[names[i]] = { shape: leaves[i].shape, data: await leaves[i].data() };
  }
  return out;
}

/** Step `step` (from 0) of a trajectory whose leaves are stacked along a leading step axis. */
export function stepOf(trajectory: StepState, step: number): StepState {
  const out: StepState = {};
  for (const [name, { shape, data }] of Object.entries(trajectory)) {
    const size = shape.slice(1).reduce((a, b) => a * b, 1);
    const start = step * size;
    out[name] = {
      shape: shape.slice(1),
      data: Array.prototype.slice.call(data, start, start + size),
    };
  }
  return out;
}

/**
 * Compares nabla's state with the reference's on every leaf the reference wrote. A leaf's
 * error is its largest difference relative to the largest magnitude in its group (`loss`,
 * `grads`, `params`) at that step: a gradient that happens to be near zero is measured on the
 * scale of the whole gradient, not on its own.
 */
export function compareStep(
  step: number,
  actual: StepState,
  expected: StepState,
): StepComparison {
  const group = (leaf: string) => leaf.split(".")[0];
  const scales = new Map<string, number>();
  for (const [leaf, ref] of Object.entries(expected)) {
    let m = scales.get(group(leaf)) ?? 0;
    for (let i = 0; i < ref.data.length; i++) {
      m = Math.max(m, Math.abs(ref.data[i]));
    }
    scales.set(group(leaf), m);
  }
  const leaves: LeafError[] = [];
  for (const [leaf, ref] of Object.entries(expected)) {
    const mine = actual[leaf];
    if (mine === undefined) {
      throw new Error(`step ${step}: nabla has no leaf "${leaf}"`);
    }
    if (mine.shape.join() !== ref.shape.join()) {
      throw new Error(
        `step ${step}: leaf "${leaf}" has shape [${mine.shape}] in nabla, [${ref.shape}] in the reference`,
      );
    }
    leaves.push(leafError(leaf, mine.data, ref.data, scales.get(group(leaf))!));
  }
  const worst = leaves.reduce((a, b) => (b.error > a.error ? b : a));
  return {
    step,
    loss: actual.loss.data[0],
    referenceLoss: expected.loss.data[0],
    leaves,
    worst,
  };
}

function leafError(
  leaf: string,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  scale: number,
): LeafError {
  let diff = -1;
  let index = 0;
  for (let i = 0; i < b.length; i++) {
    // NaN on one side only is an infinite difference.
    const d = Number.isNaN(a[i]) !== Number.isNaN(b[i]) ? Infinity : Math.abs(a[i] - b[i]) || 0;
    if (d > diff) [diff, index] = [d, i];
  }
  const error = diff <= 0 ? 0 : scale === 0 ? Infinity : diff / scale;
  return { leaf, error, index, actual: a[index], expected: b[index] };
}

/** The first step and leaf (in the reference's order) whose error exceeds `tolerance`. */
export function firstParting(
  steps: StepComparison[],
  tolerance: number,
): { step: number; leaf: LeafError } | undefined {
  for (const s of steps) {
    const leaf = s.leaves.find((l) => !(l.error <= tolerance));
    if (leaf) return { step: s.step, leaf };
  }
  return undefined;
}

/** One line per step: the losses and the worst leaf. */
export function formatStep(s: StepComparison): string {
  const w = s.worst;
  return `step ${String(s.step).padStart(3)}  loss ${s.loss.toFixed(6)} (reference ${
    s.referenceLoss.toFixed(6)
  })  worst ${w.leaf} ${w.error.toExponential(2)}`;
}

/** Where nabla and the reference part, in words. */
export function formatParting(
  parting: { step: number; leaf: LeafError },
): string {
  const l = parting.leaf;
  return `nabla and the reference part at step ${parting.step}, leaf ${l.leaf}: relative error ${
    l.error.toExponential(3)
  } (element ${l.index}: nabla ${l.actual}, reference ${l.expected})`;
}
