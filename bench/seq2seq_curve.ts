/**
 * Learning curves of the attention seq2seq, epoch by epoch: test exact match after each
 * epoch, for nabla (trained as `examples/seq2seq_attention.ts` trains it) or for the book's
 * NumPy code (`bench/numpy_seq2seq.py --train`, the book's ch08/train.py), on the same corpus:
 * `data.dates` or the book's own `dataset/date.txt`.
 *
 * Both use the book's settings: embeddings 16, hidden 256, batch 128, clipping by global norm
 * 5, Adam 1e-3, reversed questions, a 10% test split, with optax's optimizer arithmetic
 * (nabla's `optim`) or the book's (`--optimizer book`, see `bench/_book_optimizer.ts`). Each
 * side draws its own weights and batch order from `--seed`; an epoch takes minutes on either
 * side, so run one side at a time.
 *
 * Run: `deno run -A bench/seq2seq_curve.ts [--side nabla|numpy] [--corpus dates|PATH]
 *   [--epochs 3] [--seed 0] [--optimizer optax|book] [--device wasm]`
 * where PATH is the book's `date.txt`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import * as nb from "../mod.ts";
import { data, io, nn, optim, random, type Tensor } from "../mod.ts";
import { bookOptimizer } from "./_book_optimizer.ts";
import { NEEDS_NUMPY } from "./_fidelity.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    side: { type: "string", default: "nabla" },
    corpus: { type: "string", default: "dates" },
    epochs: { type: "string", default: "3" },
    seed: { type: "string", default: "0" },
    device: { type: "string", default: nb.getDefaultDevice() },
    optimizer: { type: "string", default: "optax" },
  },
});
const epochs = Number(flags.epochs);
const seed = Number(flags.seed);
const script = new URL("./numpy_seq2seq.py", import.meta.url).pathname;

interface Corpus {
  /** Question ids, not yet reversed, `[N, T_in]`; answer ids starting with `_`, `[N, T_out]`. */
  xTrain: Tensor;
  tTrain: Tensor;
  xTest: Tensor;
  tTest: Tensor;
}

// Runs the NumPy reference; with `inherit`, its lines appear as it prints them.
async function python(args: string[], inherit = false): Promise<void> {
  const python = Deno.env.get("NABLA_PYTHON") ?? "python3";
  const stdio = inherit ? "inherit" : "piped";
  const child = new Deno.Command(python, {
    args: [script, ...args],
    stdout: stdio,
    stderr: stdio,
  });
  const result = await child.output().catch((e) => {
    throw new Error(`${NEEDS_NUMPY}: ${e.message}`);
  });
  if (result.code !== 0) {
    const why = inherit ? "see above" : new TextDecoder().decode(result.stderr);
    throw new Error(`numpy_seq2seq.py failed: ${why}`);
  }
}

// data.dates as the example builds it, or the book's file as the book's load_data reads it.
async function loadCorpus(): Promise<Corpus> {
  if (flags.corpus === "dates") {
    const corpus = data.dates({ n: 50000, seed });
    const { vocab } = corpus;
    return {
      xTrain: vocab.encode(corpus.train.questions),
      tTrain: vocab.encode(corpus.train.answers),
      xTest: vocab.encode(corpus.test.questions),
      tTest: vocab.encode(corpus.test.answers),
    };
  }
  const file = await Deno.makeTempFile({ suffix: ".safetensors" });
  try {
    await python(["--train", flags.corpus!, "--epochs", "0", "--export", file]);
    const c = (await io.load(file)) as Record<string, Tensor>;
    return {
      xTrain: c.x_train,
      tTrain: c.t_train,
      xTest: c.x_test,
      tTest: c.t_test,
    };
  } finally {
    await Deno.remove(file);
  }
}

const reverse = (x: Tensor) =>
  nb.take(x, nb.arange(x.shape[1] - 1, -1, -1, { dtype: "int32" }), {
    axis: 1,
  });

async function trainNabla(c: Corpus): Promise<void> {
  await nb.setDevice(flags.device as nb.Device);
  const to = async (x: Tensor) => await x.to(flags.device as nb.Device);
  const x = reverse(await to(c.xTrain));
  const t = await to(c.tTrain);
  const xTest = reverse(await to(c.xTest));
  const tTest = await c.tTest.to("cpu");
  const [N, T] = t.shape;
  const train = {
    x,
    decoderIn: t.slice([0, 0], [N, T - 1]),
    decoderOut: t.slice([0, 1], [N, T - 1]),
  };
  const vocabSize = Math.max(
    ...[c.xTrain, c.tTrain, c.xTest, c.tTest].map((a) => a.max().item() as number),
  ) + 1;
  const model = nn.seq2seq({ vocabSize, embedDim: 16, hiddenSize: 256 });
  type Params = nn.Seq2seqParams;
  let params: Params = model.init(random.key(seed));
  const opt: optim.GradientTransformation<unknown> = flags.optimizer === "book"
    ? bookOptimizer(1e-3, 5)
    : optim.chain(optim.clipByGlobalNorm(5), optim.adam(1e-3));
  let state = opt.init(params);
  const step = nb.jit(nb.valueAndGrad((
    p: Params,
    x: Tensor,
    decoderIn: Tensor,
    decoderOut: Tensor,
  ) => nn.softmaxCrossEntropy(model.apply(p, x, decoderIn).logits, decoderOut)));
  const answers = (await tTest.toArray()) as number[][];
  const startId = answers[0][0];
  console.log(
    JSON.stringify({
      train: N,
      test: answers.length,
      vocab: vocabSize,
      side: "nabla",
      optimizer: flags.optimizer,
    }),
  );
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const t0 = performance.now();
    let total = 0;
    let count = 0;
    for (
      const b of data.batches(train, 128, {
        key: random.foldIn(random.key(seed + 1), epoch),
      })
    ) {
      const [value, grads] = step(params, b.x, b.decoderIn, b.decoderOut);
      const [updates, next] = opt.update(grads, state, params);
      params = optim.applyUpdates(params, updates);
      state = next;
      total += (await value.data())[0] * b.x.shape[0];
      count += b.x.shape[0];
    }
    const seconds = (performance.now() - t0) / 1000;
    let right = 0;
    for (let start = 0; start < answers.length; start += 1000) {
      const size = Math.min(1000, answers.length - start);
      const ids = model.generate(
        params,
        xTest.slice([start, 0], [size, -1]),
        startId,
        T - 1,
      ).ids;
      const guess = (await ids.toArray()) as number[][];
      right += guess.filter((g, i) => g.every((id, j) => id === answers[start + i][j + 1])).length;
    }
    console.log(JSON.stringify({
      epoch,
      loss: total / count,
      test_exact_match: right / answers.length,
      seconds: Math.round(seconds * 10) / 10,
    }));
  }
}

const corpus = await loadCorpus();
if (flags.side === "nabla") {
  await trainNabla(corpus);
} else if (flags.side === "numpy") {
  const file = await Deno.makeTempFile({ suffix: ".safetensors" });
  try {
    await io.save(file, {
      x_train: corpus.xTrain,
      t_train: corpus.tTrain,
      x_test: corpus.xTest,
      t_test: corpus.tTest,
    });
    await python([
      "--train",
      file,
      "--epochs",
      String(epochs),
      "--seed",
      String(seed),
      "--optimizer",
      flags.optimizer!,
    ], true);
  } finally {
    await Deno.remove(file);
  }
} else {
  throw new Error(`--side must be nabla or numpy, got ${flags.side}`);
}
