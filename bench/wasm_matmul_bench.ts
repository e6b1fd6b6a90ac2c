/**
 * float32 matmul on the CPU: nabla's `wasm` device (`nb.matmul` on heap-resident tensors) and
 * its raw kernels (SIMD, relaxed-SIMD FMA when available, worker threads) beside jax-js on its
 * `wasm` device and a plain blocked JS loop, at 256², 512², 1024² and the LSTM shape
 * [128×256]·[256×1024]. Every iteration includes reading the result back (jax-js:
 * `await y.data()`; nabla: copying C out of the wasm memory).
 *
 * After the run a GFLOP/s table (median of the iterations, peers from the same run) is printed.
 *
 * Run: `deno bench -c bench/deno.json --allow-read --allow-env bench/wasm_matmul_bench.ts`
 *
 * @module
 */

import * as jax from "@jax-js/jax";
import * as nb from "../mod.ts";
import { defaultWasmContext, matmulF32, WasmContext } from "../lib/backends/wasm/mod.ts";

interface Shape {
  name: string;
  m: number;
  k: number;
  n: number;
}

const SHAPES: Shape[] = [
  { name: "256²", m: 256, k: 256, n: 256 },
  { name: "512²", m: 512, k: 512, n: 512 },
  { name: "1024²", m: 1024, k: 1024, n: 1024 },
  { name: "[128×256]·[256×1024]", m: 128, k: 256, n: 1024 },
];

function random(length: number, seed: number): Float32Array<ArrayBuffer> {
  let s = seed;
  return new Float32Array(length).map(() => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

/** The plain-JS peer: i-p-j loop order (unit-stride inner loop) blocked over k and j. */
function jsMatmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array {
  const c = new Float32Array(m * n);
  const KB = 128, NB = 512; // a KB×NB block of B (256 KiB) stays in L2 across all rows
  for (let p0 = 0; p0 < k; p0 += KB) {
    const p1 = Math.min(k, p0 + KB);
    for (let j0 = 0; j0 < n; j0 += NB) {
      const j1 = Math.min(n, j0 + NB);
      for (let i = 0; i < m; i++) {
        const ci = i * n;
        for (let p = p0; p < p1; p++) {
          const x = a[i * k + p], bp = p * n - ci;
          for (let j = ci + j0; j < ci + j1; j++) c[j] += x * b[bp + j];
        }
      }
    }
  }
  return c;
}

await jax.init("wasm");
jax.defaultDevice("wasm");

const threaded = new WasmContext();
const single = new WasmContext({ threads: 1 });
const samples = new Map<string, Map<string, number[]>>();

function record(shape: Shape, peer: string, ms: number): void {
  if (!samples.has(shape.name)) samples.set(shape.name, new Map());
  const bySeries = samples.get(shape.name)!;
  if (!bySeries.has(peer)) bySeries.set(peer, []);
  bySeries.get(peer)!.push(ms);
}

for (const [si, shape] of SHAPES.entries()) {
  const { m, k, n } = shape;
  const a = random(m * k, 2 * si + 1), b = random(k * n, 2 * si + 2);
  const ja = jax.numpy.array(a).reshape([m, k]), jb = jax.numpy.array(b).reshape([k, n]);
  const resident = (ctx: WasmContext) => {
    const pa = ctx.heap.alloc(4 * m * k), pb = ctx.heap.alloc(4 * k * n);
    const pc = ctx.heap.alloc(4 * m * n);
    ctx.heap.f32().set(a, pa / 4);
    ctx.heap.f32().set(b, pb / 4);
    return () => {
      ctx.gemm({ a: pa, b: pb, c: pc, m, n, k });
      return ctx.heap.f32().slice(pc / 4, pc / 4 + m * n);
    };
  };
  const na = nb.tensor(a, { shape: [m, k], device: "wasm" });
  const nbB = nb.tensor(b, { shape: [k, n], device: "wasm" });
  const device = () => {
    using c = nb.matmul(na, nbB);
    return c.dataSync();
  };
  const slow = m * k * n >= 2 ** 28; // keep the slow JS peer to a few iterations
  const peers: [string, () => unknown, boolean?][] = [
    ["jax-js wasm", async () => await jax.numpy.matmul(ja.ref, jb.ref).data(), true],
    ["nabla wasm device (nb.matmul)", device],
    [`nabla wasm ${threaded.threads} threads`, resident(threaded)],
    ["nabla wasm 1 thread", resident(single)],
    ["nabla matmulF32 (copy in/out)", () => matmulF32(a, b, m, k, n, { context: threaded })],
    ["plain JS blocked", () => jsMatmul(a, b, m, k, n)],
  ];
  for (const [peer, fn, baseline] of peers) {
    const js = peer.startsWith("plain");
    Deno.bench({
      name: `${shape.name} ${peer}`,
      group: shape.name,
      baseline: baseline ?? false,
      n: js ? (slow ? 3 : 10) : 50,
      warmup: js ? 1 : 10,
    }, async () => {
      const t0 = performance.now();
      await fn();
      record(shape, peer, performance.now() - t0);
    });
  }
}

// Workers start on the first big product; let them join before anything is measured.
matmulF32(random(256 * 256, 9), random(256 * 256, 10), 256, 256, 256, { context: threaded });
const device = defaultWasmContext();
nb.matmul(nb.ones([256, 256], { device: "wasm" }), nb.ones([256, 256], { device: "wasm" }));
for (const ctx of [threaded, device]) {
  for (let i = 0; i < 500 && ctx.readyWorkers < ctx.threads - 1; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
}

globalThis.addEventListener("unload", () => {
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
  const lines = ["", "GFLOP/s (median of iterations, including readback):", ""];
  for (const shape of SHAPES) {
    const series = samples.get(shape.name);
    if (!series) continue;
    const flops = 2 * shape.m * shape.k * shape.n;
    const rate = (peer: string) => flops / median(series.get(peer) ?? [NaN]) / 1e6;
    const jaxRate = rate("jax-js wasm");
    const cells = [...series.keys()].map((peer) => {
      const r = rate(peer);
      return `${peer}: ${r.toFixed(1)}${
        peer === "jax-js wasm" ? "" : ` (${(r / jaxRate).toFixed(2)}×)`
      }`;
    });
    lines.push(`${shape.name.padEnd(22)} ${cells.join(" | ")}`);
  }
  console.log(lines.join("\n"));
});
