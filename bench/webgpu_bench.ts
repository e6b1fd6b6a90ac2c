/**
 * Training steps on the WebGPU device, jitted and eager side by side in one run: what `jit`
 * saves in per-kernel overhead. The step is `valueAndGrad` and the SGD update (learning rate
 * 1) of a 2-10-3 sigmoid MLP on all 300 examples of the spiral, as in `train_bench.ts`; the
 * jitted step donates the parameters, the eager one disposes those it replaces. The jitted
 * step is each group's baseline.
 *
 * - spiral, 100 steps: the steps are enqueued back to back and the last one's loss is read, so
 *   the timing includes the GPU finishing all of them. This is the dispatch overhead measured.
 * - spiral step, loss read: one step and its loss read back, as a loop that logs every loss.
 *   Deno's WebGPU resolves a read (`mapAsync`, like `onSubmittedWorkDone`) no sooner than
 *   about 10 ms after it is asked, however little work is pending, so this time is mostly
 *   that wait, the same for both.
 *
 * The bench registers nothing where WebGPU has no adapter. On a software adapter (llvmpipe,
 * which runs kernels in its thread pool inside `queue.submit`) the kernels are tiny next to
 * their fixed costs, which is what is measured here; there the jitted step is small enough to
 * run whole as one dispatch (`GpuContext.oneDispatchPrograms`). The kernels each step
 * dispatches are printed first.
 *
 * Run: `deno bench -A -c bench/deno.json bench/webgpu_bench.ts`
 *
 * @module
 */

import * as nb from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { sgdStep } from "./_sgd.ts";
import { probeWebGpu } from "./_throughput.ts";
import { webgpuBackend } from "../lib/backends/webgpu/mod.ts";

type Params = nb.nn.LinearParams[];

const SIZES = [2, 10, 3];
const LR = 1;
const STEPS = 100;

/** Runs `steps` training steps and reads the last loss. */
type Trainer = (steps: number) => Promise<number>;

function spiralTrainer(jitted: boolean): Trainer {
  const model = nb.nn.mlp(SIZES);
  const step = sgdStep(model, LR, jitted);
  const data = nb.data.spiral();
  const onGpu = (t: Tensor) => nb.tensor(t.dataSync(), { shape: t.shape, device: "webgpu" });
  const [x, t] = [onGpu(data.x), onGpu(data.t)];
  let params: Params = model.init(nb.random.key(0)).map((l) => ({ w: onGpu(l.w), b: onGpu(l.b!) }));
  return async (steps) => {
    let value: Tensor | null = null;
    for (let i = 0; i < steps; i++) {
      value?.dispose();
      const [next, v] = step(params, x, t);
      // Donated parameters are gone already; eager ones are released here.
      if (!jitted) nb.tree.flatten<Tensor>(params)[0].forEach((leaf) => leaf.dispose());
      [params, value] = [next, v];
    }
    const last = (await value!.data())[0];
    value!.dispose();
    return last;
  };
}

const { gpuReady } = await probeWebGpu();
if (gpuReady) {
  const trainers: (readonly [string, Trainer])[] = [
    ["nabla (webgpu, jit)", spiralTrainer(true)],
    ["nabla (webgpu)", spiralTrainer(false)],
  ];
  // A few steps each first: the jitted step compiles here, not in the timings, and both losses
  // show that the two train the same model from the same start.
  const losses = [];
  const dispatches = [];
  for (const [name, fn] of trainers) {
    losses.push(`${name} ${(await fn(3)).toFixed(4)}`);
    const before = webgpuBackend()!.context.dispatched;
    await fn(1);
    dispatches.push(`${name} ${webgpuBackend()!.context.dispatched - before}`);
  }
  console.log(`spiral: losses after 3 steps ${losses.join(", ")}`);
  console.log(`spiral: kernels dispatched per step ${dispatches.join(", ")}`);
  const groups = [
    { group: `spiral, ${STEPS} steps on webgpu (valueAndGrad + SGD, 300 examples)`, steps: STEPS },
    { group: "spiral step on webgpu, its loss read", steps: 1 },
  ];
  for (const { group, steps } of groups) {
    for (const [name, fn] of trainers) {
      Deno.bench({ name, group, baseline: name === "nabla (webgpu, jit)" }, async () => {
        await fn(steps);
      });
    }
  }
}
