/**
 * Classifies DeZero's three-arm spiral with a 2-10-3 sigmoid MLP trained by minibatch SGD,
 * prints the loss as it trains and the accuracy at the end, and draws the decision regions with
 * the training points and the loss curve to `examples/spiral.svg`.
 *
 * Run: `deno run --allow-write examples/spiral.ts`
 * (`--help` lists the flags; a `.png` picture also needs `--allow-read`, for a font.)
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import * as nb from "../mod.ts";
import { data, nn, optim, random } from "../mod.ts";
import { choice, fail, int, parseFlags, path, positive } from "./_cli.ts";
import { chart, colorLegend, figure, Plot, preparePicture, writePicture } from "./_plot.ts";

const flags = parseFlags({
  about: "Trains a 2-10-3 MLP on the three-arm spiral and draws its decision regions.",
  run: "deno run --allow-write examples/spiral.ts",
  flags: {
    epochs: int(300, "passes over the 300 training points"),
    batch: int(30, "examples per SGD step"),
    lr: positive(1, "SGD learning rate"),
    hidden: int(10, "width of the hidden layer"),
    device: choice(["wasm", "cpu", "webgpu"], nb.getDefaultDevice(), "where to compute"),
    out: path(
      fileURLToPath(new URL("spiral.svg", import.meta.url)),
      "the picture to write: .svg, or .png (needs --allow-read)",
      [".svg", ".png"],
    ),
  },
});
await nb.setDevice(flags.device).catch((e) => fail(`--device ${flags.device}: ${e.message}`));
await preparePicture(flags.out).catch((e) => fail(`--out ${flags.out}: ${e.message}`));

const train = data.spiral({ train: true });
const test = data.spiral({ train: false });
const model = nn.mlp([2, flags.hidden, 3]);
const [initKey, dataKey] = random.split(random.key(0));
let params = model.init(initKey);
const opt = optim.sgd(flags.lr);
let state = opt.init(params);

type Params = typeof params;
const lossFn = (p: Params, x: nb.Tensor, t: nb.Tensor) =>
  nn.softmaxCrossEntropy(model.apply(p, x), t);
// One training step, compiled: loss, gradient and update run as one program of fused kernels,
// and the old parameters and optimizer state lend their memory to the new ones.
const step = nb.jit((p: Params, s: typeof state, x: nb.Tensor, t: nb.Tensor) => {
  const [loss, grads] = nb.valueAndGrad(lossFn)(p, x, t);
  const [updates, next] = opt.update(grads, s);
  return [optim.applyUpdates(p, updates), next, loss] as const;
}, { donateArgnums: [0, 1] });

console.log(
  `spiral: ${train.t.shape[0]} training points, MLP 2-${flags.hidden}-3, ` +
    `SGD lr ${flags.lr}, batch ${flags.batch}, ${flags.epochs} epochs on ${flags.device}`,
);
const start = performance.now();
const losses: number[] = [];
const every = Math.max(1, Math.round(flags.epochs / 10));
for (let epoch = 1; epoch <= flags.epochs; epoch++) {
  // The epoch's loss is summed where it is computed and read once: on a GPU every read waits
  // for the device, so a training loop reads as little as it can.
  let total = nb.zeros([]);
  let count = 0;
  const key = random.foldIn(dataKey, epoch);
  for (const batch of data.batches(train, flags.batch, { key })) {
    let loss: nb.Tensor;
    [params, state, loss] = step(params, state, batch.x, batch.t);
    total = total.add(loss.mul(batch.t.shape[0]));
    count += batch.t.shape[0];
  }
  losses.push((await total.data())[0] / count);
  if (epoch % every === 0 || epoch === flags.epochs) {
    const width = String(flags.epochs).length;
    console.log(
      `epoch ${String(epoch).padStart(width)}/${flags.epochs}  loss ${losses.at(-1)!.toFixed(4)}`,
    );
  }
}
const seconds = (performance.now() - start) / 1000;
const accuracy = async (d: data.Labeled) =>
  (await nn.accuracy(model.apply(params, d.x), d.t).data())[0];
const [trainAcc, testAcc] = [await accuracy(train), await accuracy(test)];
const percent = (v: number) => `${(100 * v).toFixed(1)}%`;
console.log(
  `\ntrained in ${seconds.toFixed(1)} s: loss ${losses[0].toFixed(4)} -> ` +
    `${losses.at(-1)!.toFixed(4)}, accuracy ${percent(trainAcc)} on the training points, ` +
    `${percent(testAcc)} on ${test.t.shape[0]} held-out points`,
);

// One colour per class for the points, and a pale tint of it for the predicted regions.
const COLORS = ["#4e79a7", "#f28e2b", "#59a14f"];
const TINTS = ["#cad7e5", "#fbddbf", "#cde3ca"];

const classes = colorLegend({
  type: "ordinal",
  domain: ["class 0", "class 1", "class 2"],
  range: COLORS,
  label: "class of the training points; shading: the class the model predicts",
}, { width: 420 });
const picture = figure([[classes], [await decisionRegions(), lossCurve()]], {
  title: `Spiral: MLP 2-${flags.hidden}-3, ${flags.epochs} epochs of SGD`,
  subtitle: `accuracy ${percent(trainAcc)} on the training points, ${percent(testAcc)} held out`,
});
await writePicture(flags.out, picture).catch((e) => fail(`--out ${flags.out}: ${e.message}`));
console.log(`wrote ${flags.out}`);

// The class predicted at every cell of a grid over the data, as runs of equal cells per row
// (a few hundred rectangles instead of one per cell), with the training points on top.
async function decisionRegions() {
  const [lo, hi, n] = [-1.1, 1.1, 160];
  const cell = (hi - lo) / n;
  const grid = new Float32Array(2 * n * n);
  for (let i = 0; i < n * n; i++) {
    grid[2 * i] = lo + ((i % n) + 0.5) * cell;
    grid[2 * i + 1] = lo + (Math.floor(i / n) + 0.5) * cell;
  }
  const points = nb.tensor(grid, { shape: [n * n, 2] });
  const classes = await model.apply(params, points).argmax({ axis: 1 }).data();
  const runs: { x1: number; x2: number; y1: number; y2: number; label: number }[] = [];
  for (let row = 0; row < n; row++) {
    for (let col = 0; col < n;) {
      const label = classes[row * n + col];
      let end = col + 1;
      while (end < n && classes[row * n + end] === label) end++;
      const y1 = lo + row * cell;
      runs.push({ x1: lo + col * cell, x2: lo + end * cell, y1, y2: y1 + cell, label });
      col = end;
    }
  }
  const [xs, ts] = [await train.x.data(), await train.t.data()];
  const dots = Array.from(ts, (label, i) => ({ x: xs[2 * i], y: xs[2 * i + 1], label }));
  return chart({
    width: 420,
    height: 420,
    x: { domain: [lo, hi], label: "x₁" },
    y: { domain: [lo, hi], label: "x₂" },
    color: { type: "ordinal", domain: [0, 1, 2], range: COLORS },
    marks: [
      // Opaque pale tints, each rectangle a hair larger than its cell, so that no seams show.
      ...TINTS.map((fill, label) =>
        Plot.rect(runs.filter((r) => r.label === label), {
          x1: "x1",
          x2: "x2",
          y1: "y1",
          y2: "y2",
          fill,
          inset: -0.3,
        })
      ),
      Plot.gridX({ strokeOpacity: 0.15 }),
      Plot.gridY({ strokeOpacity: 0.15 }),
      Plot.dot(dots, { x: "x", y: "y", fill: "label", stroke: "white", strokeWidth: 0.7, r: 3.5 }),
      Plot.frame(),
    ],
  });
}

function lossCurve() {
  const points = losses.map((loss, i) => ({ epoch: i + 1, loss }));
  const last = points.at(-1)!;
  return chart({
    width: 420,
    height: 420,
    grid: true,
    marginRight: 30,
    x: { label: "epoch", domain: [0, flags.epochs] },
    y: { label: "training loss (cross-entropy)", domain: [0, Math.max(...losses) * 1.05] },
    marks: [
      Plot.lineY(points, { x: "epoch", y: "loss", stroke: COLORS[0], strokeWidth: 2 }),
      Plot.dot([last], { x: "epoch", y: "loss", fill: COLORS[0] }),
      Plot.text([last], {
        x: "epoch",
        y: "loss",
        text: (d) => d.loss.toFixed(3),
        dx: -4,
        dy: -12,
        textAnchor: "end",
      }),
      Plot.frame(),
    ],
  });
}
