import assert from "node:assert/strict";
import { CpuBuffer } from "../cpu/mod.ts";
import { WasmContext } from "./_context.ts";
import { Reclaimer } from "./_reclaim.ts";
import { HeapStorage, WasmBuffer } from "./_storage.ts";
import type { Tensor } from "../../../mod.ts";
import { jittedAdamStep, rssGrowth } from "../_memory_test_util.ts";

function heapBuffer(heap: HeapStorage, values: number[], shape: number[]): WasmBuffer {
  const a = heap.array("float32", values.length);
  a.set(values);
  const buffer = new WasmBuffer(new CpuBuffer(a, shape), heap.adopt(a)!);
  heap.sweep();
  return buffer;
}

Deno.test("eviction moves values to ordinary arrays and rebases every view", () => {
  const heap = new HeapStorage(new WasmContext({ threads: 1 }));
  const base = heap.stats(); // the context's own blocks
  const x = heapBuffer(heap, [1, 2, 3, 4, 5, 6], [2, 3]);
  // A transposed view holding the same block, as the transpose kernel makes it.
  const t = new WasmBuffer(new CpuBuffer(x.view.data, [3, 2], [1, 3], 0), x.block);
  const y = heapBuffer(heap, [7, 8], [2]);
  assert.equal(heap.stats().blocks, base.blocks + 2);
  heap.evict();
  assert.equal(heap.stats().blocks, base.blocks);
  assert.equal(heap.stats().used, base.used);
  for (const b of [x, t, y]) {
    assert.equal(b.block, null);
    assert.equal(heap.address(b.view.data), undefined, "the values left the heap");
  }
  assert.equal(x.view.data, t.view.data, "views of one block share one copy");
  assert.deepEqual([...x.view.data.slice(0, 6)], [1, 2, 3, 4, 5, 6]);
  assert.deepEqual([t.view.strides, t.view.shape], [[1, 3], [3, 2]]);
  assert.deepEqual([...y.view.data.slice(0, 2)], [7, 8]);
  // The memory is reused, and claims that outlived the eviction release nothing twice.
  const z = heapBuffer(heap, [9], [1]);
  heap.release(x.hold);
  heap.release(t.hold);
  assert.equal(heap.stats().blocks, base.blocks + 1);
  assert.deepEqual([...z.view.data], [9]);
});

Deno.test("release frees a block with its last holder only", () => {
  const heap = new HeapStorage(new WasmContext({ threads: 1 }));
  const base = heap.stats().blocks;
  const x = heapBuffer(heap, [1, 2], [2]);
  const v = new WasmBuffer(new CpuBuffer(x.view.data, [1, 2]), x.block);
  heap.release(x.hold);
  heap.release(x.hold); // idempotent
  assert.equal(heap.stats().blocks, base + 1);
  assert.deepEqual([...v.view.data], [1, 2]);
  heap.release(v.hold);
  assert.equal(heap.stats().blocks, base);
});

Deno.test("a stretch without turns evicts past the floor; a turn learns the working set", async () => {
  const heap = new HeapStorage(new WasmContext({ threads: 1 }));
  const base = heap.stats().used;
  const reclaimer = new Reclaimer(heap, { floor: 64 << 10, turnAfter: 16 << 10 });
  const kib = (n: number) => heapBuffer(heap, new Array(n * 256).fill(1), [n * 256]);
  const kept = kib(48);
  reclaimer.beforeKernel();
  assert.notEqual(kept.block, null, "48 KiB is under the floor");
  kib(32);
  reclaimer.beforeKernel();
  assert.equal(kept.block, null, "80 KiB since the last turn: evicted");
  assert.equal(heap.stats().used, base);
  // A turn after an evicting stretch doubles the limit: 96 KiB stays, 160 KiB goes.
  await reclaimer.settle(null);
  const a = kib(96);
  reclaimer.beforeKernel();
  assert.notEqual(a.block, null);
  kib(64);
  reclaimer.beforeKernel();
  assert.equal(a.block, null);
});

Deno.test("a stretch without turns stops registering tensors; a turn evicts what it left", async () => {
  const heap = new HeapStorage(new WasmContext({ threads: 1 }));
  const reclaimer = new Reclaimer(heap, { registrations: 2 });
  const answers = Array.from({ length: 10 }, () => reclaimer.collectable());
  assert.deepEqual(answers, [...new Array(8).fill(true), false, false]);
  const left = heapBuffer(heap, [1, 2], [2]);
  // Eight registrations turn the loop at the next read; the turn evicts the unregistered block.
  assert.equal(await reclaimer.settle(7), 7);
  assert.equal(left.block, null);
  assert.deepEqual([...left.view.data.slice(0, 2)], [1, 2]);
  assert.equal(reclaimer.collectable(), true, "a new stretch registers again");
});

Deno.test("a compiled program's blocks stay in the heap while it runs", () => {
  const heap = new HeapStorage(new WasmContext({ threads: 1 }));
  const reclaimer = new Reclaimer(heap, { floor: 64 << 10 });
  const kib = (n: number) => heapBuffer(heap, new Array(n * 256).fill(1), [n * 256]);
  const kept = reclaimer.planned(() => {
    const a = kib(48);
    reclaimer.beforeKernel();
    kib(48);
    reclaimer.beforeKernel(); // 96 KiB: past the floor, but the program holds its working set
    return a;
  });
  assert.notEqual(kept.block, null);
  reclaimer.beforeKernel(); // after the program, a stretch of 96 KiB is evicted as usual
  assert.equal(kept.block, null);
});

Deno.test("a compiled program's small outputs leave the heap; its big ones keep their blocks", async () => {
  const nb = await import("../../../mod.ts");
  const f = nb.jit((x: Tensor) => [x.exp().mul(2), x.sum(), x.reshape([-1])]);
  const blocks = (outs: Tensor[]) => outs.map((o) => (o.buffer as WasmBuffer).block !== null);
  const small = nb.tensor([1, 2, 3], { device: "wasm" });
  assert.deepEqual(blocks(f(small)), [false, false, false]);
  // 16 KiB and more: a heap block, as an eager result of that size holds one.
  const big = nb.ones([64, 64], { device: "wasm" });
  const [y, s, flat] = f(big);
  assert.deepEqual(blocks([y, s, flat]), [true, false, true]);
  assert.ok(Math.abs((await y.data())[4095] - 2 * Math.E) < 1e-5);
  assert.equal(s.item(), 4096);
});

// The loop a new user writes first: no `await`, no `dispose`, reading the loss every step.
const SYNC_LOOP = `
import * as nb from "${new URL("../../../mod.ts", import.meta.url).href}";
import { wasmBackend } from "${new URL("./_backend.ts", import.meta.url).href}";
const { nn, optim, random, data } = nb;
const model = nn.mlp([2, 128, 128, 3]);
let params = model.init(random.key(0));
const opt = optim.adam(1e-2);
let state = opt.init(params);
const { x, t } = data.spiral();
const lossOf = (p) => nn.softmaxCrossEntropy(model.apply(p, x), t);
const step = nb.valueAndGrad(lossOf);
const marks = {};
for (let i = 1; i <= 1000; i++) {
  const [loss, grads] = step(params);
  const [updates, next] = opt.update(grads, state, params);
  params = optim.applyUpdates(params, updates);
  state = next;
  const value = loss.item();
  if (i === 1 || i === 100 || i === 1000) {
    marks[i] = { loss: value, heap: wasmBackend.stats().memoryBytes, rss: Deno.memoryUsage().rss };
  }
}
console.log(JSON.stringify(marks));
`;

Deno.test("a synchronous training loop holds the wasm heap flat", async () => {
  const { code, stdout, stderr } = await new Deno.Command("deno", {
    args: ["eval", "--quiet", SYNC_LOOP],
    env: { NABLA_DEVICE: "wasm" },
    stdin: "null",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const marks = JSON.parse(new TextDecoder().decode(stdout));
  const MiB = 1 << 20;
  const heapGrowth = (marks[1000].heap - marks[100].heap) / MiB;
  const rssGrowth = (marks[1000].rss - marks[100].rss) / MiB;
  assert.ok(marks[1000].loss < marks[1].loss / 4, `loss ${marks[1].loss} -> ${marks[1000].loss}`);
  // Before eviction the heap grew by about 4 MiB a step (3.6 GB over these 900 steps).
  assert.ok(heapGrowth <= 16, `the wasm heap grew by ${heapGrowth} MiB from step 100 to 1000`);
  assert.ok(marks[1000].heap <= 96 * MiB, `the wasm heap reached ${marks[1000].heap / MiB} MiB`);
  // The evicted copies are ordinary garbage, collected on V8's own schedule.
  assert.ok(rssGrowth <= 192, `the process grew by ${rssGrowth} MiB from step 100 to 1000`);
});

// The README's training loop as written there (its first code block), run for 1000 steps with
// the process's resident set read at steps 100 and 1000; `eager` drops its `jit`.
function readmeLoop(eager: boolean): string {
  const readme = Deno.readTextFileSync(new URL("../../../README.md", import.meta.url));
  let code = readme.match(/```ts\n([^]*?)```/)![1];
  const edit = (from: string, to: string) => {
    assert.ok(code.includes(from), `the README's loop no longer contains ${from}`);
    code = code.replaceAll(from, to);
  };
  edit('"@nabla/nabla"', JSON.stringify(new URL("../../../mod.ts", import.meta.url).href));
  edit("epoch < 50;", "epoch < 100;");
  edit("state = next;", "state = next;\n    mark();");
  if (eager) edit("nb.jit(nb.grad(loss))", "nb.grad(loss)");
  return code;
}

for (const eager of [false, true]) {
  Deno.test(`the README's synchronous loop${eager ? " without jit" : ""} holds memory flat`, async () => {
    const growth = await rssGrowth(readmeLoop(eager), { semiSpaceMiB: 8 });
    assert.ok(growth <= 16, `the process grew by ${growth.toFixed(1)} MiB from step 100 to 1000`);
  });
}

Deno.test("a jitted Adam step with donated state holds memory flat over 1000 steps", async () => {
  // A 2-256-256-3 MLP on the 300 spiral points, the loss read every step, no await.
  const growth = await rssGrowth(
    jittedAdamStep(`const model = nn.mlp([2, 256, 256, 3]);
const opt = optim.adam(1e-3);
const { x, t } = data.spiral();`) +
      `
let params = model.init(random.key(0));
let state = opt.init(params);
for (let i = 0; i < 1000; i++) {
  const [p, s, value] = step(params, state);
  [params, state] = [p, s];
  value.item();
  mark();
}`,
    { semiSpaceMiB: 8 },
  );
  assert.ok(growth <= 16, `the process grew by ${growth.toFixed(1)} MiB from step 100 to 1000`);
});
