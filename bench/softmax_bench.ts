/**
 * Softmax over the last axis of float32 `[N, 1024]` on nabla's default (wasm) and WebGPU devices beside
 * jax-js (`npm:@jax-js/jax`, its wasm and webgpu devices) in the same run. Every iteration ends
 * by awaiting a result, so GPU timings include completion; small sizes run several softmaxes
 * per iteration so that the device's completion latency (about 10 ms per wait in Deno) does not
 * swamp them. A GB/s table is printed at the end, counting the minimal traffic of one read and
 * one write of the array (8·N·1024 bytes per softmax).
 *
 * Run: `deno bench -c bench/deno.json --allow-read --allow-env bench/softmax_bench.ts`
 * (add `-- --rows 256,4096` to pick sizes).
 *
 * @module
 */

import * as jax from "@jax-js/jax";
import { parseArgs } from "node:util";
import * as nb from "../mod.ts";
import { probeWebGpu, throughputTable } from "./_throughput.ts";

const COLS = 1024;
const { values: args } = parseArgs({
  args: Deno.args,
  options: { rows: { type: "string", default: "256,1024,4096,16384" } },
});
const ROWS = args.rows!.split(",").map(Number);

const { gpuReady, hardware } = await probeWebGpu();
const jaxDevices = await jax.init("wasm", "webgpu");
const np = jax.numpy;

// ---- throughput table -----------------------------------------------------------------------

const timed = throughputTable(
  "GB/s (one read and one write of the array, completion included):",
  34,
);

// ---- the benchmarks -------------------------------------------------------------------------

for (const rows of ROWS) {
  const bytes = 8 * rows * COLS;
  const reps = Math.max(1, Math.round(2 ** 26 / bytes));
  const gpuReps = hardware ? Math.max(1, Math.round(2 ** 32 / bytes)) : reps;
  const iters = rows >= 16384 ? { n: 5, warmup: 1 } : {};
  const gb = (reps * bytes) / 1e9;
  const group = `softmax [${rows},${COLS}] (${reps} per iteration, ${gpuReps} on the GPU)`;
  // Logits up to ±20: large enough that an unstabilised softmax would overflow in exp.
  const x = nb.random.uniform(nb.random.key(rows), [rows, COLS], { minval: -20, maxval: 20 });
  const xData = Float32Array.from(await x.data());

  Deno.bench({ name: `nabla ${x.device}`, group, baseline: true, ...iters }, async () => {
    await timed(`[${rows},${COLS}]: nabla ${x.device}`, gb, async () => {
      // Disposed after the read, as jax-js's `data()` consumes its array.
      for (let r = 0; r < reps; r++) {
        using y = x.softmax();
        await y.data();
      }
    });
  });

  if (gpuReady) {
    const gx = await x.to("webgpu");
    Deno.bench({ name: "nabla webgpu", group, ...iters }, async () => {
      await timed(`[${rows},${COLS}]: nabla webgpu`, (gpuReps * bytes) / 1e9, async () => {
        let y = gx.softmax();
        for (let r = 1; r < gpuReps; r++) {
          y.dispose();
          y = gx.softmax();
        }
        // One element read back waits for every softmax before it.
        await y.slice([0, 0], [1, 1]).data();
        y.dispose();
      });
    });
  }

  for (const dev of ["wasm", "webgpu"] as const) {
    if (!jaxDevices.includes(dev)) continue;
    const jx = np.array(xData, { shape: [rows, COLS], device: dev });
    const k = dev === "webgpu" ? gpuReps : reps;
    Deno.bench({ name: `jax-js ${dev}`, group, ...iters }, async () => {
      await timed(`[${rows},${COLS}]: jax-js ${dev}`, (k * bytes) / 1e9, async () => {
        let y = jax.nn.softmax(jx.ref, -1);
        for (let r = 1; r < k; r++) {
          y.dispose();
          y = jax.nn.softmax(jx.ref, -1);
        }
        await y.blockUntilReady();
        y.dispose();
      });
    });
  }
}
