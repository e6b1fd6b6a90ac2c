/**
 * Training speed on the spiral task, nabla on its `wasm` and reference `cpu` devices beside
 * TensorFlow.js (CPU backend) and jax-js (Wasm, jitted): one epoch of minibatch SGD (10 steps of batch 30 through a 2-10-3 sigmoid MLP), and
 * one `valueAndGrad` of the MLP on the full 300 examples. Every step reads its loss back, so
 * the timings include completion.
 *
 * Run: `deno task bench bench/train_bench.ts`
 *
 * @module
 */

import * as jax from "@jax-js/jax";
// The union package: tfjs-core with its gradients registered and tfjs-backend-cpu.
import * as tf from "@tensorflow/tfjs";
import * as nb from "../mod.ts";

const LR = 1.0;
const BATCH = 30;
const SIZES = [2, 10, 3];

const spiral = nb.data.spiral();
const xData = Float32Array.from(spiral.x.dataSync());
const tData = Int32Array.from(spiral.t.dataSync());
const N = tData.length;
const oneHot = new Float32Array(N * 3);
tData.forEach((c, i) => (oneHot[3 * i + c] = 1));
const batches = Array.from({ length: N / BATCH }, (_, b) => [b * BATCH, (b + 1) * BATCH]);
const init = nb.nn.mlp(SIZES).init(nb.random.key(0));
const initArrays = init.map((l) => ({
  w: Float32Array.from(l.w.dataSync()),
  b: Float32Array.from(l.b!.dataSync()),
}));

// ---- nabla ----------------------------------------------------------------------------------

const model = nb.nn.mlp(SIZES);
type Params = typeof init;
const nbLoss = (p: Params, x: nb.Tensor, t: nb.Tensor) =>
  nb.nn.softmaxCrossEntropy(model.apply(p, x), t);
const nbStep = nb.valueAndGrad(nbLoss);
const nbBatches = batches.map(([a, b]) => ({
  x: spiral.x.slice([a, 0], [b - a, 2]),
  t: spiral.t.slice([a], [b - a]),
}));

async function toDevice<T>(tree: T, device: nb.Device): Promise<T> {
  const [leaves, def] = nb.tree.flatten<nb.Tensor>(tree);
  return nb.tree.unflatten(def, await Promise.all(leaves.map((l) => l.to(device))));
}

// nabla on each CPU device: `wasm` (the default) and the reference `cpu`.
const nabla = await Promise.all((["wasm", "cpu"] as const).map(async (device) => {
  let params: Params = await toDevice(init, device);
  const data = await toDevice(nbBatches, device);
  const all = await toDevice({ x: spiral.x, t: spiral.t }, device);
  return {
    device,
    epoch(): void {
      for (const { x, t } of data) {
        const [loss, grads] = nbStep(params, x, t);
        params = nb.tree.map((p: nb.Tensor, g: nb.Tensor) => p.sub(g.mul(LR)), params, grads);
        loss.item();
      }
    },
    valueAndGrad(): void {
      const [loss, grads] = nbStep(params, all.x, all.t);
      loss.item();
      grads[0].w.dataSync();
    },
  };
}));

// ---- TensorFlow.js (tfjs-backend-cpu) -------------------------------------------------------

await tf.setBackend("cpu");
const tfParams = initArrays.map((l, i) => ({
  w: tf.variable(tf.tensor2d(l.w, [SIZES[i], SIZES[i + 1]])),
  b: tf.variable(tf.tensor1d(l.b)),
}));
const tfX = tf.tensor2d(xData, [N, 2]);
const tfT = tf.tensor2d(oneHot, [N, 3]);
const tfBatches = batches.map(([a, b]) => ({
  x: tf.slice(tfX, [a, 0], [b - a, 2]),
  t: tf.slice(tfT, [a, 0], [b - a, 3]),
}));
const tfVars = tfParams.flatMap((l) => [l.w, l.b]);

function tfLoss(x: tf.Tensor2D, t: tf.Tensor2D): tf.Scalar {
  let h: tf.Tensor2D = x;
  tfParams.forEach((l, i) => {
    const y = tf.add(tf.matMul(h, l.w), l.b) as tf.Tensor2D;
    h = i < tfParams.length - 1 ? tf.sigmoid(y) : y;
  });
  return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(h), t), 1)));
}

function tfTrainStep(x: tf.Tensor2D, t: tf.Tensor2D): number {
  return tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => tfLoss(x, t), tfVars);
    for (const v of tfVars) v.assign(tf.sub(v, tf.mul(grads[v.name], LR)));
    return value.dataSync()[0];
  });
}

// ---- jax-js (Wasm, jitted) ------------------------------------------------------------------

const np = jax.numpy;
type JaxParams = { w: jax.Array; b: jax.Array }[];
let jaxParams: JaxParams = initArrays.map((l, i) => ({
  w: np.array(l.w).reshape([SIZES[i], SIZES[i + 1]]),
  b: np.array(l.b),
}));
const jaxBatches = batches.map(([a, b]) => ({
  x: np.array(xData.slice(2 * a, 2 * b)).reshape([b - a, 2]),
  t: np.array(oneHot.slice(3 * a, 3 * b)).reshape([b - a, 3]),
}));
const jaxX = np.array(xData).reshape([N, 2]);
const jaxT = np.array(oneHot).reshape([N, 3]);

function jaxLoss(p: JaxParams, x: jax.Array, t: jax.Array): jax.Array {
  const count = t.shape[0];
  let h = x;
  p.forEach((l, i) => {
    const y = np.matmul(h, l.w).add(l.b);
    h = i < p.length - 1 ? jax.nn.sigmoid(y) : y;
  });
  return jax.nn.logSoftmax(h, -1).mul(t).sum().mul(-1 / count);
}
const jaxStep = jax.jit(jax.valueAndGrad(jaxLoss));

function jaxTrainStep(x: jax.Array, t: jax.Array): number {
  const [loss, grads] = jaxStep(jax.tree.ref(jaxParams), x.ref, t.ref) as [jax.Array, JaxParams];
  jaxParams = jax.tree.map(
    (p: jax.Array, g: jax.Array) => p.sub(g.mul(LR)),
    jaxParams,
    grads,
  ) as JaxParams;
  return loss.dataSync()[0];
}

// ---- The benchmarks -------------------------------------------------------------------------

for (const n of nabla) {
  Deno.bench(
    { name: `nabla (${n.device})`, group: "spiral epoch", baseline: n.device === "wasm" },
    n.epoch,
  );
}
Deno.bench({ name: "tfjs (cpu)", group: "spiral epoch" }, () => {
  for (const b of tfBatches) tfTrainStep(b.x as tf.Tensor2D, b.t as tf.Tensor2D);
});
Deno.bench({ name: "jax-js (wasm, jit)", group: "spiral epoch" }, () => {
  for (const b of jaxBatches) jaxTrainStep(b.x, b.t);
});

for (const n of nabla) {
  Deno.bench({
    name: `nabla (${n.device})`,
    group: "mlp valueAndGrad, 300 examples",
    baseline: n.device === "wasm",
  }, n.valueAndGrad);
}
Deno.bench({ name: "tfjs (cpu)", group: "mlp valueAndGrad, 300 examples" }, () => {
  tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => tfLoss(tfX, tfT), tfVars);
    value.dataSync();
    grads[tfVars[0].name].dataSync();
  });
});
Deno.bench({ name: "jax-js (wasm, jit)", group: "mlp valueAndGrad, 300 examples" }, () => {
  const [loss, grads] = jaxStep(jax.tree.ref(jaxParams), jaxX.ref, jaxT.ref) as [
    jax.Array,
    JaxParams,
  ];
  // Reading an array consumes it (jax-js's ownership rule); release the rest.
  loss.dataSync();
  grads[0].w.dataSync();
  grads[0].b.dispose();
  jax.tree.dispose(grads.slice(1));
});
