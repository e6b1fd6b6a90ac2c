/**
 * Square float32 matmul, 128² to 2048², on nabla's default (wasm) and WebGPU devices beside jax-js
 * (`npm:@jax-js/jax`, its wasm and webgpu devices) in the same run. Every iteration ends by
 * awaiting a result, so GPU timings include completion, not only the enqueue; small sizes run
 * several products per iteration so that the device's completion latency (about 10 ms per
 * wait in Deno) does not swamp them. A GFLOP/s table (2·n³ per product) is printed at the end.
 *
 * Run: `deno bench -c bench/deno.json --allow-read --allow-env bench/matmul_bench.ts`
 * (add `-- --sizes 128,512` to pick sizes).
 *
 * @module
 */

import * as jax from "@jax-js/jax";
import { parseArgs } from "node:util";
import * as nb from "../mod.ts";
import { probeWebGpu, throughputTable } from "./_throughput.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: { sizes: { type: "string", default: "128,256,512,1024,2048" } },
});
const SIZES = args.sizes!.split(",").map(Number);

const { gpuReady, hardware } = await probeWebGpu();
const jaxDevices = await jax.init("wasm", "webgpu");
const np = jax.numpy;

// ---- throughput table -----------------------------------------------------------------------

const timed = throughputTable("GFLOP/s (2·n³ per product, completion included):", 32);

// ---- the benchmarks -------------------------------------------------------------------------

for (const n of SIZES) {
  const flop = 2 * n ** 3;
  // Enough products per iteration for ~0.25 GFLOP (100 on a hardware GPU), and few
  // iterations at the large sizes.
  const reps = Math.max(1, Math.round(2.5e8 / flop));
  const gpuReps = hardware ? Math.max(1, Math.round(1e11 / flop)) : reps;
  const iters = n >= 1024 ? { n: 3, warmup: 1 } : n >= 512 ? { n: 8, warmup: 2 } : {};
  const gflop = (reps * flop) / 1e9;
  const gpuGflop = (gpuReps * flop) / 1e9;
  const group = `matmul ${n}x${n} (${reps} per iteration, ${gpuReps} on the GPU)`;
  const key = nb.random.key(n);
  const a = nb.random.uniform(key, [n, n]);
  const b = nb.random.uniform(nb.random.foldIn(key, 1), [n, n]);
  const aData = Float32Array.from(await a.data());
  const bData = Float32Array.from(await b.data());

  Deno.bench({ name: `nabla ${a.device}`, group, baseline: true, ...iters }, async () => {
    await timed(`${n}: nabla ${a.device}`, gflop, async () => {
      // Disposed after the read, as jax-js's `data()` consumes its array.
      for (let r = 0; r < reps; r++) {
        using y = a.matmul(b);
        await y.data();
      }
    });
  });

  if (gpuReady) {
    const ga = await a.to("webgpu");
    const gb = await b.to("webgpu");
    Deno.bench({ name: "nabla webgpu", group, ...iters }, async () => {
      await timed(`${n}: nabla webgpu`, gpuGflop, async () => {
        let c = ga.matmul(gb);
        for (let r = 1; r < gpuReps; r++) {
          c.dispose();
          c = ga.matmul(gb);
        }
        // One element read back waits for every product before it.
        await c.slice([0, 0], [1, 1]).data();
        c.dispose();
      });
    });
  }

  for (const dev of ["wasm", "webgpu"] as const) {
    if (!jaxDevices.includes(dev)) continue;
    const ja = np.array(aData, { shape: [n, n], device: dev });
    const jb = np.array(bData, { shape: [n, n], device: dev });
    const k = dev === "webgpu" ? gpuReps : reps;
    Deno.bench({ name: `jax-js ${dev}`, group, ...iters }, async () => {
      await timed(`${n}: jax-js ${dev}`, (k * flop) / 1e9, async () => {
        let c = np.matmul(ja.ref, jb.ref);
        for (let r = 1; r < k; r++) {
          c.dispose();
          c = np.matmul(ja.ref, jb.ref);
        }
        await c.blockUntilReady();
        c.dispose();
      });
    });
  }
}
