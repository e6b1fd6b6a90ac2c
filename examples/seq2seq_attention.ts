/**
 * Sequence-to-sequence learning with attention: rewrites human-written dates as ISO dates
 * (`--task dates`, the default) or adds numbers (`--task addition`), with an LSTM
 * encoder–decoder built from nabla's public API. Prints loss, exact-match test accuracy and
 * timings per epoch, draws the attention of a few test examples to `attention.svg`, and saves
 * the parameters (`--resume` continues from them).
 *
 * Run: `deno run -A examples/seq2seq_attention.ts [--task dates|addition]
 *   [--model attention|seq2seq] [--epochs 10] [--hidden 256] [--batch 128]
 *   [--device wasm|cpu|webgpu] [--limit N] [--resume]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import cliProgress from "cli-progress";
import * as nb from "../mod.ts";
import { data, io, nn, optim, random, type Tensor } from "../mod.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    task: { type: "string", default: "dates" },
    model: { type: "string", default: "attention" },
    epochs: { type: "string", default: "10" },
    hidden: { type: "string", default: "256" },
    batch: { type: "string", default: "128" },
    device: { type: "string", default: nb.getDefaultDevice() },
    limit: { type: "string" },
    resume: { type: "boolean", default: false },
    seed: { type: "string", default: "0" },
  },
});
if (!["dates", "addition"].includes(flags.task!)) {
  throw new Error(`--task must be dates or addition`);
}
if (!["attention", "seq2seq"].includes(flags.model!)) {
  throw new Error(`--model must be attention or seq2seq`);
}
const epochs = Number(flags.epochs);
const batchSize = Number(flags.batch);
const seed = Number(flags.seed);
await nb.setDevice(flags.device as nb.Device);

const here = new URL("./", import.meta.url);
const paramsPath = new URL(`${flags.task}_${flags.model}.safetensors`, here);
const picturePath = new URL("attention.svg", here);

// ---- Data: questions reversed (an easier alignment for the encoder), answers start with `_`.
const n = flags.limit ? Number(flags.limit) : 50000;
const corpus = flags.task === "dates" ? data.dates({ n, seed }) : data.addition({ n, seed });
const { vocab } = corpus;
const reverse = (s: string) => [...s].reverse().join("");
const encodeSplit = (split: { questions: string[]; answers: string[] }) => {
  const x = vocab.encode(split.questions.map(reverse));
  const y = vocab.encode(split.answers);
  const [B, T] = y.shape;
  return {
    x,
    decoderIn: y.slice([0, 0], [B, T - 1]),
    decoderOut: y.slice([0, 1], [B, T - 1]),
  };
};
const train = encodeSplit(corpus.train);
const test = encodeSplit(corpus.test);
const startId = vocab.id("_");
const answerLength = test.decoderOut.shape[1];
console.log(
  `${flags.task}: ${corpus.train.questions.length} train / ${corpus.test.questions.length} test examples, ` +
    `vocabulary ${vocab.size}, model ${flags.model}, hidden ${flags.hidden}, device ${nb.getDefaultDevice()}`,
);

// ---- Model and optimizer.
const model = nn.seq2seq({
  vocabSize: vocab.size,
  embedDim: 16,
  hiddenSize: Number(flags.hidden),
  attention: flags.model === "attention",
});
type Params = nn.Seq2seqParams;
let params: Params = flags.resume
  ? (await io.load(paramsPath)) as Params
  : model.init(random.key(seed));
if (flags.resume) console.log(`resumed from ${paramsPath.pathname}`);
const opt = optim.chain(optim.clipByGlobalNorm(5), optim.adam(1e-3));
let state = opt.init(params);

const loss = (p: Params, x: Tensor, decoderIn: Tensor, decoderOut: Tensor) =>
  nn.softmaxCrossEntropy(model.apply(p, x, decoderIn).logits, decoderOut);
const step = nb.valueAndGrad(loss);

// Greedy decoding of a split in chunks; returns the decoded answers and the exact-match rate.
async function evaluate(
  split: typeof test,
  answers: string[],
): Promise<{ decoded: string[]; accuracy: number }> {
  const decoded: string[] = [];
  const chunk = 1000;
  const N = split.x.shape[0];
  for (let start = 0; start < N; start += chunk) {
    const size = Math.min(chunk, N - start);
    const x = split.x.slice([start, 0], [size, -1]);
    const { ids } = model.generate(params, x, startId, answerLength);
    decoded.push(...vocab.decode(await ids.to("cpu")));
  }
  const right = decoded.filter((d, i) => d === answers[i].slice(1)).length;
  return { decoded, accuracy: right / N };
}

const bar = new cliProgress.SingleBar(
  {
    format: "  {bar} {percentage}% | {value}/{total} batches | loss {loss} | {duration}s",
    hideCursor: true,
    // Without a terminal (logs, CI) the bar still reports, as a line every 30 s.
    noTTYOutput: true,
    notTTYSchedule: 30_000,
  },
  cliProgress.Presets.shades_classic,
);
const numBatches = Math.ceil(train.x.shape[0] / batchSize);
const keyEpochs = random.key(seed + 1);
for (let epoch = 1; epoch <= epochs; epoch++) {
  console.log(`epoch ${epoch}/${epochs}`);
  const t0 = performance.now();
  let total = 0;
  let count = 0;
  bar.start(numBatches, 0, { loss: "-" });
  for (const b of data.batches(train, batchSize, { key: random.foldIn(keyEpochs, epoch) })) {
    const [value, grads] = step(params, b.x, b.decoderIn, b.decoderOut);
    const [updates, next] = opt.update(grads, state, params);
    params = optim.applyUpdates(params, updates);
    state = next;
    total += ((await value.data())[0]) * b.x.shape[0];
    count += b.x.shape[0];
    bar.increment(1, { loss: (total / count).toFixed(4) });
  }
  bar.stop();
  const trainSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const { decoded, accuracy } = await evaluate(test, corpus.test.answers);
  const evalSeconds = (performance.now() - t1) / 1000;
  console.log(
    `  loss ${(total / count).toFixed(4)}  test exact match ${(100 * accuracy).toFixed(2)}%  ` +
      `train ${trainSeconds.toFixed(1)} s  eval ${evalSeconds.toFixed(1)} s`,
  );
  for (const i of [0, 1, 2]) {
    const ok = decoded[i] === corpus.test.answers[i].slice(1);
    console.log(`  ${ok ? "✓" : "✗"} ${corpus.test.questions[i].trimEnd()} → ${decoded[i]}`);
  }
  await io.save(paramsPath, params);
}
console.log(`saved parameters to ${paramsPath.pathname}`);

// ---- Attention maps of a few test examples, as SVG heatmaps (darker: more attention).
if (model.config.attention) {
  const shown = 3;
  const x = test.x.slice([0, 0], [shown, -1]);
  const { ids, weights } = model.generate(params, x, startId, answerLength);
  const w = await weights!.data();
  const outputs = vocab.decode(await ids.to("cpu"));
  const inputs = corpus.test.questions.slice(0, shown);
  const cell = 14;
  const [Tout, Tin] = [answerLength, x.shape[1]];
  const panelW = 60 + Tin * cell;
  const panelH = 60 + Tout * cell;
  const parts: string[] = [];
  for (let e = 0; e < shown; e++) {
    const ox = e * (panelW + 20);
    parts.push(`<g transform="translate(${ox},0)">`);
    for (let i = 0; i < Tout; i++) {
      for (let j = 0; j < Tin; j++) {
        // Column j shows input character j; the encoder read the input reversed.
        const v = w[(e * Tout + i) * Tin + (Tin - 1 - j)];
        const shade = Math.round(255 * (1 - v));
        parts.push(
          `<rect x="${50 + j * cell}" y="${
            50 + i * cell
          }" width="${cell}" height="${cell}" fill="rgb(${shade},${shade},255)"/>`,
        );
      }
      parts.push(
        `<text x="40" y="${61 + i * cell}" text-anchor="end">${esc(outputs[e][i] ?? "")}</text>`,
      );
    }
    [...inputs[e]].forEach((ch, j) =>
      parts.push(
        `<text x="${57 + j * cell}" y="44" text-anchor="middle">${
          esc(ch === " " ? "·" : ch)
        }</text>`,
      )
    );
    parts.push(`<text x="50" y="16">input →, output ↓</text></g>`);
  }
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${shown * (panelW + 20)}" height="${panelH}" ` +
    `font-family="monospace" font-size="11">${parts.join("")}</svg>`;
  await Deno.writeTextFile(picturePath, svg);
  console.log(`wrote ${picturePath.pathname}`);
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
