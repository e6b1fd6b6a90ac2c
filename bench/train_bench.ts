/**
 * Training steps of two MLPs, nabla jitted and eager beside TensorFlow.js (CPU backend) and
 * jax-js (its `wasm` device, jitted), all in the same run:
 *
 * - spiral step: `valueAndGrad` and the SGD update of a 2-10-3 sigmoid MLP on all 300 examples
 *   of the spiral (learning rate 1);
 * - spiral epoch: 10 such steps on minibatches of 30;
 * - MLP 784-512-512-10: a relu MLP's SGD step (learning rate 0.01) on a batch of 128 random
 *   inputs and labels, made once.
 *
 * A jitted step is the whole step on both sides: loss, gradient and the update in one jitted
 * function. nabla donates the parameters (`donateArgnums: 0`; plain SGD keeps no optimizer
 * state), so the new parameters take the old ones' memory; jax-js's jitted function takes
 * ownership of the parameters it is passed (its `.ref` rules), which frees them likewise.
 * Every step reads its loss back, as a training loop does, so the timings include completion;
 * each result is disposed after it is read (jax-js's `dataSync()` consumes its array), and
 * eager nabla disposes the parameters it replaces. nabla also runs eagerly on its reference
 * `cpu` device in the spiral groups. Before any timing, every peer's step runs for half a
 * second, so that each is timed as a training loop runs it, after the engine has optimised it.
 * The jitted nabla step is each group's baseline, so the summary gives every peer's time as a
 * multiple of it.
 *
 * Run: `deno bench -A -c bench/deno.json bench/train_bench.ts`
 *
 * @module
 */

import * as jax from "@jax-js/jax";
// The union package: tfjs-core with its gradients registered and tfjs-backend-cpu.
import * as tf from "@tensorflow/tfjs";
import * as nb from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { sgdStep } from "./_sgd.ts";

/** One training task: an MLP, its first parameters, its learning rate and its batches. */
interface Task {
  sizes: number[];
  activation: "sigmoid" | "relu";
  lr: number;
  init: { w: Float32Array<ArrayBuffer>; b: Float32Array<ArrayBuffer> }[];
  // Each batch's inputs (row-major, `[n, sizes[0]]`) and class labels.
  batches: { x: Float32Array<ArrayBuffer>; labels: Int32Array<ArrayBuffer> }[];
}

// The spiral's 300 examples as one batch (`all`) and as 10 minibatches of 30 (`epoch`).
const spiral = nb.data.spiral();
const spiralX = Float32Array.from(spiral.x.dataSync());
const spiralT = Int32Array.from(spiral.t.dataSync());
const SPIRAL_BATCH = 30;
const spiralTask = (batches: Task["batches"]): Task => ({
  sizes: [2, 10, 3],
  activation: "sigmoid",
  lr: 1,
  init: initArrays(nb.nn.mlp([2, 10, 3]), 0),
  batches,
});
const spiralAll = spiralTask([{ x: spiralX, labels: spiralT }]);
const spiralEpoch = spiralTask(
  Array.from({ length: spiralT.length / SPIRAL_BATCH }, (_, i) => {
    const [a, b] = [i * SPIRAL_BATCH, (i + 1) * SPIRAL_BATCH];
    return { x: spiralX.slice(2 * a, 2 * b), labels: spiralT.slice(a, b) };
  }),
);

// A relu MLP of MNIST's shapes on one random batch: matmul rules here.
const MLP_SIZES = [784, 512, 512, 10];
const MLP_BATCH = 128;
const [kx, kt] = nb.random.split(nb.random.key(2));
const mlpTask: Task = {
  sizes: MLP_SIZES,
  activation: "relu",
  lr: 0.01,
  init: initArrays(nb.nn.mlp(MLP_SIZES, { activation: nb.nn.relu }), 1),
  batches: [{
    x: Float32Array.from(nb.random.normal(kx, [MLP_BATCH, 784]).dataSync()),
    labels: Int32Array.from(nb.random.randint(kt, [MLP_BATCH], 0, 10).dataSync()),
  }],
};

type Params = nb.nn.LinearParams[];

function initArrays(model: nb.nn.Layer<Params>, seed: number): Task["init"] {
  return model.init(nb.random.key(seed)).map((l) => ({
    w: Float32Array.from(l.w.dataSync()),
    b: Float32Array.from(l.b!.dataSync()),
  }));
}

/** One call runs a task's batches once, each a step whose loss is read; returns the last loss. */
type Trainer = () => number;

// ---- nabla ----------------------------------------------------------------------------------

function nablaTrainer(task: Task, device: nb.Device, jitted: boolean): Trainer {
  const { sizes, lr } = task;
  const model = nb.nn.mlp(sizes, { activation: nb.nn[task.activation] });
  const step = sgdStep(model, lr, jitted);
  let params: Params = task.init.map((l, i) => ({
    w: nb.tensor(l.w, { shape: [sizes[i], sizes[i + 1]], device }),
    b: nb.tensor(l.b, { device }),
  }));
  const batches = task.batches.map(({ x, labels }) => ({
    x: nb.tensor(x, { shape: [labels.length, sizes[0]], device }),
    t: nb.tensor(labels, { device }),
  }));
  return () => {
    let last = NaN;
    for (const { x, t } of batches) {
      const [next, value] = step(params, x, t);
      // Donated parameters are gone already; eager ones are released here.
      if (!jitted) { for (const leaf of nb.tree.flatten<Tensor>(params)[0]) leaf.dispose(); }
      params = next;
      last = value.item();
      value.dispose();
    }
    return last;
  };
}

// ---- TensorFlow.js (tfjs-backend-cpu) -------------------------------------------------------

await tf.setBackend("cpu");

function tfTrainer(task: Task): Trainer {
  const { sizes, lr } = task;
  const layers = task.init.map((l, i) => ({
    w: tf.variable(tf.tensor2d(l.w, [sizes[i], sizes[i + 1]])),
    b: tf.variable(tf.tensor1d(l.b)),
  }));
  const vars = layers.flatMap((l) => [l.w, l.b]);
  const activation = task.activation === "relu" ? tf.relu : tf.sigmoid;
  const batches = task.batches.map(({ x, labels }) => ({
    x: tf.tensor2d(x, [labels.length, sizes[0]]),
    t: tf.oneHot(tf.tensor1d(labels, "int32"), sizes.at(-1)!).toFloat() as tf.Tensor2D,
  }));
  const loss = (x: tf.Tensor2D, t: tf.Tensor2D): tf.Scalar => {
    let h: tf.Tensor2D = x;
    layers.forEach((l, i) => {
      const y = tf.add(tf.matMul(h, l.w), l.b) as tf.Tensor2D;
      h = i < layers.length - 1 ? activation(y) : y;
    });
    return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(h), t), 1)));
  };
  return () => {
    let last = NaN;
    for (const { x, t } of batches) {
      last = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => loss(x, t), vars);
        for (const v of vars) v.assign(tf.sub(v, tf.mul(grads[v.name], lr)));
        return value.dataSync()[0];
      });
    }
    return last;
  };
}

// ---- jax-js (wasm, jitted) ------------------------------------------------------------------

const np = jax.numpy;
type JaxParams = { w: jax.Array; b: jax.Array }[];

function jaxTrainer(task: Task): Trainer {
  const { sizes, lr } = task;
  const activation = task.activation === "relu" ? jax.nn.relu : jax.nn.sigmoid;
  const loss = (p: JaxParams, x: jax.Array, t: jax.Array): jax.Array => {
    const count = t.shape[0];
    let h = x;
    p.forEach((l, i) => {
      const y = np.matmul(h, l.w).add(l.b);
      h = i < p.length - 1 ? activation(y) : y;
    });
    return jax.nn.logSoftmax(h, -1).mul(t).sum().mul(-1 / count);
  };
  // The whole step in one jitted function; `p` is read twice, so the gradient gets a `.ref`.
  const step = jax.jit((p: JaxParams, x: jax.Array, t: jax.Array) => {
    const [value, grads] = jax.valueAndGrad(loss)(jax.tree.ref(p), x, t);
    const next = jax.tree.map((w: jax.Array, g: jax.Array) => w.sub(g.mul(lr)), p, grads);
    return [next, value] as [JaxParams, jax.Array];
  });
  let params: JaxParams = task.init.map((l, i) => ({
    w: np.array(l.w).reshape([sizes[i], sizes[i + 1]]),
    b: np.array(l.b),
  }));
  const classes = sizes.at(-1)!;
  const batches = task.batches.map(({ x, labels }) => {
    const oneHot = new Float32Array(labels.length * classes);
    labels.forEach((c, i) => (oneHot[classes * i + c] = 1));
    return {
      x: np.array(x).reshape([labels.length, sizes[0]]),
      t: np.array(oneHot).reshape([labels.length, classes]),
    };
  });
  return () => {
    let last = NaN;
    for (const { x, t } of batches) {
      // The step takes the parameters; the batch is kept with `.ref`.
      const [next, value] = step(params, x.ref, t.ref) as [JaxParams, jax.Array];
      params = next;
      last = value.dataSync()[0]; // reading consumes the loss
    }
    return last;
  };
}

// ---- The benchmarks -------------------------------------------------------------------------

// Calls `fn` for about half a second (at least twice).
function warmUp(fn: Trainer): void {
  const end = performance.now() + 500;
  for (let i = 0; i < 2 || performance.now() < end; i++) fn();
}

// The reference `cpu` device only where its time is not far out of scale.
const groups: { group: string; task: Task; referenceCpu: boolean }[] = [
  { group: "spiral step (valueAndGrad + SGD), 300 examples", task: spiralAll, referenceCpu: true },
  { group: "spiral epoch (10 steps of batch 30)", task: spiralEpoch, referenceCpu: true },
  { group: "MLP 784-512-512-10 relu, SGD step, batch 128", task: mlpTask, referenceCpu: false },
];

for (const { group, task, referenceCpu } of groups) {
  const trainers: (readonly [string, Trainer])[] = [
    ["nabla (wasm, jit)", nablaTrainer(task, "wasm", true)],
    ["nabla (wasm)", nablaTrainer(task, "wasm", false)],
    ...(referenceCpu ? [["nabla (cpu)", nablaTrainer(task, "cpu", false)] as const] : []),
    ["tfjs (cpu)", tfTrainer(task)],
    ["jax-js (wasm, jit)", jaxTrainer(task)],
  ];
  // One call each first: jitted steps compile here, not in the timings, and every peer's first
  // loss shows that they train the same model from the same start.
  const losses = trainers.map(([name, fn]) => `${name} ${fn().toFixed(4)}`);
  console.log(`${group}: first losses ${losses.join(", ")}`);
  // Then each warms up alike, so that the engine's optimising compiler has seen every step (a
  // fast step takes some hundreds of calls to get there) before any is timed.
  for (const [, fn] of trainers) warmUp(fn);
  for (const [name, fn] of trainers) {
    Deno.bench({ name, group, baseline: name === "nabla (wasm, jit)" }, () => {
      fn();
    });
  }
}
