// nn.seq2seq against the classic NumPy attention seq2seq (bench/numpy_seq2seq.py), step by step
// from the same weights over the same batches of data.dates: loss, every gradient leaf and
// every parameter after each step. Needs python3 with NumPy (the test fails and says so
// without them). The longer run at the book's sizes is bench/seq2seq_fidelity.ts.

import assert from "node:assert/strict";
import * as nb from "../../mod.ts";
import { firstParting, formatParting } from "../../bench/_fidelity.ts";
import { seq2seqFidelity, type Seq2seqFidelityOptions } from "../../bench/seq2seq_fidelity.ts";

const small: Seq2seqFidelityOptions = {
  steps: 50,
  data: "dates",
  examples: 400,
  embedDim: 4,
  hiddenSize: 8,
  batchSize: 8,
  dtype: "float64",
  device: "cpu",
};

Deno.test("seq2seq: the decoder starts from the encoder's last h and a zero cell, as the book's", async () => {
  const { nn, random } = nb;
  const [V, D, H] = [7, 3, 5];
  const model = nn.seq2seq({ vocabSize: V, embedDim: D, hiddenSize: H });
  const p = model.init(random.key(3));
  const x = random.randint(random.key(4), [2, 6], 0, V);
  const y = random.randint(random.key(5), [2, 4], 0, V);
  // The book's wiring, from the public building blocks.
  const embed = nn.embedding(V, D);
  const lstm = nn.lstm(D, H);
  const enc = lstm.apply(p.encoder.lstm, embed.apply(p.encoder.embed, x));
  const start = { h: enc.h, c: nb.zerosLike(enc.c) };
  const dec = lstm.apply(
    p.decoder.lstm,
    embed.apply(p.decoder.embed, y),
    start,
  );
  const { out: context } = nn.dotProductAttention(dec.hs, enc.hs, enc.hs, {
    scale: 1,
  });
  const logits = nn.linear(2 * H, V).apply(
    p.decoder.out,
    nb.concat([context, dec.hs], -1),
  );
  await nb.testing.assertAllClose(model.apply(p, x, y).logits, logits);
  // Greedy decoding starts the same way: its first token is the first step's argmax.
  const startIds = nb.zeros([2, 1], { dtype: "int32" });
  const first = model.apply(p, x, startIds).logits.argmax({ axis: -1 });
  assert.deepEqual(
    await model.generate(p, x, 0, 1).ids.toArray(),
    await first.toArray(),
  );
});

Deno.test("seq2seq fidelity: 50 steps agree with the NumPy reference in float64", async () => {
  const report = await seq2seqFidelity(small);
  const parting = firstParting(report.steps, 1e-12);
  assert.equal(parting, undefined, parting && formatParting(parting));
  // The run learned something: agreeing on a model that stands still would prove little.
  const [first, last] = [report.steps[0].loss, report.steps.at(-1)!.loss];
  assert.ok(last < first - 0.1, `loss ${first} -> ${last}`);
});

Deno.test("seq2seq fidelity: the harness sees a difference in the optimizer's arithmetic", async () => {
  // The book's Adam adds eps to √v inside a bias-corrected step size; optax's adds it to √v̂.
  // The difference is small, but it is there from the first update on.
  const report = await seq2seqFidelity({
    ...small,
    steps: 2,
    referenceOptimizer: "book",
  });
  const parting = firstParting(report.steps, 1e-12);
  assert.ok(parting, "the two optimizers should part");
  assert.equal(parting.step, 1);
  assert.match(parting.leaf.leaf, /^params\./);
});

Deno.test("seq2seq fidelity: float32 on the default device stays within float32 rounding", async () => {
  const { worst } = await seq2seqFidelity({
    ...small,
    steps: 10,
    dtype: "float32",
    device: nb.getDefaultDevice(),
  });
  assert.ok(worst.error < 1e-4, `${worst.leaf}: relative error ${worst.error}`);
});
