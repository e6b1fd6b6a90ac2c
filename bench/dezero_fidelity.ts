/**
 * Fidelity of nabla's DeZero examples to DeZero's formulas (`bench/numpy_dezero.py`): the
 * spiral classifier (`examples/spiral.ts`: MLP 2-10-3, sigmoid, softmax cross-entropy, SGD
 * lr 1, batches of 30 in the example's order) and the sine regression
 * (`examples/sin_regression.ts`: MLP 1-10-1, mean squared error, full-batch SGD lr 0.2). Both
 * sides start from the example's weights and take the same batches; after every step the
 * loss, every gradient leaf and every parameter are compared. Prints the losses every tenth of
 * the run and where the two part, if they do.
 *
 * The sine's full-batch descent at lr 0.2 turns chaotic near its minimum: after about 8500
 * steps, rounding differences of 1e-16 grow by orders of magnitude every 250 steps, and the
 * NumPy reference parts from itself just as fast when one weight moves by one ulp. Its default
 * run stops at step 8500, where float tolerance still means something.
 *
 * Run: `deno run -A bench/dezero_fidelity.ts [--task spiral|sine] [--steps N]
 *   [--dtype float64|float32] [--device cpu|wasm] [--tolerance 1e-9]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import * as nb from "../mod.ts";
import { data, io, nn, optim, random, type Tensor, tree } from "../mod.ts";
import {
  compareStep,
  firstParting,
  formatParting,
  formatStep,
  type LeafError,
  readState,
  runPython,
  type StepComparison,
  stepOf,
} from "./_fidelity.ts";

/** Which example, how many steps, and in what arithmetic. */
export interface DezeroFidelityOptions {
  /** `"spiral"` (10 steps an epoch) or `"sine"` (one step an iteration). */
  task: "spiral" | "sine";
  /** Steps to take and compare. */
  steps: number;
  dtype: "float32" | "float64";
  device: nb.Device;
}

/** What a run found. */
export interface DezeroFidelityReport {
  /** One comparison per step. */
  steps: StepComparison[];
  /** The largest error over all steps and leaves. */
  worst: LeafError;
}

const reference = new URL("./numpy_dezero.py", import.meta.url);

interface Setup {
  model: nn.Layer<nn.LinearParams[]>;
  params: nn.LinearParams[];
  lr: number;
  /** Inputs `[S, B, D]` and targets (`t` `[S, B]` labels, or `y` `[S, B, 1]` values). */
  batches: { x: Tensor; t?: Tensor; y?: Tensor };
  loss: (out: Tensor, target: Tensor) => Tensor;
}

// The example's model, weights, optimizer and batches, in `dtype`.
function setup(o: DezeroFidelityOptions): Setup {
  const cast = (x: Tensor) => x.astype(o.dtype);
  if (o.task === "spiral") {
    const train = data.spiral({ train: true });
    const model = nn.mlp([2, 10, 3]);
    const [initKey, dataKey] = random.split(random.key(0));
    const xs: Tensor[] = [];
    const ts: Tensor[] = [];
    for (let epoch = 1; xs.length < o.steps; epoch++) {
      const key = random.foldIn(dataKey, epoch);
      for (const b of data.batches(train, 30, { key })) {
        if (xs.length === o.steps) break;
        xs.push(cast(b.x));
        ts.push(b.t);
      }
    }
    return {
      model,
      params: tree.map(cast, model.init(initKey)),
      lr: 1,
      batches: { x: nb.stack(xs), t: nb.stack(ts) },
      loss: nn.softmaxCrossEntropy,
    };
  }
  const { x, y } = data.sine({ seed: 2 });
  const model = nn.mlp([1, 10, 1]);
  const shape = [o.steps, ...x.shape];
  return {
    model,
    params: tree.map(cast, model.init(random.key(1))),
    lr: 0.2,
    batches: { x: cast(x).broadcastTo(shape), y: cast(y).broadcastTo(shape) },
    loss: nn.meanSquaredError,
  };
}

/**
 * Trains the example's MLP and the NumPy reference side by side from the same weights on the
 * same batches, comparing after every step. The device is set for the run and restored after.
 */
export async function dezeroFidelity(
  o: DezeroFidelityOptions,
): Promise<DezeroFidelityReport> {
  const before = nb.getDefaultDevice();
  await nb.setDevice(o.device);
  const dir = await Deno.makeTempDir({ prefix: "nabla_dezero_fidelity_" });
  try {
    const { model, lr, batches, loss, params: init } = setup(o);
    let params = init;
    await io.save(`${dir}/init.safetensors`, params);
    await io.save(`${dir}/batches.safetensors`, batches);
    await runPython(reference, [
      "--fidelity",
      dir,
      "--task",
      o.task,
      "--lr",
      String(lr),
    ]);
    const trajectory = await readState(
      (await io.load(`${dir}/trajectory.safetensors`)) as Record<
        string,
        Tensor
      >,
    );

    const opt = optim.sgd(lr);
    let state = opt.init(params);
    type Params = typeof params;
    const step = nb.valueAndGrad((p: Params, x: Tensor, target: Tensor) =>
      loss(model.apply(p, x), target)
    );
    const targets = (batches.t ?? batches.y)!;
    const steps: StepComparison[] = [];
    for (let s = 0; s < o.steps; s++) {
      const pick = (a: Tensor) =>
        a.slice([s, ...a.shape.slice(1).map(() => 0)], [1, ...a.shape.slice(1)])
          .squeeze(0);
      const [value, grads] = step(params, pick(batches.x), pick(targets));
      const [updates, next] = opt.update(grads, state);
      params = optim.applyUpdates(params, updates);
      state = next;
      const mine = await readState({ loss: value, grads, params });
      steps.push(compareStep(s + 1, mine, stepOf(trajectory, s)));
    }
    const worst = steps.map((s) => s.worst).reduce((
      a,
      b,
    ) => (b.error > a.error ? b : a));
    return { steps, worst };
  } finally {
    await Deno.remove(dir, { recursive: true });
    await nb.setDevice(before);
  }
}

if (import.meta.main) {
  const { values: flags } = parseArgs({
    args: Deno.args,
    options: {
      task: { type: "string", default: "spiral" },
      steps: { type: "string" },
      dtype: { type: "string", default: "float64" },
      device: { type: "string", default: "cpu" },
      tolerance: { type: "string" },
    },
  });
  const task = flags.task as "spiral" | "sine";
  const dtype = flags.dtype as "float32" | "float64";
  // The whole spiral example (300 epochs of 10 steps); the sine's first 8500 iterations.
  const steps = Number(flags.steps ?? (task === "spiral" ? 3000 : 8500));
  const tolerance = Number(
    flags.tolerance ?? (dtype === "float64" ? 1e-9 : 1e-3),
  );
  console.log(
    `${task} fidelity: ${steps} steps, ${dtype} on ${flags.device}, tolerance ${tolerance}`,
  );
  const report = await dezeroFidelity({
    task,
    steps,
    dtype,
    device: flags.device as nb.Device,
  });
  const every = Math.max(1, Math.round(steps / 10));
  for (const s of report.steps) {
    if (s.step === 1 || s.step % every === 0) console.log(formatStep(s));
  }
  const parting = firstParting(report.steps, tolerance);
  console.log(
    parting
      ? formatParting(parting)
      : `nabla and the reference agree over ${steps} steps: largest relative error ${
        report.worst.error.toExponential(2)
      } (${report.worst.leaf})`,
  );
  if (parting) Deno.exit(1);
}
