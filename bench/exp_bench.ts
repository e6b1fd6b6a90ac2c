/**
 * `exp` over 4M float32 values: nabla's `wasm` device (SIMD kernel, the result stays in the
 * heap) beside a plain `Float32Array` loop of `Math.exp`, nabla's reference `cpu` device and
 * jax-js on its `wasm` device. Throughput counts the bytes read and written (8 per element).
 *
 * After the run a GB/s table (median of the iterations, peers from the same run) is printed.
 *
 * Run: `deno bench -c bench/deno.json --allow-read --allow-env bench/exp_bench.ts`
 *
 * @module
 */

import * as jax from "@jax-js/jax";
import * as nb from "../mod.ts";

const N = 4 * 1024 * 1024;
const values = new Float32Array(N).map((_, i) => ((i * 7919) % 2001) / 100 - 10);

await jax.init("wasm");
jax.defaultDevice("wasm");

const onWasm = nb.tensor(values, { device: "wasm" });
const onCpu = nb.tensor(values, { device: "cpu" });
const jx = jax.numpy.array(values);
const out = new Float32Array(N);

const peers: [string, () => unknown][] = [
  ["nabla wasm device", () => nb.exp(onWasm).dispose()],
  ["plain Float32Array loop", () => {
    for (let i = 0; i < N; i++) out[i] = Math.exp(values[i]);
  }],
  ["nabla cpu (reference)", () => nb.exp(onCpu)],
  ["jax-js wasm", async () => (await jax.numpy.exp(jx.ref).blockUntilReady()).dispose()],
];

const samples = new Map<string, number[]>();
for (const [name, fn] of peers) {
  samples.set(name, []);
  Deno.bench(
    { name, group: "exp 4M", baseline: name.startsWith("plain"), n: 30, warmup: 5 },
    async () => {
      const t0 = performance.now();
      await fn();
      samples.get(name)!.push(performance.now() - t0);
    },
  );
}

globalThis.addEventListener("unload", () => {
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
  const rate = (name: string) => (8 * N) / median(samples.get(name)!) / 1e6;
  const loop = rate("plain Float32Array loop");
  console.log("\nexp over 4M float32, GB/s (median; ratio to the plain loop):");
  for (const [name] of peers) {
    if (samples.get(name)!.length === 0) continue;
    const r = rate(name);
    console.log(`  ${name.padEnd(26)} ${r.toFixed(2).padStart(7)}  (${(r / loop).toFixed(2)}×)`);
  }
});
