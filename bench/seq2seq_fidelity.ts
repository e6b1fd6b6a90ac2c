/**
 * Fidelity of `nn.seq2seq` to the book's NumPy attention seq2seq (`bench/numpy_seq2seq.py`):
 * both start from the same weights, take the same batches and the same optimizer steps
 * (clipping by global norm 5, Adam 1e-3), and after each step the loss, every gradient leaf
 * (before clipping) and every parameter are compared. Prints one line per step and the first
 * step and leaf where the two part.
 *
 * By default both sides run optax's optimizer arithmetic, nabla's `optim.clipByGlobalNorm`
 * and `optim.adam`. `--optimizer book` runs the book's own on both sides (nabla's through
 * `bench/_book_optimizer.ts`: eps inside the bias-corrected step size), and
 * `--reference-optimizer book` on the reference's side only, to show how far that alone moves
 * the states.
 *
 * Run: `deno run -A bench/seq2seq_fidelity.ts [--steps 50] [--data dates|random]
 *   [--hidden 256] [--embed 16] [--batch 128] [--dtype float64|float32]
 *   [--device cpu|wasm] [--optimizer optax|book] [--reference-optimizer optax|book]
 *   [--tolerance 1e-9]`
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
} from "./_fidelity.ts";
import { bookOptimizer } from "./_book_optimizer.ts";

/** Whose optimizer arithmetic: optax's (nabla's `optim`) or the book's. */
export type Arithmetic = "optax" | "book";

/** The sizes, data and arithmetic of a fidelity run. */
export interface Seq2seqFidelityOptions {
  /** Steps to take and compare. */
  steps: number;
  /** `"dates"`: batches of `data.dates` (reversed questions); `"random"`: random ids. */
  data: "dates" | "random";
  /** Examples of `data.dates` to draw batches from (default 2000). */
  examples?: number;
  /** Vocabulary of random ids (default 59, the book's); `data.dates` has its own. */
  vocabSize?: number;
  /** Question and answer lengths of random ids (default 29 and 11, the book's). */
  inputLength?: number;
  answerLength?: number;
  embedDim: number;
  hiddenSize: number;
  batchSize: number;
  dtype: "float32" | "float64";
  device: nb.Device;
  /** The optimizer arithmetic: optax's (nabla's `optim`, the default) or the book's. */
  optimizer?: Arithmetic;
  /** The reference's optimizer arithmetic, when it should differ from nabla's. */
  referenceOptimizer?: Arithmetic;
  /** Seed of the weights and batches (default 0). */
  seed?: number;
  /** Called with each step's comparison as it is made. */
  onStep?: (s: StepComparison) => void;
}

/** What a run found. */
export interface Seq2seqFidelityReport {
  /** One comparison per step. */
  steps: StepComparison[];
  /** The largest error over all steps and leaves. */
  worst: LeafError;
}

const reference = new URL("./numpy_seq2seq.py", import.meta.url);

/** `[S, B, T]` batches of question ids and answer ids (the answers start with `_`). */
function makeBatches(
  o: Seq2seqFidelityOptions,
): { x: Tensor; t: Tensor; vocabSize: number } {
  const seed = o.seed ?? 0;
  if (o.data === "random") {
    const vocabSize = o.vocabSize ?? 59;
    const [kx, kt] = random.split(random.key(seed + 1));
    const x = random.randint(
      kx,
      [o.steps, o.batchSize, o.inputLength ?? 29],
      0,
      vocabSize,
    );
    const t = random.randint(
      kt,
      [o.steps, o.batchSize, o.answerLength ?? 11],
      0,
      vocabSize,
    );
    return { x, t, vocabSize };
  }
  const corpus = data.dates({ n: o.examples ?? 2000, seed });
  const { vocab } = corpus;
  const train = {
    x: vocab.encode(
      corpus.train.questions.map((q) => [...q].reverse().join("")),
    ),
    t: vocab.encode(corpus.train.answers),
  };
  const xs: Tensor[] = [];
  const ts: Tensor[] = [];
  for (let epoch = 0; xs.length < o.steps; epoch++) {
    const key = random.foldIn(random.key(seed + 1), epoch);
    for (const b of data.batches(train, o.batchSize, { key, dropLast: true })) {
      if (xs.length === o.steps) break;
      xs.push(b.x);
      ts.push(b.t);
    }
    if (xs.length === 0) {
      throw new RangeError(`seq2seqFidelity: fewer examples than a batch`);
    }
  }
  return { x: nb.stack(xs), t: nb.stack(ts), vocabSize: vocab.size };
}

/**
 * Trains `nn.seq2seq` and the NumPy reference side by side from the same weights on the same
 * batches, comparing after every step (see the module doc). The device is set for the run and
 * restored after it.
 */
export async function seq2seqFidelity(
  o: Seq2seqFidelityOptions,
): Promise<Seq2seqFidelityReport> {
  const before = nb.getDefaultDevice();
  await nb.setDevice(o.device);
  const dir = await Deno.makeTempDir({ prefix: "nabla_seq2seq_fidelity_" });
  try {
    const { x, t, vocabSize } = makeBatches(o);
    const model = nn.seq2seq({
      vocabSize,
      embedDim: o.embedDim,
      hiddenSize: o.hiddenSize,
    });
    type Params = nn.Seq2seqParams;
    let params: Params = tree.map(
      (p: Tensor) => p.astype(o.dtype),
      model.init(random.key(o.seed ?? 0)),
    );
    await io.save(`${dir}/init.safetensors`, params);
    await io.save(`${dir}/batches.safetensors`, { x, t });
    await runPython(reference, [
      "--fidelity",
      dir,
      "--optimizer",
      o.referenceOptimizer ?? o.optimizer ?? "optax",
    ]);

    const opt: optim.GradientTransformation<unknown> = o.optimizer === "book"
      ? bookOptimizer(1e-3, 5)
      : optim.chain(optim.clipByGlobalNorm(5), optim.adam(1e-3));
    let state = opt.init(params);
    const loss = (
      p: Params,
      x: Tensor,
      decoderIn: Tensor,
      decoderOut: Tensor,
    ) => nn.softmaxCrossEntropy(model.apply(p, x, decoderIn).logits, decoderOut);
    const step = nb.valueAndGrad(loss);
    const [B, T] = [o.batchSize, t.shape[2]];
    const steps: StepComparison[] = [];
    for (let s = 0; s < o.steps; s++) {
      const xs = x.slice([s, 0, 0], [1, -1, -1]).reshape([B, -1]);
      const ts = t.slice([s, 0, 0], [1, -1, -1]).reshape([B, T]);
      const [value, grads] = step(
        params,
        xs,
        ts.slice([0, 0], [B, T - 1]),
        ts.slice([0, 1], [B, T - 1]),
      );
      const [updates, next] = opt.update(grads, state, params);
      params = optim.applyUpdates(params, updates);
      state = next;
      const file = `${dir}/step_${String(s + 1).padStart(4, "0")}.safetensors`;
      const expected = await readState(
        (await io.load(file)) as Record<string, Tensor>,
      );
      const comparison = compareStep(
        s + 1,
        await readState({ loss: value, grads, params }),
        expected,
      );
      await Deno.remove(file);
      o.onStep?.(comparison);
      steps.push(comparison);
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
      steps: { type: "string", default: "50" },
      data: { type: "string", default: "dates" },
      examples: { type: "string", default: "20000" },
      hidden: { type: "string", default: "256" },
      embed: { type: "string", default: "16" },
      batch: { type: "string", default: "128" },
      dtype: { type: "string", default: "float64" },
      device: { type: "string", default: "cpu" },
      optimizer: { type: "string", default: "optax" },
      "reference-optimizer": { type: "string" },
      tolerance: { type: "string" },
    },
  });
  const dtype = flags.dtype as "float32" | "float64";
  const tolerance = Number(
    flags.tolerance ?? (dtype === "float64" ? 1e-9 : 1e-3),
  );
  console.log(
    `seq2seq fidelity: ${flags.data}, embed ${flags.embed}, hidden ${flags.hidden}, batch ${flags.batch}, ` +
      `${dtype} on ${flags.device}, optimizer ${flags.optimizer} (reference ${
        flags["reference-optimizer"] ?? flags.optimizer
      }), tolerance ${tolerance}`,
  );
  const report = await seq2seqFidelity({
    steps: Number(flags.steps),
    data: flags.data as "dates" | "random",
    examples: Number(flags.examples),
    embedDim: Number(flags.embed),
    hiddenSize: Number(flags.hidden),
    batchSize: Number(flags.batch),
    dtype,
    device: flags.device as nb.Device,
    optimizer: flags.optimizer as Arithmetic,
    referenceOptimizer: (flags["reference-optimizer"] ?? flags.optimizer) as Arithmetic,
    onStep: (s) => console.log(formatStep(s)),
  });
  const parting = firstParting(report.steps, tolerance);
  console.log(
    parting
      ? formatParting(parting)
      : `nabla and the reference agree over ${report.steps.length} steps: largest relative error ${
        report.worst.error.toExponential(2)
      } (${report.worst.leaf})`,
  );
  if (parting) {
    for (const l of report.steps[parting.step - 1].leaves) {
      console.log(`  ${l.leaf.padEnd(28)} ${l.error.toExponential(2)}`);
    }
    Deno.exit(1);
  }
}
