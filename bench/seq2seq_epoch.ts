/**
 * One training epoch of the date-conversion attention seq2seq: nabla, jitted and eager, beside
 * PyTorch (`bench/torch_seq2seq.py`) and the classic NumPy implementation ("Deep Learning from
 * Scratch 2", chapter 8, `bench/numpy_seq2seq.py`) in the same run on the same machine.
 *
 * All train `vocab 59, embed 16, hidden 256, attention` on random ids of the dates task's
 * shapes (batch 128, encoder length 29, decoder length 10) with softmax cross-entropy,
 * clipping by global norm 5 and Adam(1e-3), reading the loss back every step. nabla runs
 * `nn.seq2seq` with `optim.chain(optim.clipByGlobalNorm(5), optim.adam(1e-3))` as
 * `examples/seq2seq_attention.ts` does: jitted (`jit` of `valueAndGrad` and the optimizer
 * update, parameters and optimizer state donated) and eager on the `wasm` device (the default:
 * SIMD kernels, matmul on worker threads), and eager on the reference `cpu` device (plain
 * TypeScript; a few steps only, it is slow). Each run does 2 warm-up steps and then N timed
 * steps on batches made before the clock starts; an epoch of 45,000 examples is 352 steps.
 *
 * PyTorch is Debian's `python3-torch` (fused `nn.LSTM` kernels, OpenBLAS), run by
 * `/usr/bin/python3` with `OPENBLAS_CORETYPE` and `OPENBLAS_L2_SIZE` unset, once with 1 thread
 * and once with 2 (`torch.set_num_threads`, `OMP_NUM_THREADS` and `OPENBLAS_NUM_THREADS`);
 * ratios are to the faster of the two. Where it is missing the bench says so and goes on.
 * After the first rounds, PyTorch with 1 thread and nabla's jitted step run once more, one
 * after the other, and each keeps its faster round: these machines are shared, and a busy
 * neighbour during one run would otherwise decide the ratio.
 * NumPy runs with the inherited environment, then with `OPENBLAS_NUM_THREADS=1` (OpenBLAS's
 * threads spin against other work on a busy machine), and, where `OPENBLAS_CORETYPE` or
 * `OPENBLAS_L2_SIZE` is set, once more with both unset.
 *
 * Three more figures are printed under the table:
 *
 * - Share of a nabla step outside matmul. While nabla runs, `bench/_matmul_clock.ts` wraps the
 *   device backend's kernel entry points and sums the wall time of every matmul kernel (the
 *   `wasm` and `cpu` kernels are synchronous, so call-to-return is the kernel's time). The share
 *   is 1 − matmul time / step time over the timed steps, the step time including the loss read.
 *   The wrapper costs two clock reads per matmul (about 130 per step), well under 0.1%.
 * - The jitted step's first call: staging, optimisation, compilation and one step (its loss
 *   read included), made after the eager run so that it does not pay for starting the worker
 *   threads; and, on a fresh `jit`, the time of `lower`, which stages and compiles alone.
 * - What a cache hit adds: a jitted one-op function `(a, b) => a.add(b)` on two `float32[4]`
 *   tensors against the same function run eagerly (the same one kernel either way), 2,000 calls
 *   a round, the fastest of 25 rounds of each, results disposed.
 *
 * Run: `deno run -A -c bench/deno.json bench/seq2seq_epoch.ts [--steps 20] [--reference-steps 2]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import * as nb from "../mod.ts";
import { nn, optim, random, type Tensor } from "../mod.ts";
import { getBackend } from "../lib/core/backend.ts";
import { defaultWasmContext } from "../lib/backends/wasm/mod.ts";
import { clockMatmuls } from "./_matmul_clock.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    steps: { type: "string", default: "20" },
    "reference-steps": { type: "string", default: "2" },
  },
});
const steps = Number(flags.steps);
const referenceSteps = Number(flags["reference-steps"]);
const counts = [["--steps", steps, 1], ["--reference-steps", referenceSteps, 0]] as const;
for (const [name, value, least] of counts) {
  if (!Number.isInteger(value) || value < least) {
    throw new RangeError(`seq2seq_epoch: ${name} must be an integer ≥ ${least}, got ${value}`);
  }
}
const STEPS_PER_EPOCH = 352; // ceil(45_000 / 128)
const [V, BATCH, T_IN, T_ANSWER] = [59, 128, 29, 11];
const WARMUP = 2;

const load = Deno.loadavg().map((v) => v.toFixed(2)).join(" ");
console.log(`${navigator.hardwareConcurrency} cores, load average ${load} (1, 5, 15 min)`);

// ---- PyTorch --------------------------------------------------------------------------------

const PYTHON = "/usr/bin/python3";
const NOT_INSTALLED = 3; // torch_seq2seq.py's exit status when `import torch` fails
const INSTALL = "apt-get install python3-torch libopenblas0-pthread";
const TUNING = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"];

interface TorchResult {
  threads: number;
  seconds_per_step: number;
  loss: [number, number];
  torch: string;
  blas: string[];
}

// PyTorch's seconds per step with `threads` threads, or why it could not run.
async function pytorch(threads: number): Promise<TorchResult | string> {
  const script = new URL("./torch_seq2seq.py", import.meta.url).pathname;
  const env: Record<string, string> = {
    ...Deno.env.toObject(),
    OMP_NUM_THREADS: String(threads),
    OPENBLAS_NUM_THREADS: String(threads),
  };
  for (const name of TUNING) delete env[name];
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(PYTHON, {
      args: [script, "--steps", String(steps), "--threads", String(threads)],
      env,
      clearEnv: true,
    }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return `${PYTHON} is missing`;
    throw e;
  }
  const { code, stdout, stderr } = output;
  if (code === NOT_INSTALLED) return `${PYTHON} cannot import torch`;
  if (code !== 0) throw new Error(`torch_seq2seq.py failed: ${new TextDecoder().decode(stderr)}`);
  return JSON.parse(new TextDecoder().decode(stdout).trim().split("\n").at(-1)!);
}

const torchRuns: TorchResult[] = [];
for (const threads of [1, 2]) {
  const result = await pytorch(threads);
  if (typeof result === "string") {
    console.log(`PyTorch is not installed here (${result}): ${INSTALL}`);
    break;
  }
  const [first, last] = result.loss.map((v) => v.toFixed(4));
  console.log(
    `PyTorch ${result.torch}, ${result.threads} thread(s): loss ${first} → ${last}, ` +
      `${result.seconds_per_step.toFixed(3)} s/step`,
  );
  torchRuns.push(result);
}
if (torchRuns.length > 0) {
  console.log(`PyTorch's BLAS: ${torchRuns[0].blas.join(", ") || "none loaded"}`);
}

// ---- nabla ----------------------------------------------------------------------------------

const model = nn.seq2seq({ vocabSize: V, embedDim: 16, hiddenSize: 256, attention: true });
type Params = nn.Seq2seqParams;
const opt = optim.chain(optim.clipByGlobalNorm(5), optim.adam(1e-3));
type State = ReturnType<typeof opt.init>;
const loss = (p: Params, x: Tensor, decoderIn: Tensor, decoderOut: Tensor) =>
  nn.softmaxCrossEntropy(model.apply(p, x, decoderIn).logits, decoderOut);

// One whole training step: loss, gradients, clipping and Adam.
function trainStep(params: Params, state: State, x: Tensor, decoderIn: Tensor, out: Tensor) {
  const [value, grads] = nb.valueAndGrad(loss)(params, x, decoderIn, out);
  const [updates, next] = opt.update(grads, state, params);
  return [optim.applyUpdates(params, updates), next, value] as const;
}

// Random batches of the dates task's shapes on the default device (a step's time does not
// depend on the ids).
function batches(count: number) {
  return Array.from({ length: count }, (_, i) => {
    const [kx, ky] = random.split(random.key(100 + i));
    const y = random.randint(ky, [BATCH, T_ANSWER], 0, V);
    const x = random.randint(kx, [BATCH, T_IN], 0, V);
    const decoderIn = y.slice([0, 0], [BATCH, T_ANSWER - 1]);
    return { x, decoderIn, decoderOut: y.slice([0, 1], [BATCH, T_ANSWER - 1]) };
  });
}

interface NablaResult {
  perStep: number;
  firstCall: number;
  outsideMatmul: number;
}

// Seconds per training step on `device`, after the warm-up steps.
async function nabla(device: nb.Device, jitted: boolean, timed: number): Promise<NablaResult> {
  await nb.setDevice(device);
  const step = jitted ? nb.jit(trainStep, { donateArgnums: [0, 1] }) : trainStep;
  const data = batches(WARMUP + timed);
  let params: Params = model.init(random.key(0));
  let state = opt.init(params);
  const clock = clockMatmuls(getBackend(device));
  const seconds: number[] = [];
  const losses: number[] = [];
  try {
    for (const [i, { x, decoderIn, decoderOut }] of data.entries()) {
      if (i === WARMUP) clock.reset();
      const t0 = performance.now();
      const [p, s, value] = step(params, state, x, decoderIn, decoderOut);
      [params, state] = [p, s];
      losses.push((await value.data())[0]);
      seconds.push((performance.now() - t0) / 1000);
      value.dispose();
    }
  } finally {
    clock.restore();
  }
  const total = seconds.slice(WARMUP).reduce((a, b) => a + b, 0);
  const perStep = total / timed;
  const [first, last] = [losses[WARMUP], losses.at(-1)!].map((v) => v.toFixed(4));
  console.log(
    `nabla ${device}, ${jitted ? "jit" : "eager"}: ${timed} steps, loss ${first} → ${last}, ` +
      `${perStep.toFixed(3)} s/step`,
  );
  return { perStep, firstCall: seconds[0], outsideMatmul: 1 - clock.seconds / total };
}

// Seconds that staging and compiling the step take, without running it: `lower` on a fresh jit.
function compileSeconds(): number {
  const params = model.init(random.key(0));
  const [{ x, decoderIn, decoderOut }] = batches(1);
  const t0 = performance.now();
  nb.jit(trainStep).lower(params, opt.init(params), x, decoderIn, decoderOut);
  return (performance.now() - t0) / 1000;
}

// Microseconds per call of a one-op function, jitted and eager: the fastest of 25 rounds.
function cacheHit(): { jitted: number; eager: number } {
  const add = (a: Tensor, b: Tensor) => a.add(b);
  const jitted = nb.jit(add);
  const a = nb.tensor([1, 2, 3, 4]), b = nb.tensor([4, 3, 2, 1]);
  const CALLS = 2000;
  const round = (f: typeof add) => {
    const t0 = performance.now();
    for (let i = 0; i < CALLS; i++) f(a, b).dispose();
    return (performance.now() - t0) * 1000 / CALLS;
  };
  round(jitted); // stages and compiles
  round(add);
  const best = { jitted: Infinity, eager: Infinity };
  for (let r = 0; r < 25; r++) {
    best.jitted = Math.min(best.jitted, round(jitted));
    best.eager = Math.min(best.eager, round(add));
  }
  return best;
}

const ctx = defaultWasmContext();
console.log(
  `wasm device: ${ctx.config.relaxed ? "relaxed-" : ""}SIMD kernels, ${ctx.threads} threads`,
);
// Eager first: the jitted step's first call then finds the worker threads started and the heap
// grown, and pays only for staging, compiling and one step.
const eagerRun = await nabla("wasm", false, steps);
const firstJitted = await nabla("wasm", true, steps);
// The two runs the ratio compares, once more each, back to back: on a shared machine either
// may meet a busy neighbour, so each keeps its faster round.
let jittedRun = firstJitted;
if (torchRuns.length > 0) {
  const again = await pytorch(1);
  if (typeof again !== "string") {
    console.log(`PyTorch, 1 thread, again: ${again.seconds_per_step.toFixed(3)} s/step`);
    const at = torchRuns.findIndex((r) => r.threads === 1);
    if (again.seconds_per_step < torchRuns[at].seconds_per_step) torchRuns[at] = again;
  }
  const second = await nabla("wasm", true, steps);
  if (second.perStep < jittedRun.perStep) jittedRun = second;
}
const referenceRun = referenceSteps > 0 ? await nabla("cpu", false, referenceSteps) : null;
await nb.setDevice("wasm");
const compile = compileSeconds();
const hit = cacheHit();

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

const numpyRuns: { name: string; result: NumpyResult }[] = [];
numpyRuns.push({ name: "NumPy (inherited env)", result: await numpy({}) });
numpyRuns.push({
  name: "NumPy, OPENBLAS_NUM_THREADS=1",
  result: await numpy({ OPENBLAS_NUM_THREADS: "1" }),
});
if (TUNING.some((name) => Deno.env.get(name) !== undefined)) {
  numpyRuns.push({ name: "NumPy, CORETYPE/L2_SIZE unset", result: await numpy({}, TUNING) });
}
const blas = numpyRuns[0].result.blas ?? {};
console.log(
  `NumPy ${blas.numpy ?? "?"}: ${blas.config ?? "BLAS unknown"}, core ${blas.core ?? "?"}, ` +
    `${blas.threads ?? "?"} threads; ` +
    TUNING.map((name) => `${name}=${Deno.env.get(name) ?? "(unset)"}`).join(", "),
);

// ---- Table ----------------------------------------------------------------------------------

const nablaRow = (name: string, r: NablaResult) => ({
  name,
  perStep: r.perStep,
  outside: `${(100 * r.outsideMatmul).toFixed(1)}%`,
});
const rows = [
  nablaRow("nabla wasm, jit", jittedRun),
  nablaRow("nabla wasm, eager", eagerRun),
  ...(referenceRun ? [nablaRow("nabla cpu (reference), eager", referenceRun)] : []),
  ...torchRuns.map((r) => ({
    name: `PyTorch, ${r.threads} thread${r.threads > 1 ? "s" : ""}`,
    perStep: r.seconds_per_step,
    outside: "",
  })),
  ...numpyRuns.map((r) => ({ name: r.name, perStep: r.result.seconds_per_step, outside: "" })),
];
const torchBest = Math.min(...torchRuns.map((r) => r.seconds_per_step));
const anchor = torchRuns.length > 0 ? torchBest : jittedRun.perStep;
const anchorName = torchRuns.length > 0 ? "PyTorch" : "jit";
const width = Math.max(...rows.map((r) => r.name.length));
console.log(`\n${"".padEnd(width)}  s/step  s/epoch  time / ${anchorName}  outside matmul`);
for (const r of rows) {
  console.log(
    `${r.name.padEnd(width)}  ${r.perStep.toFixed(3).padStart(6)}  ` +
      `${(r.perStep * STEPS_PER_EPOCH).toFixed(1).padStart(7)}  ${
        (r.perStep / anchor).toFixed(2).padStart(7 + anchorName.length)
      }  ${r.outside.padStart(14)}`,
  );
}
console.log(
  `(${steps} timed steps after ${WARMUP} warm-up steps, ${referenceSteps} on the reference cpu; ` +
    `epoch = ${STEPS_PER_EPOCH} steps of batch ${BATCH}; ` +
    (torchRuns.length > 0
      ? "ratios to the faster PyTorch run)"
      : `ratios to nabla's jitted step: PyTorch is not installed, ${INSTALL})`),
);
console.log(
  `jitted step, first call (staging, compile, one step): ${firstJitted.firstCall.toFixed(3)} s; ` +
    `staging and compiling alone (lower on a fresh jit): ${compile.toFixed(3)} s`,
);
console.log(
  `cache hit, (a, b) => a.add(b) on float32[4]: jit ${hit.jitted.toFixed(1)} µs/call, eager ` +
    `${hit.eager.toFixed(1)} µs/call: jit adds ${(hit.jitted - hit.eager).toFixed(1)} µs`,
);
