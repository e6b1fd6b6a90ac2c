/**
 * Fusion: groups chains of elementwise equations into clusters that one kernel computes, so
 * that their intermediate values never reach memory and a chain costs one launch. All members
 * have the root's shape and device (broadcasts are explicit equations before them). Which
 * equations may join is the backend's call (`Backend.fusible`), since each backend's code
 * generator knows its own operations.
 *
 * A reduction the backend accepts as a root (`canReduce`) takes the elementwise work before it
 * as its prologue: the members then have the shape of the reduction's operand, and the kernel
 * reduces the chain's value as it computes it (a cross-entropy's masked sum, a sum of squares).
 * A product the backend accepts as a head (`canHead`) takes the elementwise work after it as
 * its epilogue (a bias and an activation): one per cluster, its operands read from outside.
 * A concatenation the backend accepts as a root (`canConcat`) of values that all join the
 * cluster has them written straight into their places (an LSTM's four gate gradients, side by
 * side for one product): the members have its operands' shape.
 *
 * The cluster runs where its root, its last member, stands. A member whose value is used
 * outside the cluster, by equations after the root or as a program output, is an extra output
 * of the kernel (a gradient's forward pass keeps such values for the backward pass); a value
 * used outside before the root would have to exist before the kernel runs, so its equation
 * does not join.
 *
 * @example
 * ```ts
 * import { findClusters } from "./fusion.ts";
 * import { makeJaxpr, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const program = makeJaxpr((x) => x.exp().mul(2).add(1).sum())(tensor([1, 2]));
 * const clusters = findClusters(program, (eq) => eq.prim.name !== "reduceSum");
 * const [cluster] = clusters.values();
 * assert.deepEqual(cluster.equations.map((e) => e.prim.name), ["exp", "mul", "add"]);
 * ```
 *
 * @module
 */

import type { Program, ProgramEquation, Var } from "../../core/program.ts";
import { readersOf } from "./_rewrite.ts";

/** Equations computed by one kernel: members in program order, the last one the root. */
export interface Cluster {
  /** The members, in program order; the last is the root. */
  readonly equations: readonly ProgramEquation[];
  /** The values read from outside the cluster, in order of first use. */
  readonly inputs: readonly Var[];
  /** The values used outside the cluster (the root's among them), in program order. */
  readonly outputs: readonly Var[];
}

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * The clusters of two or more equations that `canFuse` accepts (single-result ones only), or
 * of a reduction that `canReduce` accepts (or a concatenation that `canConcat` does) and the
 * elementwise equations before it, each reading at most `maxInputs(device)` values from
 * outside, keyed by their root. An elementwise cluster may start with one product that
 * `canHead` accepts.
 */
export function findClusters(
  program: Program,
  canFuse: (eq: ProgramEquation) => boolean,
  maxInputs: (device: string) => number = () => Infinity,
  canReduce: (eq: ProgramEquation) => boolean = () => false,
  canHead: (eq: ProgramEquation) => boolean = () => false,
  canConcat: (eq: ProgramEquation) => boolean = () => false,
): Map<ProgramEquation, Cluster> {
  const equations = program.equations;
  const position = new Map<ProgramEquation, number>();
  const definedBy = new Map<Var, ProgramEquation>();
  const consumers = readersOf(program);
  equations.forEach((eq, i) => {
    position.set(eq, i);
    for (const v of eq.outs) definedBy.set(v, eq);
  });
  const outputs = new Set(program.outputs);
  const taken = new Set<ProgramEquation>();
  const clusters = new Map<ProgramEquation, Cluster>();
  for (let i = equations.length - 1; i >= 0; i--) {
    const root = equations[i];
    if (taken.has(root)) continue;
    const reduction = canReduce(root);
    const concat = !reduction && canConcat(root);
    if (!reduction && !concat && !canFuse(root)) continue;
    const members = new Set([root]);
    const rootOut = root.outs[0].aval;
    // The shape every member computes: a reduction's or a concatenation's operands', or the
    // root's own.
    const shape = reduction || concat ? root.inputs[0].aval.shape : rootOut.shape;
    if (concat && !root.inputs.every((v) => sameShape(v.aval.shape, shape))) continue;
    const limit = maxInputs(rootOut.device);
    let head: ProgramEquation | null = null;
    // A product may head an elementwise cluster once (its operands stay outside: never members).
    const heads = (eq: ProgramEquation) =>
      !reduction && !concat && head === null && canHead(eq) &&
      !eq.inputs.some((v) => members.has(definedBy.get(v)!));
    const fits = (eq: ProgramEquation) =>
      !taken.has(eq) && eq.outs.length === 1 && (canFuse(eq) || heads(eq)) &&
      eq.outs[0].aval.device === rootOut.device && sameShape(eq.outs[0].aval.shape, shape);
    // A producer joins when each of its consumers is a member or comes after the root, so the
    // cluster can run at the root's place; values used after it become extra outputs. A
    // consumer before the root joins with it where it can, and so on down its own consumers:
    // the side values of a chain (the residuals a gradient keeps) come from the same kernel.
    // `into` collects the equations that join together; false when one of them cannot.
    // (A member of a cluster found already runs where that cluster's root stands.)
    const joins = (p: ProgramEquation, into: Set<ProgramEquation>): boolean => {
      if (members.has(p) || into.has(p)) return true;
      if (!fits(p)) return false;
      into.add(p);
      return (consumers.get(p.outs[0]) ?? []).every((c) => position.get(c)! > i || joins(c, into));
    };
    // Repeat until nothing changes (a value two members read joins once both have).
    for (let grew = true; grew;) {
      grew = false;
      for (const m of [...members]) {
        if (m === head) continue;
        for (const v of m.inputs) {
          const p = definedBy.get(v);
          const joining = new Set<ProgramEquation>();
          if (p === undefined || members.has(p) || !joins(p, joining)) continue;
          const headJoining = [...joining].find((eq) => !canFuse(eq)) ?? null;
          joining.forEach((eq) => members.add(eq));
          if (externalInputs(members).size > limit) {
            joining.forEach((eq) => members.delete(eq));
            continue;
          }
          if (headJoining !== null) head = headJoining;
          grew = true;
        }
      }
    }
    if (members.size < 2) continue;
    // A concatenation copies nothing itself: every operand comes out of the chain.
    if (concat && !root.inputs.every((v) => members.has(definedBy.get(v)!))) continue;
    // (Joined together, two products, or a product and a producer of its operand, would be:
    // such a cluster is left unfused.)
    const products = [...members].filter((eq) => eq !== root && !canFuse(eq));
    const operandMade = (eq: ProgramEquation) =>
      eq.inputs.some((v) => members.has(definedBy.get(v)!));
    if (products.length > 1 || products.some(operandMade)) continue;
    const ordered = equations.filter((eq) => members.has(eq));
    for (const eq of ordered) {
      taken.add(eq);
      position.set(eq, i);
    }
    const used = ordered.filter((eq) =>
      eq === root || outputs.has(eq.outs[0]) ||
      (consumers.get(eq.outs[0]) ?? []).some((c) => !members.has(c))
    );
    clusters.set(root, {
      equations: ordered,
      inputs: [...externalInputs(ordered)],
      outputs: used.map((eq) => eq.outs[0]),
    });
  }
  return clusters;
}

// The values members read from outside, in order of first use.
function externalInputs(members: Iterable<ProgramEquation>): Set<Var> {
  const list = [...members];
  const inside = new Set(list.map((eq) => eq.outs[0]));
  const inputs = new Set<Var>();
  for (const eq of list) for (const v of eq.inputs) if (!inside.has(v)) inputs.add(v);
  return inputs;
}

/**
 * The whole program as one cluster (every equation, the last one the root), for a backend
 * that runs small programs as one kernel; `null` when an equation has several results or
 * holds a program of its own (`multi`), when values live on more than one device, or when
 * there are fewer than two equations.
 *
 * @example
 * ```ts
 * import { wholeProgram } from "./fusion.ts";
 * import { makeJaxpr, tensor } from "@nabla/nabla";
 * import assert from "node:assert/strict";
 * const program = makeJaxpr((x) => x.exp().sum())(tensor([1, 2]));
 * const whole = wholeProgram(program, () => false)!;
 * assert.deepEqual(whole.equations.map((e) => e.prim.name), ["exp", "reduceSum"]);
 * assert.deepEqual(whole.outputs, program.outputs);
 * ```
 */
export function wholeProgram(
  program: Program,
  multi: (eq: ProgramEquation) => boolean,
): Cluster | null {
  const equations = program.equations;
  if (equations.length < 2) return null;
  const device = equations[0].outs[0]?.aval.device;
  const inputs = externalInputs(equations);
  const avals = [...inputs, ...equations.flatMap((eq) => eq.outs)].map((v) => v.aval);
  if (equations.some((eq) => eq.outs.length !== 1 || multi(eq))) return null;
  if (avals.some((a) => a.device !== device)) return null;
  const defined = new Set(equations.map((eq) => eq.outs[0]));
  const outputs = [...new Set(program.outputs.filter((v) => defined.has(v)))];
  return { equations, inputs: [...inputs], outputs };
}
