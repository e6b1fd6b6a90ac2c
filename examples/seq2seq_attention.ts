/**
 * Sequence-to-sequence learning with attention: rewrites human-written dates as ISO dates
 * (`--task dates`, the default) or adds numbers (`--task addition`), with an LSTM
 * encoder–decoder built from nabla's public API. Shows a progress bar per epoch and prints
 * the loss, the exact-match accuracy on held-out questions and timings; when training has
 * completed, saves the parameters (`--resume` continues from them) and draws the loss and
 * accuracy per epoch and the attention of three held-out examples to `examples/seq2seq.svg`.
 *
 * Run: `deno run --allow-read --allow-write examples/seq2seq_attention.ts`
 * (`--help` lists the flags; `--allow-read` is for `--resume` and `.png` pictures.)
 *
 * @module
 */

import cliProgress from "cli-progress";
import { fileURLToPath } from "node:url";
import * as nb from "../mod.ts";
import { data, io, nn, optim, random, type Tensor } from "../mod.ts";
import { choice, fail, int, parseFlags, path, toggle } from "./_cli.ts";
import {
  chart,
  colorLegend,
  figure,
  type Panel,
  Plot,
  preparePicture,
  writePicture,
} from "./_plot.ts";

const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));
const flags = parseFlags({
  about: "Trains an LSTM encoder–decoder (with attention) to rewrite dates or add numbers.",
  run: "deno run --allow-read --allow-write examples/seq2seq_attention.ts",
  flags: {
    task: choice(["dates", "addition"], "dates", "what to learn"),
    model: choice(["attention", "seq2seq"], "attention", "decoder with or without attention"),
    epochs: int(10, "passes over the training questions"),
    hidden: int(256, "width of the LSTM states"),
    batch: int(128, "questions per Adam step"),
    limit: int(50000, "questions generated (90% train, 10% held out)", { min: 20 }),
    seed: int(0, "seed of the data and the initial parameters", { min: 0 }),
    device: choice(["wasm", "cpu", "webgpu"], nb.getDefaultDevice(), "where to compute"),
    checkpoint: path(
      "",
      "parameters to save after training, .safetensors (default: examples/TASK_MODEL.safetensors)",
      [".safetensors"],
    ),
    resume: toggle("start from the parameters in the checkpoint"),
    out: path(
      here("seq2seq.svg"),
      "the picture to write: .svg, or .png",
      [".svg", ".png"],
    ),
  },
});
const checkpoint = flags.checkpoint || here(`${flags.task}_${flags.model}.safetensors`);
await nb.setDevice(flags.device).catch((e) => fail(`--device ${flags.device}: ${e.message}`));
await preparePicture(flags.out).catch((e) => fail(`--out ${flags.out}: ${e.message}`));
// Asked now, so that a missing permission shows before training rather than after it.
for (const path of [checkpoint, `${checkpoint}.partial`]) {
  const { state } = await Deno.permissions.request({ name: "write", path });
  if (state !== "granted") fail(`saving the checkpoint ${checkpoint} needs --allow-write`);
}

// ---- Data: questions reversed (an easier alignment for the encoder), answers start with `_`.
const corpus = flags.task === "dates"
  ? data.dates({ n: flags.limit, seed: flags.seed })
  : data.addition({ n: flags.limit, seed: flags.seed });
const { vocab } = corpus;
const reverse = (s: string) => [...s].reverse().join("");
const encodeSplit = (split: { questions: string[]; answers: string[] }) => {
  const x = vocab.encode(split.questions.map(reverse));
  const y = vocab.encode(split.answers);
  const [B, T] = y.shape;
  return { x, decoderIn: y.slice([0, 0], [B, T - 1]), decoderOut: y.slice([0, 1], [B, T - 1]) };
};
const train = encodeSplit(corpus.train);
const test = encodeSplit(corpus.test);
const startId = vocab.id("_");
const answerLength = test.decoderOut.shape[1];

// ---- Model and optimizer.
const model = nn.seq2seq({
  vocabSize: vocab.size,
  embedDim: 16,
  hiddenSize: flags.hidden,
  attention: flags.model === "attention",
});
type Params = nn.Seq2seqParams;
let params: Params = flags.resume ? await resumed() : model.init(random.key(flags.seed));
const opt = optim.chain(optim.clipByGlobalNorm(5), optim.adam(1e-3));
let state = opt.init(params);

const loss = (p: Params, x: Tensor, decoderIn: Tensor, decoderOut: Tensor) =>
  nn.softmaxCrossEntropy(model.apply(p, x, decoderIn).logits, decoderOut);
// One compiled training step (loss, gradient, clipping, Adam) per batch shape; the old
// parameters and optimizer state lend their memory to the new ones.
const step = nb.jit((p: Params, s: typeof state, x: Tensor, decIn: Tensor, decOut: Tensor) => {
  const [value, grads] = nb.valueAndGrad(loss)(p, x, decIn, decOut);
  const [updates, next] = opt.update(grads, s, p);
  return [optim.applyUpdates(p, updates), next, value] as const;
}, { donateArgnums: [0, 1] });
// Greedy decoding, compiled too (the start symbol and answer length are fixed).
const generate = nb.jit((p: Params, x: Tensor) => model.generate(p, x, startId, answerLength));

console.log(
  `${flags.task}: ${corpus.train.questions.length} training / ${corpus.test.questions.length} ` +
    `held-out questions, vocabulary ${vocab.size}; model ${flags.model}, hidden ${flags.hidden}, ` +
    `batch ${flags.batch}, ${flags.epochs} epochs on ${flags.device}`,
);

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
const numBatches = Math.ceil(train.x.shape[0] / flags.batch);
const keyEpochs = random.key(flags.seed + 1);
const history: { epoch: number; loss: number; accuracy: number }[] = [];
const start = performance.now();
for (let epoch = 1; epoch <= flags.epochs; epoch++) {
  console.log(`epoch ${epoch}/${flags.epochs}`);
  const t0 = performance.now();
  let total = 0;
  let count = 0;
  bar.start(numBatches, 0, { loss: "-" });
  const key = random.foldIn(keyEpochs, epoch);
  for (const b of data.batches(train, flags.batch, { key })) {
    let value: Tensor;
    [params, state, value] = step(params, state, b.x, b.decoderIn, b.decoderOut);
    total += ((await value.data())[0]) * b.x.shape[0];
    count += b.x.shape[0];
    bar.increment(1, { loss: (total / count).toFixed(4) });
  }
  bar.stop();
  const trainSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const { decoded, accuracy } = await evaluate(test, corpus.test.answers);
  const evalSeconds = (performance.now() - t1) / 1000;
  history.push({ epoch, loss: total / count, accuracy });
  console.log(
    `  loss ${(total / count).toFixed(4)}  held-out exact match ${(100 * accuracy).toFixed(2)}%  ` +
      `train ${trainSeconds.toFixed(1)} s  eval ${evalSeconds.toFixed(1)} s`,
  );
  for (const i of [0, 1, 2]) {
    const ok = decoded[i] === corpus.test.answers[i].slice(1);
    console.log(`  ${ok ? "✓" : "✗"} ${corpus.test.questions[i].trimEnd()} → ${decoded[i]}`);
  }
}
const minutes = (performance.now() - start) / 60_000;

// Saved only now, and through a file beside it that replaces it whole: an interrupted or failed
// run leaves the previous checkpoint as it was.
const partial = `${checkpoint}.partial`;
await io.save(partial, params)
  .then(() => Deno.rename(partial, checkpoint))
  .catch((e) => fail(`saving ${checkpoint}: ${e.message}`));
const [first, last] = [history[0], history.at(-1)!];
console.log(
  `\ntrained ${plural(flags.epochs, "epoch")} in ${minutes.toFixed(1)} min: ` +
    `loss ${first.loss.toFixed(4)} -> ${last.loss.toFixed(4)}, ` +
    `held-out exact match ${(100 * last.accuracy).toFixed(2)}%`,
);
console.log(`saved the parameters to ${checkpoint}`);

const rows: Panel[][] = [[curve("loss", "training loss (cross-entropy)"), curve("accuracy")]];
if (model.config.attention) rows.push(await attentionMaps(3));
const picture = figure(rows, {
  title: `${flags.task}: LSTM encoder–decoder${
    model.config.attention ? " with attention" : ""
  }, hidden ${flags.hidden}`,
  subtitle: `${plural(flags.epochs, "epoch")} on ${corpus.train.questions.length} questions; ` +
    `held-out exact match ${(100 * last.accuracy).toFixed(2)}%`,
});
await writePicture(flags.out, picture).catch((e) => fail(`--out ${flags.out}: ${e.message}`));
console.log(`wrote ${flags.out}`);

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

// The checkpoint's parameters, after checking that they fit the model the flags describe.
async function resumed(): Promise<Params> {
  const loaded = await io.load(checkpoint).catch((e) => {
    const why = e instanceof Deno.errors.NotCapable ? "it needs --allow-read" : e.message;
    return fail(`--resume: cannot read ${checkpoint}: ${why}`);
  });
  const want = shapes(model.init(random.key(0)));
  const got = shapes(loaded);
  for (const [name, shape] of want) {
    if (got.get(name) !== shape) {
      fail(
        `--resume: ${checkpoint} holds ${name} of shape ${got.get(name) ?? "(none)"}, ` +
          `the model wants ${shape}; pass the --task, --model and --hidden it was trained with`,
      );
    }
  }
  console.log(`resumed from ${checkpoint}`);
  return loaded as Params;
}

function shapes(tree: unknown, prefix = "", out = new Map<string, string>()) {
  if (tree instanceof nb.Tensor) out.set(prefix, `[${tree.shape.join(", ")}]`);
  else if (tree !== null && typeof tree === "object") {
    for (const [k, v] of Object.entries(tree)) shapes(v, prefix ? `${prefix}.${k}` : k, out);
  }
  return out;
}

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
    const { ids } = generate(params, x);
    decoded.push(...vocab.decode(await ids.to("cpu")));
  }
  const right = decoded.filter((d, i) => d === answers[i].slice(1)).length;
  return { decoded, accuracy: right / N };
}

function curve(key: "loss" | "accuracy", label = "held-out exact match (%)"): Panel {
  const y = key === "accuracy" ? (d: typeof last) => 100 * d.accuracy : key;
  // Whole epochs only: every one up to 12, otherwise Plot's choice.
  const epochTicks = flags.epochs <= 12 ? history.map((h) => h.epoch) : undefined;
  return chart({
    width: 420,
    height: 260,
    grid: true,
    x: {
      label: "epoch",
      domain: [1, Math.max(2, flags.epochs)],
      ticks: epochTicks,
      tickFormat: "d",
    },
    y: { label, domain: key === "accuracy" ? [0, 100] : undefined, zero: true },
    marks: [
      Plot.line(history, { x: "epoch", y, stroke: "#4e79a7", strokeWidth: 2 }),
      Plot.dot(history, { x: "epoch", y, fill: "#4e79a7" }),
      Plot.frame(),
    ],
  });
}

// Where each output character looked in the question, for the first `shown` held-out
// examples: questions in reading order, padding (the spaces after the question and after the
// answer) left out, and one colour scale over what is shown.
async function attentionMaps(shown: number): Promise<Panel[]> {
  const x = test.x.slice([0, 0], [shown, -1]);
  const { ids, weights } = generate(params, x);
  const w = await weights!.data();
  const outputs = vocab.decode(await ids.to("cpu"));
  const Tin = x.shape[1];
  const cells = corpus.test.questions.slice(0, shown).map((question, e) => {
    const input = question.trimEnd();
    const output = outputs[e].trimEnd();
    const rows: { example: number; i: number; j: number; weight: number }[] = [];
    for (let i = 0; i < output.length; i++) {
      for (let j = 0; j < input.length; j++) {
        // The encoder read the question reversed: its position Tin-1-j holds character j.
        rows.push({ example: e, i, j, weight: w[(e * answerLength + i) * Tin + (Tin - 1 - j)] });
      }
    }
    return { input, output, rows };
  });
  const color: Plot.ScaleOptions = {
    type: "quantize",
    domain: [0, Math.max(...cells.flatMap((c) => c.rows.map((r) => r.weight)))],
    n: 8,
    scheme: "blues",
    label: "attention weight",
  };
  const cell = 20;
  const maps = cells.map(({ input, output, rows }) =>
    chart({
      width: 60 + cell * input.length,
      height: 60 + cell * output.length,
      marginLeft: 40,
      marginBottom: 20,
      marginTop: 40,
      padding: 0,
      x: {
        domain: [...input].map((_, j) => j),
        tickFormat: (j: number) => input[j] === " " ? "␣" : input[j],
        tickSize: 0,
        label: "question →",
        axis: "top",
      },
      y: {
        domain: [...output].map((_, i) => i),
        tickFormat: (i: number) => output[i],
        tickSize: 0,
        label: "answer ↓",
      },
      color,
      marks: [Plot.cell(rows, { x: "j", y: "i", fill: "weight", inset: 0.5 })],
    })
  );
  return [...maps, colorLegend(color)];
}
