/**
 * The compiled form of a program: a flat list of kernel launches over numbered slots, with the
 * slots each launch leaves dead freed right after it. A call fills the input slots, launches,
 * and wraps the output slots as tensors; nothing is traced or looked up per call.
 *
 * Memory is planned from liveness: an intermediate is freed after its last reader, and so is a
 * donated input, so that the values made later (the new parameters of a training step) reuse
 * the memory of those that died (the old ones).
 *
 * @module
 */

import { type Aval, type Device, getBackend, type Params } from "../core/backend.ts";
import { isMultiPrimitive, type Primitive } from "../core/primitive.ts";
import type { Program, ProgramEquation, Var } from "../core/program.ts";
import type { Cluster } from "./passes/fusion.ts";
import { donate, Tensor } from "../core/tensor.ts";
import { release } from "./_steps.ts";

/** One kernel of a compiled program, as reported to users and tests. */
export interface KernelInfo {
  /** The primitives it computes, in order (more than one when fused). */
  readonly ops: readonly string[];
  /** The device it runs on. */
  readonly device: Device;
  /** The types of its results. */
  readonly outs: readonly Aval[];
}

/**
 * A runnable kernel over backend buffers (a fused cluster, compiled by its backend, or a
 * loop); a fused one may write outputs into the buffers `into` gives (see
 * `Backend.compileFused`).
 */
export type CompiledKernel = (inputs: readonly unknown[], into?: readonly unknown[]) => unknown[];

/** A cluster of equations and the kernel its backend compiled for it. */
export interface FusedLaunch {
  /** The equations the kernel computes. */
  readonly cluster: Cluster;
  /** The kernel: the cluster's inputs to its outputs' values. */
  readonly kernel: CompiledKernel;
}

/** One launch: a primitive's kernel or a compiled one, from input slots to output slots. */
export interface Launch {
  /** The primitives computed (one unless fused). */
  readonly ops: readonly string[];
  /** The primitive, when this launches a primitive's kernel. */
  readonly prim?: Primitive;
  /** Its parameters. */
  readonly params?: Params;
  /** The compiled kernel, when this is a fused cluster. */
  readonly kernel?: CompiledKernel;
  /** Slots read. */
  readonly inputs: readonly number[];
  /** Slots written. */
  readonly outs: readonly number[];
  /** Types of the results. */
  readonly avals: readonly Aval[];
  /** Whether its kernel is a fused one, which may write results into given buffers. */
  readonly placeable?: boolean;
}

interface PlannedLaunch extends Launch {
  // Slots whose last reader this launch is.
  frees: number[];
  // Per result, the outputs of the call it is (where the call may name a buffer for it).
  places: number[][] | null;
}

/**
 * A program compiled for running: launches over slots (constants first, then inputs).
 *
 * @example
 * ```ts
 * import { Executable } from "./executable.ts";
 * import { makeJaxpr, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const x = tensor([1, 2]);
 * const program = makeJaxpr((x) => x.exp().neg())(x);
 * const exe = Executable.fromProgram(program);
 * const [y] = exe.run([...program.consts, x]);
 * assert.ok(Math.abs((await y.data())[1] + Math.exp(2)) < 1e-5);
 * assert.equal(exe.kernels.length, 2);
 * ```
 */
export class Executable {
  /** The kernels launched per call, in order. */
  readonly kernels: readonly KernelInfo[];
  readonly #launches: readonly PlannedLaunch[];
  readonly #slots: number;
  readonly #avals: readonly Aval[];
  readonly #args: number;
  readonly #outputs: readonly number[];
  readonly #donated: ReadonlySet<number>;
  readonly #devices: readonly Device[];

  /**
   * Plans `launches` over `slots` slots, of which the first `args` are arguments; `donated`
   * lists arguments whose storage the call may take.
   */
  constructor(
    launches: readonly Launch[],
    avals: readonly Aval[],
    args: number,
    outputs: readonly number[],
    donated: ReadonlySet<number> = new Set(),
  ) {
    this.#slots = avals.length;
    this.#avals = avals;
    this.#args = args;
    this.#outputs = outputs;
    this.#donated = donated;
    this.#devices = [...new Set(avals.map((a) => a.device))];
    const last = new Array<number>(this.#slots).fill(-1);
    launches.forEach((l, i) => l.inputs.forEach((s) => (last[s] = i)));
    for (const s of outputs) last[s] = Infinity;
    // A result that is an output of the call (and no argument) may be written where the
    // caller wants that output.
    const placesOf = (s: number) => s < args ? [] : outputs.flatMap((o, i) => (o === s ? [i] : []));
    const planned: PlannedLaunch[] = launches.map((l) => {
      const places = l.placeable ? l.outs.map(placesOf) : null;
      return { ...l, frees: [], places: places?.some((o) => o.length > 0) ? places : null };
    });
    for (let s = 0; s < this.#slots; s++) {
      const i = last[s];
      if (i < 0 || i === Infinity) continue;
      if (s >= args || donated.has(s)) planned[i].frees.push(s);
    }
    this.#launches = planned;
    this.kernels = launches.map((l) => ({ ops: l.ops, device: l.avals[0].device, outs: l.avals }));
  }

  /**
   * One launch per equation of `program` (arguments: its constants, then its inputs), except
   * that each compiled cluster of `fused` is one launch at its root. `donated` counts inputs
   * from 0.
   */
  static fromProgram(
    program: Program,
    donatedInputs: readonly number[] = [],
    fused: ReadonlyMap<ProgramEquation, FusedLaunch> = new Map(),
    lowered: ReadonlyMap<ProgramEquation, CompiledKernel> = new Map(),
  ): Executable {
    const slots = new Map<Var, number>();
    const avals: Aval[] = [];
    const slot = (v: Var) => {
      slots.set(v, avals.length);
      avals.push(v.aval);
    };
    program.constVars.forEach(slot);
    program.inputs.forEach(slot);
    const inside = new Set<ProgramEquation>();
    for (const { cluster } of fused.values()) cluster.equations.forEach((eq) => inside.add(eq));
    const launches: Launch[] = [];
    const slotsOf = (vs: readonly Var[]) => vs.map((v) => slots.get(v)!);
    for (const eq of program.equations) {
      const { prim, params, inputs, outs } = eq;
      const group = fused.get(eq);
      if (inside.has(eq) && group === undefined) continue; // computed by its cluster's launch
      if (group !== undefined) {
        const { cluster, kernel } = group;
        cluster.outputs.forEach(slot);
        launches.push({
          ops: cluster.equations.map((e) => e.prim.name),
          kernel,
          placeable: true,
          inputs: slotsOf(cluster.inputs),
          outs: slotsOf(cluster.outputs),
          avals: cluster.outputs.map((v) => v.aval),
        });
        continue;
      }
      outs.forEach(slot);
      const common = { ops: [prim.name], inputs: slotsOf(inputs), outs: slotsOf(outs) };
      const avals = outs.map((v) => v.aval);
      if (isMultiPrimitive(prim)) {
        const kernel = lowered.get(eq);
        if (kernel === undefined) {
          throw new Error(`internal: primitive "${prim.name}" was not lowered for compiling`);
        }
        launches.push({ ...common, kernel, avals });
      } else launches.push({ ...common, prim, params, avals });
    }
    const nConsts = program.constVars.length;
    return new Executable(
      launches,
      avals,
      nConsts + program.inputs.length,
      program.outputs.map((v) => slots.get(v)!),
      new Set(donatedInputs.map((i) => nConsts + i)),
    );
  }

  /**
   * Runs on concrete arguments (constants, then inputs) and returns the outputs as new tensors.
   * Donated arguments are given up: reading them afterwards is a TypeError naming `label`.
   */
  run(args: readonly Tensor[], label = "jit"): Tensor[] {
    const outs = this.#launch(args.map((a) => a.buffer), (s) => donate(args[s], label));
    return outs.map((b, i) => new Tensor(this.#avals[this.#outputs[i]], b));
  }

  /**
   * Runs on backend buffers (constants, then inputs) and returns new buffers that the caller
   * owns: how a compiled loop runs its body. Arguments are never freed, donated or not. Where
   * `into[i]` is a buffer (of output `i`'s type, from `Backend.empty` or a view of one) and a
   * fused kernel computes that output, the kernel may write it there: output `i` is then that
   * very buffer.
   */
  runBuffers(args: readonly unknown[], into?: readonly unknown[]): unknown[] {
    return this.#launch(args, null, into);
  }

  // The launches, inside each device's planned region (see `Backend.planned`).
  #launch(
    args: readonly unknown[],
    give: ((slot: number) => void) | null,
    into?: readonly unknown[],
  ): unknown[] {
    const run = this.#devices.reduceRight<() => unknown[]>((inner, device) => {
      const backend = getBackend(device);
      return backend.planned ? () => backend.planned!(inner) : inner;
    }, () => this.#launchAll(args, give, into));
    return run();
  }

  // The launches over slots filled with `args`; `give` takes a donated argument at its last
  // use (or, with `null`, donated arguments are kept).
  #launchAll(
    args: readonly unknown[],
    give: ((slot: number) => void) | null,
    into: readonly unknown[] | undefined,
  ): unknown[] {
    const bufs = new Array<unknown>(this.#slots);
    for (let i = 0; i < this.#args; i++) bufs[i] = args[i];
    // The output each slot written in place was written for.
    const placed = new Map<number, number>();
    for (const l of this.#launches) {
      const ins = new Array<unknown>(l.inputs.length);
      for (let i = 0; i < ins.length; i++) ins[i] = bufs[l.inputs[i]];
      if (l.kernel) {
        const wanted = into && l.places?.map((os) => os.find((o) => into[o] !== undefined));
        const outs = wanted
          ? l.kernel(ins, wanted.map((o) => o === undefined ? undefined : into![o]))
          : l.kernel(ins);
        for (let i = 0; i < outs.length; i++) {
          bufs[l.outs[i]] = outs[i];
          const o = wanted?.[i];
          if (o !== undefined && outs[i] === into![o]) placed.set(l.outs[i], o);
        }
      } else bufs[l.outs[0]] = launchPrimitive(l, ins);
      for (const s of l.frees) {
        if (s >= this.#args) release(bufs[s], this.#avals[s]);
        else if (give !== null) give(s);
        else continue;
        bufs[s] = null;
      }
    }
    const taken = new Set<number>(placed.keys());
    const outs = this.#outputs.map((s, i) => {
      const aval = this.#avals[s];
      // A slot becomes its output once (the one it was written in place for, if any); an
      // argument or a repeated output gets a view, so that no two owners hold one buffer.
      if (placed.get(s) === i) return bufs[s];
      if (s >= this.#args && !taken.has(s)) {
        taken.add(s);
        return bufs[s];
      }
      return getBackend(aval.device).run("reshape", [bufs[s]], { shape: aval.shape }, aval);
    });
    if (give !== null) { for (const s of this.#donated) if (bufs[s] !== null) give(s); }
    return outs;
  }
}

function launchPrimitive(l: Launch, ins: unknown[]): unknown {
  const prim = l.prim!;
  if (prim.impl) {
    throw new Error(`internal: primitive "${prim.name}" has no kernel and cannot be compiled`);
  }
  return getBackend(l.avals[0].device).run(prim.name, ins, l.params!, l.avals[0]);
}
