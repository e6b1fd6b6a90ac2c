import assert from "node:assert/strict";
import * as nb from "../../../mod.ts";
import { gpu, ignore, ints, uniform } from "./_test_util.ts";

const { nn, random, tree } = nb;

/** Copies every tensor of a pytree to the GPU. */
async function toGpu<P>(params: P): Promise<P> {
  const [leaves, def] = tree.flatten<nb.Tensor>(params);
  return tree.unflatten(def, await Promise.all(leaves.map((l) => l.to("webgpu"))));
}

/** Checks gradients on the GPU against the CPU, and that none of the work read back. */
async function sameGrads(
  f: (...args: nb.Tensor[]) => unknown,
  args: unknown[],
  argnums: number[],
): Promise<void> {
  const vg = nb.valueAndGrad(f as (...a: unknown[]) => nb.Tensor, { argnums });
  const [value, grads] = vg(...args);
  const onGpu = await Promise.all(args.map((a) => toGpu(a)));
  const readsBefore = gpu().context.reads;
  const [gValue, gGrads] = vg(...onGpu);
  assert.equal(gpu().context.reads, readsBefore, "no value was read back during the computation");
  for (const leaf of tree.leaves<nb.Tensor>([gValue, gGrads])) assert.equal(leaf.device, "webgpu");
  await nb.testing.assertAllClose(gValue, value, { rtol: 1e-5, atol: 1e-6 });
  await nb.testing.assertAllClose(gGrads, grads, { rtol: 1e-4, atol: 1e-6 });
}

Deno.test({
  name: "webgpu gradients of an MLP loss equal the CPU's",
  ignore,
  fn: async () => {
    const model = nn.mlp([5, 16, 16, 3]);
    const params = model.init(random.key(1));
    const loss = (p: typeof params, x: nb.Tensor, t: nb.Tensor) =>
      nn.softmaxCrossEntropy(model.apply(p, x), t);
    await sameGrads(loss as never, [params, uniform([13, 5], 2), ints([13], 3, 0, 3)], [0, 1]);
    const relu = nn.mlp([4, 7, 1], { activation: nn.relu });
    const p2 = relu.init(random.key(4));
    const mse = (p: typeof p2, x: nb.Tensor, y: nb.Tensor) =>
      nn.meanSquaredError(relu.apply(p, x).squeeze(1), y);
    await sameGrads(mse as never, [p2, uniform([9, 4], 5), uniform([9], 6)], [0]);
  },
});

Deno.test({
  name: "webgpu gradients through an LSTM equal the CPU's",
  ignore,
  fn: async () => {
    const rnn = nn.lstm(4, 6);
    const head = nn.linear(6, 3);
    const params = { rnn: rnn.init(random.key(7)), head: head.init(random.key(8)) };
    const loss = (p: typeof params, xs: nb.Tensor, t: nb.Tensor) => {
      const { hs, h } = rnn.apply(p.rnn, xs);
      const logits = head.apply(p.head, hs);
      return nn.softmaxCrossEntropy(logits.reshape([-1, 3]), t).add(h.square().mean());
    };
    await sameGrads(loss as never, [params, uniform([3, 5, 4], 9), ints([15], 10, 0, 3)], [0, 1]);
  },
});
