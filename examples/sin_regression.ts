/**
 * Fits y = sin(2πx) + noise with a 1-10-1 sigmoid MLP by full-batch gradient descent, prints
 * the loss as it goes, and draws the data, the fitted curve and the loss curve to
 * `examples/sine.svg`.
 *
 * Run: `deno run --allow-write examples/sin_regression.ts`
 * (`--help` lists the flags; a `.png` picture also needs `--allow-read`, for a font.)
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import * as nb from "../mod.ts";
import { data, nn, optim, random } from "../mod.ts";
import { choice, fail, int, parseFlags, path, positive } from "./_cli.ts";
import { chart, figure, Plot, preparePicture, writePicture } from "./_plot.ts";

const flags = parseFlags({
  about: "Fits a noisy sine with a small MLP by gradient descent and draws the fit.",
  run: "deno run --allow-write examples/sin_regression.ts",
  flags: {
    iterations: int(10000, "gradient-descent steps on all 100 points"),
    lr: positive(0.2, "learning rate"),
    hidden: int(10, "width of the hidden layer"),
    device: choice(["wasm", "cpu", "webgpu"], nb.getDefaultDevice(), "where to compute"),
    out: path(
      fileURLToPath(new URL("sine.svg", import.meta.url)),
      "the picture to write: .svg, or .png (needs --allow-read)",
      [".svg", ".png"],
    ),
  },
});
await nb.setDevice(flags.device).catch((e) => fail(`--device ${flags.device}: ${e.message}`));
await preparePicture(flags.out).catch((e) => fail(`--out ${flags.out}: ${e.message}`));

// The noise U[0, 1) has mean 1/2 and variance 1/12 ≈ 0.083, the loss a perfect fit would
// reach; this sample is the classic setting's (about 0.8 at the start, below 0.08 at the end).
const { x, y } = data.sine({ seed: 2 });
const model = nn.mlp([1, flags.hidden, 1]);
let params = model.init(random.key(1));
const opt = optim.sgd(flags.lr);
let state = opt.init(params);

const loss = (p: typeof params) => nn.meanSquaredError(model.apply(p, x), y);
// One compiled step: loss, gradient and update as one program; the old parameters and state
// lend their memory to the new ones.
const step = nb.jit((p: typeof params, s: typeof state) => {
  const [value, grads] = nb.valueAndGrad(loss)(p);
  const [updates, next] = opt.update(grads, s);
  return [optim.applyUpdates(p, updates), next, value] as const;
}, { donateArgnums: [0, 1] });

console.log(
  `sine: ${x.shape[0]} points, MLP 1-${flags.hidden}-1, gradient descent lr ${flags.lr}, ` +
    `${flags.iterations} iterations on ${flags.device}`,
);
const start = performance.now();
const losses: number[] = [];
const every = Math.max(1, Math.round(flags.iterations / 10));
// The losses are read in one go at each progress line: on a GPU every read waits for the
// device, which would cost more than the step itself.
let pending: nb.Tensor[] = [];
for (let i = 1; i <= flags.iterations; i++) {
  let value: nb.Tensor;
  [params, state, value] = step(params, state);
  pending.push(value);
  if (i % every === 0 || i === flags.iterations) {
    using read = nb.stack(pending);
    losses.push(...await read.data());
    pending.forEach((v) => v.dispose());
    pending = [];
    const width = String(flags.iterations).length;
    console.log(
      `iteration ${String(i).padStart(width)}/${flags.iterations}  loss ${
        losses.at(-1)!.toFixed(4)
      }`,
    );
  }
}
const seconds = (performance.now() - start) / 1000;
console.log(
  `\ntrained in ${seconds.toFixed(1)} s: mean squared error ${losses[0].toFixed(4)} -> ` +
    `${losses.at(-1)!.toFixed(4)} (the noise alone gives 1/12 ≈ 0.083)`,
);

const picture = figure([[await fitPanel(), lossPanel()]], {
  title: `Sine regression: MLP 1-${flags.hidden}-1, ${flags.iterations} steps of gradient descent`,
  subtitle: `mean squared error ${losses.at(-1)!.toFixed(4)}; the noise U[0, 1) alone gives 0.083`,
});
await writePicture(flags.out, picture).catch((e) => fail(`--out ${flags.out}: ${e.message}`));
console.log(`wrote ${flags.out}`);

// The data, the model's curve on a fine grid, and the curve the noise scatters around.
async function fitPanel() {
  const [xs, ys] = [await x.data(), await y.data()];
  const points = Array.from(xs, (xi, i) => ({ x: xi, y: ys[i] }));
  const grid = nb.linspace(0, 1, 200).reshape([200, 1]);
  const [gx, gy] = [await grid.data(), await model.apply(params, grid).data()];
  const fit = Array.from(gx, (xi, i) => ({ x: xi, y: gy[i] }));
  const truth = Array.from(gx, (xi) => ({ x: xi, y: Math.sin(2 * Math.PI * xi) + 0.5 }));
  // Each curve is named beside it, on a white halo so that dots and lines do not cross the words.
  const label = (row: { x: number; y: number }, text: string, fill: string, dy: number) =>
    Plot.text([row], {
      x: "x",
      y: "y",
      text: () => text,
      fill,
      dy,
      fontSize: 12,
      fontWeight: "bold",
      stroke: "white",
      strokeWidth: 4,
    });
  return chart({
    width: 460,
    height: 400,
    grid: true,
    x: { label: "x", domain: [0, 1] },
    y: { label: "y", nice: true },
    marks: [
      Plot.dot(points, { x: "x", y: "y", r: 3, fill: "#bab0ac", stroke: "#79706e" }),
      Plot.line(truth, { x: "x", y: "y", stroke: "#59a14f", strokeWidth: 1.5, strokeDasharray: 5 }),
      Plot.line(fit, { x: "x", y: "y", stroke: "#e15759", strokeWidth: 2.5 }),
      label(truth[50], "sin(2πx) + ½", "#59a14f", -16),
      label(fit[150], "model", "#e15759", 18),
      Plot.frame(),
    ],
  });
}

// Every tenth step is enough for the curve's shape.
function lossPanel() {
  const points = losses.flatMap((loss, i) => i % 10 === 0 ? [{ step: i + 1, loss }] : []);
  return chart({
    width: 420,
    height: 400,
    grid: true,
    x: { label: "iteration", domain: [0, flags.iterations] },
    y: { label: "mean squared error", domain: [0, Math.max(...losses) * 1.05] },
    marks: [
      Plot.ruleY([1 / 12], { stroke: "#79706e", strokeDasharray: 4 }),
      Plot.text([1 / 12], {
        y: (d) => d,
        x: flags.iterations / 5,
        text: () => "noise variance 1/12",
        textAnchor: "start",
        dy: -8,
        fill: "#79706e",
        stroke: "white",
        strokeWidth: 4,
      }),
      Plot.lineY(points, { x: "step", y: "loss", stroke: "#4e79a7", strokeWidth: 2 }),
      Plot.frame(),
    ],
  });
}
