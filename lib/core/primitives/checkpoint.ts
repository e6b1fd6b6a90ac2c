/**
 * `checkpoint` (rematerialisation): a staged function whose intermediate values reverse mode
 * does not keep. Its JVP splits the differentiated body (partial evaluation) so that the
 * tangent part receives only the body's inputs, plus the values the policy lets it save, and
 * recomputes everything else; transposing that part runs the recomputation in the backward
 * pass. Both parts stay `checkpoint` equations, opaque to the passes of `jit`, so that the
 * recomputation is never merged back with the forward computation.
 *
 * Arguments are the body's inputs (its captured values first); results are its outputs.
 *
 * @module
 */

import type { Params } from "../backend.ts";
import {
  type BatchDim,
  defineMultiPrimitive,
  LinearArg,
  type MultiPrimitive,
} from "../primitive.ts";
import { evalProgram, type Program, type ProgramEquation } from "../program.ts";
import * as lax from "../lax.ts";
import { jvpProgram, partialEval, transposeProgram, vmapProgram } from "../subprogram.ts";
import type { Tensor } from "../tensor.ts";
import { bindMulti } from "../trace.ts";

/** Which intermediate values of a checkpointed function reverse mode may keep. */
export type CheckpointPolicy = "nothingSaveable" | "dotsSaveable";

/** The parameters of a `checkpoint` equation. */
export interface CheckpointParams extends Params {
  /** The function, as an open program. */
  readonly body: Program;
  /** What the backward pass may keep instead of recomputing. */
  readonly policy: CheckpointPolicy;
}

const saveable: Record<CheckpointPolicy, (eq: ProgramEquation) => boolean> = {
  nothingSaveable: () => false,
  dotsSaveable: (eq) => eq.prim.name === "matmul",
};

/** The `checkpoint` primitive. */
export const checkpointPrimitive: MultiPrimitive<CheckpointParams> = defineMultiPrimitive<
  CheckpointParams
>({
  name: "checkpoint",
  multipleResults: true,

  abstractEval: (_args, { body }) => body.outputs.map((v) => v.aval),

  impl: (args, { body }) => evalProgram(body, args),

  jvp: (primals, tangents, params) => {
    const { body, policy } = params;
    const nonzero = tangents.map((t) => t !== null);
    const [jvp, outNz] = jvpProgram(body, nonzero);
    const n = primals.length;
    const nTangents = nonzero.filter(Boolean).length;
    const split = partialEval(
      jvp,
      [...new Array(n).fill(false), ...new Array(nTangents).fill(true)],
      jvp.outputs.map((_, i) => i >= body.outputs.length),
      saveable[policy],
    );
    // Inputs needed later are passed as they are; saved values come out of the primal part.
    const computed = split.residualInputs.map((i) => i < 0);
    const residualVars = split.known.outputs.slice(body.outputs.length);
    const known = split.known.with({
      outputs: [
        ...split.known.outputs.slice(0, body.outputs.length),
        ...residualVars.filter((_, r) => computed[r]),
      ],
    });
    const primalOuts = bindMulti(checkpointPrimitive, primals, { body: known, policy });
    const outs = primalOuts.slice(0, body.outputs.length);
    let next = body.outputs.length;
    const residuals = split.residualInputs.map((i) => (i < 0 ? primalOuts[next++] : primals[i]));
    const linear = tangents.filter((t): t is Tensor => t !== null);
    const tangentOuts = bindMulti(checkpointPrimitive, [...residuals, ...linear], {
      body: split.unknown,
      policy,
    });
    let k = 0;
    return [outs, outNz.map((nz) => (nz ? tangentOuts[k++] : null))];
  },

  // The backward pass of the tangent part recomputes the forward values it needs, inside one
  // more checkpoint equation.
  transpose: (cts, args, { body, policy }) => {
    const linear = args.map((a) => a instanceof LinearArg);
    const known = args.filter((a): a is Tensor => !(a instanceof LinearArg));
    const cotangents = cts.map((ct, i) => ct ?? lax.zerosLike(body.outputs[i].aval));
    const argCts = bindMulti(checkpointPrimitive, [...known, ...cotangents], {
      body: transposeProgram(body, linear),
      policy,
    });
    let k = 0;
    return linear.map((lin) => (lin ? argCts[k++] : null));
  },

  vmap: (args, dims, params, size) => {
    const batched = dims.map((d) => d !== null);
    const [program, outBatched] = vmapProgram(params.body, batched, size);
    const outs = bindMulti(checkpointPrimitive, args, { ...params, body: program });
    return [outs, outBatched.map((b): BatchDim => (b ? 0 : null))];
  },
});
