import assert from "node:assert/strict";
import { matmulF32 } from "./_api.ts";
import { WasmContext } from "./_context.ts";
import { elementwiseKernels } from "./_elementwise.ts";
import { ModuleBuilder } from "./_emitter.ts";
import { relaxedSimdSupported } from "./_matmul.ts";
import { reduceKernels } from "./_reduce.ts";
import { assertMatmulClose, naiveMatmul, randomF32 } from "./_test_util.ts";

// Workers that stay until closed, however slowly a loaded machine lets the test go on.
const PATIENT = { initialPages: 16, idleMillis: 60_000 };

async function untilReady(ctx: WasmContext, workers: number): Promise<void> {
  for (let i = 0; i < 500 && ctx.readyWorkers < workers; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(ctx.readyWorkers, workers, "workers did not start within 5 s");
}

// Products split along n share a packed A ([7, 300, 500], [130, 600, 1030]: whole panels and
// a last, partial one), along m a packed B ([500, 300, 7]: a partial panel alone; [400, 70,
// 20]: two whole panels and a partial one).
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [37, 53, 29],
  [7, 300, 500],
  [500, 300, 7],
  [400, 70, 20],
  [130, 600, 1030],
  [64, 64, 64],
];

for (const relaxed of relaxedSimdSupported() ? [true, false] : [false]) {
  Deno.test(`threaded matmul (${relaxed ? "relaxed_madd" : "mul+add"}) matches naive`, async () => {
    // Three threads on any machine, and every product split, so the hand-off is exercised.
    const ctx = new WasmContext({ threads: 3, parallelThreshold: 0, relaxed, ...PATIENT });
    try {
      // The first call starts the pool and computes alone; later calls share the work.
      const a0 = randomF32(64 * 64, 1);
      assertMatmulClose(
        matmulF32(a0, a0, 64, 64, 64, { context: ctx }),
        naiveMatmul(a0, a0, 64, 64, 64),
        "before the workers are ready",
      );
      await untilReady(ctx, 2);
      for (const [m, k, n] of SHAPES) {
        const a = randomF32(m * k, m + k), b = randomF32(k * n, n + 2 * k);
        for (const [transA, transB] of [[false, false], [true, false], [false, true]]) {
          const c = matmulF32(a, b, m, k, n, { transA, transB, context: ctx });
          assertMatmulClose(
            c,
            naiveMatmul(a, b, m, k, n, transA, transB),
            `threaded ${m}×${k}×${n} transA=${transA} transB=${transB}`,
          );
        }
      }
    } finally {
      ctx.close();
    }
  });
}

Deno.test("threaded batched gemm with accumulation, repeated many times", async () => {
  const ctx = new WasmContext({ threads: 3, parallelThreshold: 0, ...PATIENT });
  try {
    const [m, k, n, batch] = [19, 33, 21, 5];
    const a = randomF32(batch * m * k, 3), b = randomF32(batch * k * n, 4);
    const pa = ctx.heap.alloc(4 * a.length), pb = ctx.heap.alloc(4 * b.length);
    const pc = ctx.heap.alloc(4 * batch * m * n);
    ctx.heap.f32().set(a, pa / 4);
    ctx.heap.f32().set(b, pb / 4);
    ctx.gemm({ a: pa, b: pb, c: pc, m, n, k, batch }); // starts the pool
    await untilReady(ctx, 2);
    // Many back-to-back jobs: catches hand-off races (a late worker taking a stale chunk).
    const reps = 200;
    for (let r = 0; r < reps; r++) {
      ctx.gemm({ a: pa, b: pb, c: pc, m, n, k, batch, accumulate: true });
    }
    for (let i = 0; i < batch; i++) {
      const ref = naiveMatmul(
        a.subarray(i * m * k, (i + 1) * m * k),
        b.subarray(i * k * n, (i + 1) * k * n),
        m,
        k,
        n,
      );
      const scaled = {
        c: ref.c.map((x) => (reps + 1) * x),
        scale: ref.scale.map((x) => (reps + 1) * x),
      };
      const got = ctx.heap.f32().slice(pc / 4 + i * m * n, pc / 4 + (i + 1) * m * n);
      assertMatmulClose(got, scaled, `batch ${i} after ${reps} accumulations`);
    }
  } finally {
    ctx.close();
  }
});

Deno.test("close() stops the workers; the context keeps working and can restart them", async () => {
  const ctx = new WasmContext({ threads: 2, parallelThreshold: 0, ...PATIENT });
  const a = randomF32(50 * 40, 9), b = randomF32(40 * 30, 10);
  const expected = naiveMatmul(a, b, 50, 40, 30);
  matmulF32(a, b, 50, 40, 30, { context: ctx });
  await untilReady(ctx, 1);
  ctx.close();
  assert.equal(ctx.readyWorkers, 0);
  assertMatmulClose(matmulF32(a, b, 50, 40, 30, { context: ctx }), expected, "restarted pool");
  await untilReady(ctx, 1);
  assertMatmulClose(matmulF32(a, b, 50, 40, 30, { context: ctx }), expected, "with new workers");
  ctx.close();
  ctx.close(); // idempotent
});

Deno.test("small products stay on the calling thread (no pool is started)", async () => {
  const ctx = new WasmContext({ threads: 2, parallelThreshold: 2 ** 18 });
  const a = randomF32(32 * 32, 11);
  assertMatmulClose(
    matmulF32(a, a, 32, 32, 32, { context: ctx }),
    naiveMatmul(a, a, 32, 32, 32),
    "small",
  );
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(ctx.readyWorkers, 0);
});

Deno.test("the default context computes with its pool left running (the process still exits)", () => {
  const [m, k, n] = [128, 256, 96];
  const a = randomF32(m * k, 12), b = randomF32(k * n, 13);
  assertMatmulClose(matmulF32(a, b, m, k, n), naiveMatmul(a, b, m, k, n), "default context");
});

Deno.test("threaded elementwise, softmax and row reductions equal the one-thread results", async () => {
  const ctx = new WasmContext({ threads: 3, ...PATIENT });
  const one = new WasmContext({ threads: 1, initialPages: 16 });
  try {
    const n = (1 << 19) + 5; // above the split threshold, with a partial last vector
    const rows = 300, cols = 1021; // softmax and row sums: rows split between threads (< n)
    const run = (c: WasmContext) => {
      const data = randomF32(n, 7), other = randomF32(n, 8);
      const x = c.heap.alloc(4 * n + 16), y = c.heap.alloc(4 * n + 16);
      const o = c.heap.alloc(4 * n + 16);
      c.heap.f32().set(data, x / 4);
      c.heap.f32().set(other, y / 4);
      const k = elementwiseKernels(c), r = reduceKernels(c);
      const out: Float32Array[] = [];
      const read = (p: number, len: number) => out.push(c.heap.f32().slice(p / 4, p / 4 + len));
      for (const op of ["exp", "tanh", "sigmoid", "neg"]) {
        k.unary(op, x, o, n);
        read(o, n);
      }
      for (const mode of ["vv", "sv", "vs"] as const) {
        k.binary("mul", x, y, o, n, mode);
        read(o, n);
      }
      r.softmax(x, o, rows, cols);
      read(o, rows * cols);
      r.logSoftmax(x, o, rows, cols);
      read(o, rows * cols);
      r.reduce("sum", x, o, rows, cols, 1);
      read(o, rows);
      return out;
    };
    run(ctx); // starts the pool; its workers join while this runs alone
    await untilReady(ctx, 2);
    const threaded = run(ctx), single = run(one);
    threaded.forEach((t, i) => assert.deepEqual(t, single[i], `result ${i} differs`));
  } finally {
    ctx.close();
  }
});

Deno.test("an idle worker retires after idleMillis and the next big product starts it again", async () => {
  const ctx = new WasmContext({ threads: 2, parallelThreshold: 0, idleMillis: 20 });
  try {
    const a = randomF32(64 * 48, 14), b = randomF32(48 * 40, 15);
    const expected = naiveMatmul(a, b, 64, 48, 40);
    matmulF32(a, b, 64, 48, 40, { context: ctx });
    await untilReady(ctx, 1);
    for (let i = 0; i < 100 && ctx.readyWorkers > 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(ctx.readyWorkers, 0, "the idle worker did not retire within 1 s");
    // Computed alone while the new worker starts, then shared with it.
    assertMatmulClose(matmulF32(a, b, 64, 48, 40, { context: ctx }), expected, "after retiring");
    await untilReady(ctx, 1);
    assertMatmulClose(matmulF32(a, b, 64, 48, 40, { context: ctx }), expected, "restarted");
  } finally {
    ctx.close();
  }
});

// A program that multiplies 1024² matrices with nabla's public API on the default device until
// one product ran on every thread (workers join once started, in the background), and prints
// the thread counts and the largest error of two rows against a plain JS product. `base` is
// where the repository is (a file or http URL).
function probe(base: string): string {
  return `
import * as nb from "${base}mod.ts";
import { defaultWasmContext } from "${base}lib/backends/wasm/mod.ts";
const n = 1024;
const values = Float32Array.from({ length: n * n }, (_, i) => ((i * 7919) % 201) / 100 - 1);
const a = nb.tensor(values, { shape: [n, n] });
const ctx = defaultWasmContext();
let c = a.matmul(a);
for (let i = 0; i < 100 && ctx.threadsUsed < ctx.threads; i++) {
  await new Promise((r) => setTimeout(r, 10));
  c.dispose();
  c = a.matmul(a);
}
const used = ctx.threadsUsed;
const got = c.dataSync();
let error = 0;
for (const i of [0, n - 1]) {
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += values[i * n + k] * values[k * n + j];
    error = Math.max(error, Math.abs(got[i * n + j] - s));
  }
}
console.log(JSON.stringify({ device: a.device, threads: ctx.threads, used, error }));
`;
}

// Runs `deno <args>` with stdin closed, no permission flags beyond `args`, in `cwd`; the
// child must exit by itself (idle workers retire) within 30 s.
async function deno(args: string[], cwd: string, env: Record<string, string> = {}) {
  const out = await new Deno.Command("deno", {
    args,
    cwd,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  assert.equal(out.code, 0, `deno ${args.join(" ")} failed:\n${text(out.stderr)}`);
  return { stdout: text(out.stdout), stderr: text(out.stderr) };
}

function assertAllThreads({ stdout }: { stdout: string }): void {
  const report = JSON.parse(stdout.trim().split("\n").at(-1)!);
  assert.equal(report.device, "wasm");
  assert.equal(report.threads, navigator.hardwareConcurrency);
  assert.equal(report.used, report.threads, "not every thread took part");
  assert.ok(report.error < 1e-3, `max error ${report.error}`);
}

const repository = new URL("../../../", import.meta.url);

Deno.test("deno run without permissions computes on every thread", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/probe.ts`, probe(repository.href));
    assertAllThreads(await deno(["run", "probe.ts"], dir));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("nabla imported over http computes on every thread", async () => {
  const dir = await Deno.makeTempDir();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    if (req.method !== "GET" || !path.endsWith(".ts") || path.includes("..")) {
      return new Response("not found", { status: 404 });
    }
    try {
      const body = await Deno.readFile(new URL(`.${path}`, repository));
      return new Response(body, { headers: { "content-type": "application/typescript" } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  try {
    const host = `127.0.0.1:${server.addr.port}`;
    await Deno.writeTextFile(`${dir}/probe.ts`, probe(`http://${host}/`));
    // Its own cache: remote modules of a one-off port stay out of the user's.
    const env = { DENO_DIR: `${dir}/cache` };
    assertAllThreads(await deno(["run", `--allow-import=${host}`, "probe.ts"], dir, env));
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a minified bundle that keeps names computes on every thread", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/probe.ts`, probe(repository.href));
    await deno(["bundle", "--minify", "--keep-names", "-o", "probe.js", "probe.ts"], dir);
    assertAllThreads(await deno(["run", "probe.js"], dir));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("without web workers the context computes alone and says so once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/probe.ts`,
      `
Reflect.deleteProperty(globalThis, "Worker");
const { WasmContext } = await import("${repository.href}lib/backends/wasm/mod.ts");
const ctx = new WasmContext({ threads: 3, parallelThreshold: 0, initialPages: 16 });
const [a, b, c] = [0, 1, 2].map(() => ctx.heap.alloc(4 * 64 * 64));
ctx.heap.f32().fill(1, a / 4, a / 4 + 2 * 64 * 64);
for (let i = 0; i < 3; i++) ctx.gemm({ a, b, c, m: 64, n: 64, k: 64 });
console.log(JSON.stringify({ value: ctx.heap.f32()[c / 4], used: ctx.threadsUsed }));
`,
    );
    const { stdout, stderr } = await deno(["run", "probe.ts"], dir);
    assert.deepEqual(JSON.parse(stdout), { value: 64, used: 1 });
    assert.equal(stderr.match(/no worker thread could start/g)?.length, 1, stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a kernel registered after the memory grew runs on workers started before", async () => {
  // (A worker whose view of the memory was stale failed to load such a kernel, and the job with
  // it; seen under a profiler, whose interrupts delay the news of a growth.)
  const ctx = new WasmContext({ threads: 2, parallelThreshold: 0, ...PATIENT });
  // fill(dst, count): count words of `value`
  const fill = (value: number) => {
    const mb = new ModuleBuilder().importMemory("env", "memory", {
      initial: 0,
      maximum: 65536,
      shared: true,
    });
    mb.addFunction("fill", ["i32", "i32"], [], (f) => {
      const [p, count] = [f.param(0), f.param(1)];
      f.block((exit) => {
        f.loop((top) => {
          f.local.get(count).i32.eqz().brIf(exit);
          f.local.get(p).i32.const(value).i32.store();
          f.local.get(p).i32.const(4).i32.add().local.set(p);
          f.local.get(count).i32.const(1).i32.sub().local.set(count).br(top);
        });
      });
    });
    return ctx.registerKernel(mb.toBytes()).index!;
  };
  // Runs kernel `index` on n words at dst until both threads took part, checking each result.
  const runEverywhere = async (index: number, dst: number, n: number, value: number) => {
    let used = 0;
    for (let call = 0; call < 100 && used < 2; call++) {
      if (call > 0) await new Promise((r) => setTimeout(r, 10));
      ctx.heap.u8().fill(0, dst, dst + 4 * n);
      ctx.mapAt(index, [dst, 0], { units: n, steps: [4, 0], countAt: 1, scale: 1 });
      used = ctx.threadsUsed;
      const words = new Int32Array(ctx.memory.buffer, dst, n);
      assert.ok(words.every((w) => w === value), `every word is ${value}`);
    }
    assert.equal(used, 2, "threads used");
  };
  try {
    const a = randomF32(64 * 64, 14);
    matmulF32(a, a, 64, 64, 64, { context: ctx }); // starts the pool
    await untilReady(ctx, 1);
    // The worker loads a first kernel, and so looks at the memory as it is.
    const first = ctx.heap.alloc(4 << 20);
    await runEverywhere(fill(5), first, 1 << 20, 5);
    // Then the memory grows, and a second kernel's bytes land past what the workers saw.
    const before = ctx.memory.buffer.byteLength;
    const n = before / 2;
    const dst = ctx.heap.alloc(4 * n);
    const second = fill(7);
    assert.ok(ctx.memory.buffer.byteLength > before, "the memory grew");
    await runEverywhere(second, dst, n, 7);
  } finally {
    ctx.close();
  }
});
