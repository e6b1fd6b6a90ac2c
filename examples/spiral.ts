/**
 * Classifies DeZero's three-arm spiral with a 2-10-3 sigmoid MLP trained by minibatch SGD,
 * then draws the decision regions, the data and the loss curve to `spiral.png`.
 *
 * Run: `deno run --allow-write examples/spiral.ts [--device wasm|cpu|webgpu]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import { PNG } from "pngjs";
import * as nb from "../mod.ts";
import { data, nn, optim, random } from "../mod.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: { device: { type: "string", default: nb.getDefaultDevice() } },
});
const device = args.device as nb.Device;
if (device !== "cpu" && device !== "wasm" && device !== "webgpu") {
  throw new TypeError(`--device must be wasm, cpu or webgpu, got ${device}`);
}

const epochs = 300;
const batchSize = 30;
const out = new URL("./spiral.png", import.meta.url);

await nb.setDevice(device);
const train = data.spiral({ train: true });
const test = data.spiral({ train: false });
const model = nn.mlp([2, 10, 3]);
const [initKey, dataKey] = random.split(random.key(0));
let params = model.init(initKey);
const opt = optim.sgd(1.0);
let state = opt.init(params);

type Params = typeof params;
const lossFn = (p: Params, x: nb.Tensor, t: nb.Tensor) =>
  nn.softmaxCrossEntropy(model.apply(p, x), t);
const step = nb.valueAndGrad(lossFn);

const start = performance.now();
const losses: number[] = [];
for (let epoch = 0; epoch < epochs; epoch++) {
  // The epoch's loss is summed where it is computed and read once: on a GPU every read waits
  // for the device, so a training loop reads as little as it can.
  let total = nb.zeros([]);
  let count = 0;
  for (const batch of data.batches(train, batchSize, { key: random.foldIn(dataKey, epoch) })) {
    const [loss, grads] = step(params, batch.x, batch.t);
    const [updates, next] = opt.update(grads, state);
    params = optim.applyUpdates(params, updates);
    state = next;
    total = total.add(loss.mul(batch.t.shape[0]));
    count += batch.t.shape[0];
  }
  losses.push((await total.data())[0] / count);
  if ((epoch + 1) % 30 === 0) {
    console.log(`epoch ${String(epoch + 1).padStart(3)}  loss ${losses[epoch].toFixed(4)}`);
  }
}
const seconds = (performance.now() - start) / 1000;
const accuracy = async (d: { x: nb.Tensor; t: nb.Tensor }) =>
  (await nn.accuracy(model.apply(params, d.x), d.t).data())[0];
const trainAcc = await accuracy(train);
const testAcc = await accuracy(test);

await drawPicture(params, losses);
console.log(
  `\ndone on ${device} in ${seconds.toFixed(1)} s: train loss ${losses[epochs - 1].toFixed(4)}, ` +
    `train accuracy ${(100 * trainAcc).toFixed(1)}%, test accuracy ${(100 * testAcc).toFixed(1)}%`,
);
console.log(`wrote ${out.pathname}`);

// Decision regions with the training points on the left, the loss curve on the right.
async function drawPicture(p: Params, curve: number[]) {
  const size = 400;
  const png = new PNG({ width: 2 * size, height: size });
  const put = (x: number, y: number, [r, g, b]: number[]) => {
    if (x < 0 || y < 0 || x >= png.width || y >= png.height) return;
    const i = 4 * (Math.round(y) * png.width + Math.round(x));
    png.data[i] = r;
    png.data[i + 1] = g;
    png.data[i + 2] = b;
    png.data[i + 3] = 255;
  };
  const light = [[255, 204, 204], [204, 255, 204], [204, 204, 255]];
  const dark = [[200, 0, 0], [0, 140, 0], [0, 0, 200]];
  const toPixel = (v: number) => ((v + 1.1) / 2.2) * size;
  // Classify the centre of every pixel of [-1.1, 1.1]² in one batch.
  const grid = new Float32Array(2 * size * size);
  for (let i = 0; i < size * size; i++) {
    grid[2 * i] = ((i % size) + 0.5) / size * 2.2 - 1.1;
    grid[2 * i + 1] = (Math.floor(i / size) + 0.5) / size * 2.2 - 1.1;
  }
  const xs = nb.tensor(grid, { shape: [size * size, 2] });
  const classes = await model.apply(p, xs).argmax({ axis: 1 }).data();
  for (let i = 0; i < size * size; i++) {
    put(i % size, size - 1 - Math.floor(i / size), light[classes[i]]);
  }
  const [px, pt] = await Promise.all([train.x.data(), train.t.data()]);
  for (let i = 0; i < pt.length; i++) {
    const cx = toPixel(px[2 * i]);
    const cy = size - 1 - toPixel(px[2 * i + 1]);
    for (let dx = -2; dx <= 2; dx++) {
      for (let dy = -2; dy <= 2; dy++) put(cx + dx, cy + dy, dark[pt[i]]);
    }
  }
  // Loss curve: white panel, axes, and one dot per epoch.
  for (let x = size; x < 2 * size; x++) for (let y = 0; y < size; y++) put(x, y, [255, 255, 255]);
  const top = Math.max(...curve);
  const margin = 30;
  for (let x = size + margin; x < 2 * size - 10; x++) put(x, size - margin, [0, 0, 0]);
  for (let y = 10; y < size - margin; y++) put(size + margin, y, [0, 0, 0]);
  curve.forEach((v, i) => {
    const x = size + margin + (i / (curve.length - 1)) * (size - margin - 10);
    const y = size - margin - (v / top) * (size - margin - 10);
    put(x, y, [0, 0, 180]);
    put(x, y + 1, [0, 0, 180]);
  });
  Deno.writeFileSync(out, PNG.sync.write(png));
}
