/**
 * The training step the training benches time: `valueAndGrad` of an MLP's softmax
 * cross-entropy and the SGD update, jitted with the parameters donated (plain SGD keeps no
 * optimizer state, so the new parameters take the old ones' memory) or eager.
 *
 * @module
 */

import * as nb from "../mod.ts";
import type { Tensor } from "../mod.ts";

/** An MLP's parameters, one entry per layer. */
export type MlpParams = nb.nn.LinearParams[];

/** One step: the new parameters and the loss before the update. */
export type SgdStep = (
  params: MlpParams,
  x: Tensor,
  t: Tensor,
) => readonly [MlpParams, Tensor];

/** The SGD step of `model` with learning rate `lr`, jitted (parameters donated) or eager. */
export function sgdStep(model: nb.nn.Layer<MlpParams>, lr: number, jitted: boolean): SgdStep {
  const loss = (p: MlpParams, x: Tensor, t: Tensor) =>
    nb.nn.softmaxCrossEntropy(model.apply(p, x), t);
  const sgd = (params: MlpParams, x: Tensor, t: Tensor) => {
    const [value, grads] = nb.valueAndGrad(loss)(params, x, t);
    const next = nb.tree.map((p: Tensor, g: Tensor) => p.sub(g.mul(lr)), params, grads);
    return [next, value] as const;
  };
  return jitted ? nb.jit(sgd, { donateArgnums: 0 }) : sgd;
}
