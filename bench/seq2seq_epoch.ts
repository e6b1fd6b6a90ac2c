/**
 * One training epoch of the date-conversion attention seq2seq, nabla beside the classic NumPy
 * implementation ("Deep Learning from Scratch 2", chapter 8, `bench/numpy_seq2seq.py`) in
 * the same run on the same machine.
 *
 * Both train `vocab 59, embed 16, hidden 256, attention` on random ids of the dates task's
 * shapes (batch 128, encoder length 29, decoder length 10) with softmax cross-entropy,
 * clipping by global norm 5 and Adam(1e-3). nabla runs `nn.seq2seq` with
 * `optim.chain(optim.clipByGlobalNorm(5), optim.adam(1e-3))` exactly as
 * `examples/seq2seq_attention.ts` does, reading the loss back every step, on the `wasm` device
 * (the default: SIMD kernels, matmul on worker threads) and on the reference `cpu` device
 * (plain TypeScript; a few steps only, it is slow). Each run does 2 warm-up steps and then N
 * timed steps; an epoch of 45,000 examples is 352 steps.
 *
 * NumPy runs with the inherited environment, then once more with `OPENBLAS_NUM_THREADS=1`
 * (OpenBLAS's threads spin against other work on a busy machine), and, where
 * `OPENBLAS_CORETYPE` or `OPENBLAS_L2_SIZE` is set, once more with both unset.
 *
 * Run: `deno run -A bench/seq2seq_epoch.ts [--steps 20] [--reference-steps 2]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import * as nb from "../mod.ts";
import { nn, optim, random, type Tensor } from "../mod.ts";
import { defaultWasmContext } from "../lib/backends/wasm/context.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    steps: { type: "string", default: "20" },
    "reference-steps": { type: "string", default: "2" },
  },
});
const steps = Number(flags.steps);
const referenceSteps = Number(flags["reference-steps"]);
const STEPS_PER_EPOCH = 352; // ceil(45_000 / 128)
const [V, BATCH, T_IN, T_ANSWER] = [59, 128, 29, 11];

const load = Deno.loadavg().map((v) => v.toFixed(2)).join(" ");
console.log(`${navigator.hardwareConcurrency} cores, load average ${load} (1, 5, 15 min)`);

// ---- nabla ----------------------------------------------------------------------------------

const model = nn.seq2seq({ vocabSize: V, embedDim: 16, hiddenSize: 256, attention: true });
type Params = nn.Seq2seqParams;
const opt = optim.chain(optim.clipByGlobalNorm(5), optim.adam(1e-3));
const loss = (p: Params, x: Tensor, decoderIn: Tensor, decoderOut: Tensor) =>
  nn.softmaxCrossEntropy(model.apply(p, x, decoderIn).logits, decoderOut);
const step = nb.valueAndGrad(loss);

// Seconds per training step on `device`, after 2 warm-up steps, on random batches of the dates
// task's shapes (the time of a step does not depend on the ids).
async function nablaSecondsPerStep(device: nb.Device, timed: number): Promise<number> {
  await nb.setDevice(device);
  let params: Params = model.init(random.key(0));
  let state = opt.init(params);
  const losses: number[] = [];
  let t0 = 0;
  for (let i = 0; i < 2 + timed; i++) {
    if (i === 2) t0 = performance.now();
    const [kx, ky] = random.split(random.key(100 + i));
    const y = random.randint(ky, [BATCH, T_ANSWER], 0, V);
    const x = random.randint(kx, [BATCH, T_IN], 0, V);
    const decoderIn = y.slice([0, 0], [BATCH, T_ANSWER - 1]);
    const decoderOut = y.slice([0, 1], [BATCH, T_ANSWER - 1]);
    const [value, grads] = step(params, x, decoderIn, decoderOut);
    const [updates, next] = opt.update(grads, state, params);
    params = optim.applyUpdates(params, updates);
    state = next;
    losses.push((await value.data())[0]);
  }
  const perStep = (performance.now() - t0) / 1000 / timed;
  console.log(
    `nabla ${device}: ${timed} steps, loss ${losses[2].toFixed(4)} → ${
      losses.at(-1)!.toFixed(4)
    }, ${perStep.toFixed(3)} s/step`,
  );
  return perStep;
}

const ctx = defaultWasmContext();
console.log(
  `wasm device: ${ctx.config.relaxed ? "relaxed-" : ""}SIMD kernels, ${ctx.threads} threads`,
);
const nablaStep = await nablaSecondsPerStep("wasm", steps);
const referenceStep = referenceSteps > 0 ? await nablaSecondsPerStep("cpu", referenceSteps) : NaN;
await nb.setDevice("wasm");

// ---- NumPy ----------------------------------------------------------------------------------

interface NumpyResult {
  steps: number;
  seconds_per_step: number;
  seconds_per_epoch: number;
  blas?: Record<string, string | number | null>;
}

async function numpy(env: Record<string, string>, unset: string[] = []): Promise<NumpyResult> {
  const script = new URL("./numpy_seq2seq.py", import.meta.url).pathname;
  const full = { ...Deno.env.toObject(), ...env };
  for (const name of unset) delete full[name];
  const { code, stdout, stderr } = await new Deno.Command("python3", {
    args: [script, "--steps", String(steps)],
    env: full,
    clearEnv: true,
  }).output();
  if (code !== 0) throw new Error(`numpy_seq2seq.py failed: ${new TextDecoder().decode(stderr)}`);
  const lines = new TextDecoder().decode(stdout).trim().split("\n");
  return JSON.parse(lines.at(-1)!);
}

const runs: { name: string; result: NumpyResult }[] = [];
runs.push({ name: "NumPy (inherited env)", result: await numpy({}) });
runs.push({
  name: "NumPy, OPENBLAS_NUM_THREADS=1",
  result: await numpy({ OPENBLAS_NUM_THREADS: "1" }),
});
const tuning = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"];
if (tuning.some((name) => Deno.env.get(name) !== undefined)) {
  runs.push({ name: "NumPy, CORETYPE/L2_SIZE unset", result: await numpy({}, tuning) });
}
const blas = runs[0].result.blas ?? {};
console.log(
  `NumPy ${blas.numpy ?? "?"}: ${blas.config ?? "BLAS unknown"}, core ${blas.core ?? "?"}, ` +
    `${blas.threads ?? "?"} threads; ` +
    tuning.map((name) => `${name}=${Deno.env.get(name) ?? "(unset)"}`).join(", "),
);

// ---- Table ----------------------------------------------------------------------------------

const rows = [
  { name: "nabla wasm", perStep: nablaStep },
  ...(referenceSteps > 0 ? [{ name: "nabla cpu (reference)", perStep: referenceStep }] : []),
  ...runs.map((r) => ({ name: r.name, perStep: r.result.seconds_per_step })),
];
const width = Math.max(...rows.map((r) => r.name.length));
console.log(`\n${"".padEnd(width)}  s/step  s/epoch  time / nabla`);
for (const r of rows) {
  console.log(
    `${r.name.padEnd(width)}  ${r.perStep.toFixed(3).padStart(6)}  ` +
      `${(r.perStep * STEPS_PER_EPOCH).toFixed(1).padStart(7)}  ${
        (r.perStep / nablaStep).toFixed(2).padStart(11)
      }`,
  );
}
console.log(
  `(${steps} timed steps after 2 warm-up steps, ${referenceSteps} on the reference cpu; ` +
    `epoch = 352 steps of batch 128)`,
);
