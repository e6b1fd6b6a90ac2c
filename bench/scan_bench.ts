/**
 * Loops as one primitive, measured: what `scan` and `checkpoint` buy a jitted recurrent
 * network, in one run on one machine.
 *
 * 1. The jitted attention seq2seq training step (`valueAndGrad` of the loss, vocab 59, embed
 *    16, hidden 256, batch 128, question 29, answer 11) with `nn.seq2seq`, whose LSTMs are
 *    `scan`s, against the same model with its LSTMs unrolled into a JS loop (written here, as
 *    `nn.lstm` was before it ran on `scan`), on the same parameters and batch: the bench group
 *    `seq2seq step`, and printed before it, at encoder lengths 29 and 290 and each in a fresh
 *    process: staging and compiling alone (`lower`), then the first call.
 * 2. A 1000-step LSTM (hidden 256, batch 32, input 32) under `jit(valueAndGrad(...))`, with
 *    and without `checkpoint` per step: the bench group `lstm, 1000 steps`, and printed before
 *    it, the peak memory of one step, each configuration in a fresh subprocess: the process's
 *    peak resident set (`VmHWM` in `/proc/self/status`) over the step, and the wasm heap's
 *    size after it.
 *
 * Run: `deno bench -A -c bench/deno.json bench/scan_bench.ts`
 *
 * @module
 */

import { parseArgs } from "node:util";
import * as nb from "../mod.ts";
import { nn, random, type Tensor } from "../mod.ts";
import { wasmBackend } from "../lib/backends/wasm/mod.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    // internal, one subprocess each: "plain" or "checkpoint"; "scan:29", "unrolled:290", ...
    memory: { type: "string" },
    compile: { type: "string" },
  },
});

// ---- The 1000-step LSTM ----------------------------------------------------------------------

const [LSTM_T, LSTM_B, LSTM_D, LSTM_H] = [1000, 32, 32, 256];

function lstmStep(checkpoint: boolean) {
  const layer = nn.lstm(LSTM_D, LSTM_H, { checkpoint });
  const params = layer.init(random.key(0));
  const xs = random.normal(random.key(1), [LSTM_B, LSTM_T, LSTM_D]);
  const loss = (p: nn.LstmParams, x: Tensor) => layer.apply(p, x).hs.square().mean();
  const step = nb.jit(nb.valueAndGrad(loss));
  return () => {
    const [value, grads] = step(params, xs);
    const out = value.item();
    for (const g of nb.tree.leaves<Tensor>(grads)) g.dispose();
    return out;
  };
}

function peakRss(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

if (flags.memory !== undefined) {
  const run = lstmStep(flags.memory === "checkpoint");
  const before = peakRss();
  const loss = run();
  console.log(JSON.stringify({
    loss,
    peak: peakRss() - before,
    heap: wasmBackend.stats().memoryBytes,
  }));
  Deno.exit(0);
}

const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
console.log(`${navigator.hardwareConcurrency} cores, load average ${Deno.loadavg().join(" ")}`);

// ---- 1. seq2seq: scan against unrolled ----------------------------------------------------------

const [V, BATCH, T_ANSWER] = [59, 128, 11];
const model = nn.seq2seq({ vocabSize: V, embedDim: 16, hiddenSize: 256 });
const params = model.init(random.key(0));
type Params = nn.Seq2seqParams;

// nn.lstm's step, unrolled over time in JavaScript.
function unrolledLstm(p: nn.LstmParams, xs: Tensor, state?: nn.LstmState): nn.LstmOutput {
  const [B, T] = xs.shape;
  const H = p.wh.shape[0];
  const xw = xs.matmul(p.wx).add(p.b);
  let h = state?.h ?? nb.zeros([B, H]);
  let c = state?.c ?? nb.zeros([B, H]);
  const hs: Tensor[] = [];
  for (let t = 0; t < T; t++) {
    const a = nb.slice(xw, [0, t, 0], [B, 1, 4 * H]).reshape([B, 4 * H]).add(h.matmul(p.wh));
    const [f, g, i, o] = nb.split(a, 4, 1);
    c = f.sigmoid().mul(c).add(g.tanh().mul(i.sigmoid()));
    h = o.sigmoid().mul(c.tanh());
    hs.push(h);
  }
  return { hs: nb.stack(hs, 1), h, c };
}

// nn.seq2seq's teacher-forced pass with the unrolled LSTM.
function unrolledApply(p: Params, inputs: Tensor, decoderInputs: Tensor): Tensor {
  const embed = (e: nn.EmbeddingParams, ids: Tensor) => nb.take(e.table, ids, { axis: 0 });
  const enc = unrolledLstm(p.encoder.lstm, embed(p.encoder.embed, inputs));
  const dec = unrolledLstm(p.decoder.lstm, embed(p.decoder.embed, decoderInputs), {
    h: enc.h,
    c: nb.zerosLike(enc.c),
  });
  const { out: context } = nn.dotProductAttention(dec.hs, enc.hs, enc.hs, { scale: 1 });
  const both = nb.concat([context, dec.hs], -1);
  return both.matmul(p.decoder.out.w).add(p.decoder.out.b!);
}

const batch = (tIn: number) => ({
  x: random.randint(random.key(2), [BATCH, tIn], 0, V),
  decoderIn: random.randint(random.key(3), [BATCH, T_ANSWER], 0, V),
  decoderOut: random.randint(random.key(4), [BATCH, T_ANSWER], 0, V),
});
const losses = {
  scan: (p: Params, x: Tensor, di: Tensor, dout: Tensor) =>
    nn.softmaxCrossEntropy(model.apply(p, x, di).logits, dout),
  unrolled: (p: Params, x: Tensor, di: Tensor, dout: Tensor) =>
    nn.softmaxCrossEntropy(unrolledApply(p, x, di), dout),
};

const seconds = (f: () => unknown) => {
  const t0 = performance.now();
  f();
  return (performance.now() - t0) / 1000;
};
const stepOf = (kind: keyof typeof losses) => {
  const step = nb.jit(nb.valueAndGrad(losses[kind]));
  const run = (b: ReturnType<typeof batch>) => {
    const [value, grads] = step(params, b.x, b.decoderIn, b.decoderOut);
    const out = value.item();
    for (const g of nb.tree.leaves<Tensor>(grads)) g.dispose();
    return out;
  };
  const lower = (b: ReturnType<typeof batch>) => step.lower(params, b.x, b.decoderIn, b.decoderOut);
  return Object.assign(run, { lower });
};

if (flags.compile !== undefined) {
  // In a fresh process: staging and compiling alone (`lower`), then the first call.
  const [kind, tIn] = flags.compile.split(":");
  const b = batch(Number(tIn));
  const step = stepOf(kind as keyof typeof losses);
  const lower = seconds(() => step.lower(b));
  const first = seconds(() => step(b));
  console.log(JSON.stringify({ lower, first }));
  Deno.exit(0);
}

// The last line a run of this file with `flags` prints, as JSON, from a fresh process.
async function child<T>(...flags: string[]): Promise<T> {
  const self = new URL(import.meta.url).pathname;
  const config = new URL("./deno.json", import.meta.url).pathname;
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "-c", config, self, ...flags],
  }).output();
  if (code !== 0) throw new Error(new TextDecoder().decode(stderr));
  return JSON.parse(new TextDecoder().decode(stdout).trim().split("\n").at(-1)!) as T;
}

const b29 = batch(29);
type Compile = { lower: number; first: number };
const compiles: Record<string, Compile[]> = { scan: [], unrolled: [] };
for (const kind of ["scan", "unrolled"] as const) {
  for (const tIn of [29, 290]) {
    compiles[kind].push(await child<Compile>("--compile", `${kind}:${tIn}`));
  }
}
const scanStep = stepOf("scan");
const unrolledStep = stepOf("unrolled");
const [lossScan, lossUnrolled] = [scanStep(b29), unrolledStep(b29)];

console.log("\njitted seq2seq training step (batch 128, hidden 256, encoder 29, answer 11)");
console.log(`  loss: scan ${lossScan.toFixed(6)}, unrolled ${lossUnrolled.toFixed(6)}`);
for (const kind of ["scan", "unrolled"] as const) {
  const [a, b] = compiles[kind];
  console.log(
    `  ${kind}, encoder 29 → 290: staging and compiling ${a.lower.toFixed(2)} → ` +
      `${b.lower.toFixed(2)} s (${(b.lower / a.lower).toFixed(2)}×); first call ` +
      `${a.first.toFixed(2)} → ${b.first.toFixed(2)} s (${(b.first / a.first).toFixed(2)}×)`,
  );
}
const slow = { n: 5, warmup: 1 };
Deno.bench({
  name: "scan",
  group: "seq2seq step",
  baseline: true,
  ...slow,
  fn: () => {
    scanStep(b29);
  },
});
Deno.bench({
  name: "unrolled",
  group: "seq2seq step",
  ...slow,
  fn: () => {
    unrolledStep(b29);
  },
});

// ---- 2. LSTM 1000 steps: checkpoint against plain ------------------------------------------

const memoryOf = (kind: "plain" | "checkpoint") =>
  child<{ loss: number; peak: number; heap: number }>("--memory", kind);
const memPlain = await memoryOf("plain");
const memCheckpoint = await memoryOf("checkpoint");
const plainRun = lstmStep(false);
const checkpointRun = lstmStep(true);

console.log(`\n1000-step LSTM under jit(valueAndGrad) (batch ${LSTM_B}, hidden ${LSTM_H})`);
console.log(
  `  loss: plain ${memPlain.loss.toFixed(6)}, checkpoint ${memCheckpoint.loss.toFixed(6)}`,
);
console.log(
  `  peak memory of a step: plain ${mb(memPlain.peak)} (wasm heap ${mb(memPlain.heap)}), ` +
    `checkpoint ${mb(memCheckpoint.peak)} (wasm heap ${mb(memCheckpoint.heap)}): ` +
    `${(100 * memCheckpoint.peak / memPlain.peak).toFixed(0)}% of plain`,
);
const lstmGroup = { group: "lstm, 1000 steps", n: 3, warmup: 1 };
Deno.bench({
  name: "plain",
  baseline: true,
  ...lstmGroup,
  fn: () => {
    plainRun();
  },
});
Deno.bench({
  name: "checkpoint per step",
  ...lstmGroup,
  fn: () => {
    checkpointRun();
  },
});
