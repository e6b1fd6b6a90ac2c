/**
 * One training epoch of the date-conversion attention seq2seq, nabla beside the classic NumPy
 * implementation ("Deep Learning from Scratch 2", chapter 8, `bench/numpy_seq2seq.py`) in
 * the same run on the same machine.
 *
 * Both train `vocab 59, embed 16, hidden 256, attention` on random ids of the dates task's
 * shapes (batch 128, encoder length 29, decoder length 10) with softmax cross-entropy,
 * clipping by global norm 5 and Adam(1e-3). nabla runs `nn.seq2seq` with
 * `optim.chain(optim.clipByGlobalNorm(5), optim.adam(1e-3))` exactly as
 * `examples/seq2seq_attention.ts` does, reading the loss back every step, on the `cpu` device
 * (float32 matmuls through the Wasm SIMD kernels). Each side does 2 warm-up steps and then N
 * timed steps; an epoch of 45,000 examples is 352 steps.
 *
 * NumPy runs with the inherited environment, then once more with `OPENBLAS_NUM_THREADS=1`
 * (OpenBLAS's threads spin against other work on a busy machine), and, where
 * `OPENBLAS_CORETYPE` or `OPENBLAS_L2_SIZE` is set, once more with both unset.
 *
 * Run: `deno run -A bench/seq2seq_epoch.ts [--steps 20]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import * as nb from "../mod.ts";
import { nn, optim, random, type Tensor } from "../mod.ts";
import { wasmMatmulAvailable } from "../lib/backends/cpu/_wasm_matmul.ts";
import { defaultWasmContext } from "../lib/backends/wasm/context.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: { steps: { type: "string", default: "20" } },
});
const steps = Number(flags.steps);
const STEPS_PER_EPOCH = 352; // ceil(45_000 / 128)
const [V, BATCH, T_IN, T_ANSWER] = [59, 128, 29, 11];

const load = Deno.loadavg().map((v) => v.toFixed(2)).join(" ");
console.log(`${navigator.hardwareConcurrency} cores, load average ${load} (1, 5, 15 min)`);

// ---- nabla ----------------------------------------------------------------------------------

await nb.setDevice("cpu");
const model = nn.seq2seq({ vocabSize: V, embedDim: 16, hiddenSize: 256, attention: true });
type Params = nn.Seq2seqParams;
let params: Params = model.init(random.key(0));
const opt = optim.chain(optim.clipByGlobalNorm(5), optim.adam(1e-3));
let state = opt.init(params);

const loss = (p: Params, x: Tensor, decoderIn: Tensor, decoderOut: Tensor) =>
  nn.softmaxCrossEntropy(model.apply(p, x, decoderIn).logits, decoderOut);
const step = nb.valueAndGrad(loss);

// Random batches of the dates task's shapes (the time of a step does not depend on the ids).
const batches = Array.from({ length: 2 + steps }, (_, i) => {
  const [kx, ky] = random.split(random.key(100 + i));
  const y = random.randint(ky, [BATCH, T_ANSWER], 0, V);
  return {
    x: random.randint(kx, [BATCH, T_IN], 0, V),
    decoderIn: y.slice([0, 0], [BATCH, T_ANSWER - 1]),
    decoderOut: y.slice([0, 1], [BATCH, T_ANSWER - 1]),
  };
});

async function trainStep(b: (typeof batches)[number]): Promise<number> {
  const [value, grads] = step(params, b.x, b.decoderIn, b.decoderOut);
  const [updates, next] = opt.update(grads, state, params);
  params = optim.applyUpdates(params, updates);
  state = next;
  return (await value.data())[0];
}

for (const b of batches.slice(0, 2)) await trainStep(b);
const losses: number[] = [];
const t0 = performance.now();
for (const b of batches.slice(2)) losses.push(await trainStep(b));
const nablaStep = (performance.now() - t0) / 1000 / steps;
const ctx = wasmMatmulAvailable() ? defaultWasmContext() : null;
const backend = ctx
  ? `cpu, Wasm ${ctx.config.relaxed ? "relaxed-" : ""}SIMD matmul, ${ctx.threads} threads`
  : "cpu, TypeScript matmul (no Wasm SIMD here)";
console.log(
  `nabla (${backend}): ${steps} steps, loss ${losses[0].toFixed(4)} → ${losses.at(-1)!.toFixed(4)}`,
);

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
  { name: "nabla", perStep: nablaStep },
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
console.log(`(${steps} timed steps each after 2 warm-up steps; epoch = 352 steps of batch 128)`);
