import assert from "node:assert/strict";
import * as nb from "../../mod.ts";

const { data, nn, optim, random, testing } = nb;
type T = nb.Tensor;

Deno.test("seq2seq: gradients of the loss match finite differences", async (t) => {
  for (const attention of [true, false]) {
    await t.step(attention ? "with attention" : "plain", async () => {
      const model = nn.seq2seq({ vocabSize: 6, embedDim: 2, hiddenSize: 3, attention });
      const params = model.init(random.key(1));
      const x = nb.tensor([[1, 2, 3], [4, 5, 0]], { dtype: "int32" });
      const yIn = nb.tensor([[0, 2], [0, 3]], { dtype: "int32" });
      const yOut = nb.tensor([[2, 1], [3, 4]], { dtype: "int32" });
      const loss = (wh: T, out: T, table: T) =>
        nn.softmaxCrossEntropy(
          model.apply(
            {
              encoder: { ...params.encoder, lstm: { ...params.encoder.lstm, wh } },
              decoder: {
                ...params.decoder,
                out: { ...params.decoder.out, w: out },
                embed: { table },
              },
            },
            x,
            yIn,
          ).logits,
          yOut,
        );
      await testing.checkGrads(loss, [
        params.encoder.lstm.wh,
        params.decoder.out.w,
        params.decoder.embed.table,
      ], { rtol: 1e-4, atol: 1e-6 });
    });
  }
});

Deno.test("seq2seq: attention weights sum to 1 over the encoder steps", async () => {
  const model = nn.seq2seq({ vocabSize: 10, hiddenSize: 8 });
  const params = model.init(random.key(0));
  const x = random.randint(random.key(1), [3, 7], 0, 10);
  const yIn = random.randint(random.key(2), [3, 4], 0, 10);
  const { weights } = model.apply(params, x, yIn);
  assert.deepEqual(weights!.shape, [3, 4, 7]);
  await testing.assertAllClose(weights!.sum({ axis: -1 }), nb.ones([3, 4]));
  const gen = model.generate(params, x, 0, 5);
  assert.deepEqual([gen.ids.shape, gen.ids.dtype, gen.weights!.shape], [[3, 5], "int32", [
    3,
    5,
    7,
  ]]);
  await testing.assertAllClose(gen.weights!.sum({ axis: -1 }), nb.ones([3, 5]));
});

Deno.test("seq2seq: one epoch on 2,000 dates lowers the loss (hidden 32)", () => {
  const corpus = data.dates({ n: 2000, seed: 0 });
  const { vocab } = corpus;
  const x = vocab.encode(corpus.train.questions.map((q) => [...q].reverse().join("")));
  const y = vocab.encode(corpus.train.answers);
  const [N, T] = y.shape;
  const train = { x, yIn: y.slice([0, 0], [N, T - 1]), yOut: y.slice([0, 1], [N, T - 1]) };
  const model = nn.seq2seq({ vocabSize: vocab.size, hiddenSize: 32 });
  let params = model.init(random.key(0));
  const opt = optim.chain(optim.clipByGlobalNorm(5), optim.adam(1e-2));
  let state = opt.init(params);
  const step = nb.valueAndGrad((p: nb.nn.Seq2seqParams, b: typeof train) =>
    nn.softmaxCrossEntropy(model.apply(p, b.x, b.yIn).logits, b.yOut)
  );
  const losses: number[] = [];
  for (const b of data.batches(train, 64, { key: random.key(1) })) {
    const [loss, grads] = step(params, b);
    const [updates, next] = opt.update(grads, state, params);
    [params, state] = [optim.applyUpdates(params, updates), next];
    losses.push(loss.item());
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = mean(losses.slice(0, 3));
  const last = mean(losses.slice(-3));
  assert.ok(first > 3.5, `the loss starts near ln(vocab) = ${Math.log(vocab.size)}, got ${first}`);
  assert.ok(last < 0.5 * first, `the loss must fall: first batches ${first}, last batches ${last}`);
});
