import assert from "node:assert/strict";
import * as nb from "../../../mod.ts";
import { gpu, ignore } from "./_test_util.ts";
import { BufferPool } from "./_pool.ts";
import { jittedAdamStep, rssGrowth } from "../_memory_test_util.ts";

const { nn, optim, random } = nb;

Deno.test({
  name: "webgpu 1000 training steps keep the buffer pool bounded",
  ignore,
  fn: async () => {
    await nb.setDevice("webgpu");
    try {
      const model = nn.mlp([2, 8, 3]);
      let params = model.init(random.key(0));
      const opt = optim.sgd(0.5);
      let state = opt.init(params);
      const x = random.uniform(random.key(1), [16, 2]);
      const t = random.randint(random.key(2), [16], 0, 3);
      const step = nb.valueAndGrad((p: typeof params) =>
        nn.softmaxCrossEntropy(model.apply(p, x), t)
      );
      let first = NaN;
      let last = NaN;
      for (let i = 0; i < 1000; i++) {
        const [loss, grads] = step(params);
        const [updates, next] = opt.update(grads, state);
        params = optim.applyUpdates(params, updates);
        state = next;
        // Read the loss every tenth step: each read waits for the device's poll (~10 ms).
        if (i % 10 === 9) {
          last = (await loss.data())[0];
          if (Number.isNaN(first)) first = last;
        }
      }
      const s = gpu().stats();
      // Every step allocates about 60 buffers; without reuse 1000 steps would create 60000.
      // Collected tensors return theirs, so the pool stays at a few garbage-collection
      // cycles' worth of small buffers.
      assert.ok(s.created < 8000, `pool grew to ${s.created} buffers: ${JSON.stringify(s)}`);
      assert.ok(s.liveBytes + s.pooledBytes < 8 << 20, `pool holds ${JSON.stringify(s)}`);
      assert.ok(s.hits > 40000, `pool reuse: ${JSON.stringify(s)}`);
      assert.ok(last < first, `the loss went down from ${first} to ${last}`);
    } finally {
      await nb.setDevice("cpu");
    }
  },
});

Deno.test({
  name: "webgpu dispose() and using return buffers at once",
  ignore,
  fn: async () => {
    const x = await nb.tensor([1, 2, 3, 4]).to("webgpu");
    const run = () => {
      using a = x.mul(2);
      using b = a.add(1);
      using c = b.exp();
      return c.size;
    };
    for (let i = 0; i < 10; i++) run();
    const before = gpu().stats().created;
    for (let i = 0; i < 500; i++) run();
    assert.equal(gpu().stats().created, before, "no new buffer after warm-up");
    assert.deepEqual(await x.toArray(), [1, 2, 3, 4]);
  },
});

Deno.test({
  name: "the buffer pool hands out the buffer released last, and a collected one after the rest",
  ignore,
  fn: () => {
    const pool = new BufferPool(gpu().context.device, GPUBufferUsage.STORAGE, 1 << 20);
    const [a, b, c] = [pool.acquire(64), pool.acquire(64), pool.acquire(64)];
    pool.release(a);
    pool.release(c, true); // the garbage collector's
    pool.release(b);
    pool.commit();
    const order = [pool.acquire(64), pool.acquire(64), pool.acquire(64)];
    assert.deepEqual(order, [b, a, c]);
    order.forEach((buffer) => pool.release(buffer));
    pool.trim();
  },
});

Deno.test({
  name: "a pool in made-first order keeps handing each taker its buffer when one goes missing",
  ignore,
  fn: () => {
    const device = gpu().context.device;
    const pool = new BufferPool(device, GPUBufferUsage.STORAGE, 1 << 20, undefined, "firstMade");
    const [a, b, c] = [pool.acquire(64), pool.acquire(64), pool.acquire(64)];
    // A call gives back c and a but never b (a result its caller dropped).
    pool.release(c);
    pool.release(a);
    pool.commit();
    const [x, y, z] = [pool.acquire(64), pool.acquire(64), pool.acquire(64)];
    assert.deepEqual([x === a, y === c], [true, true]);
    assert.ok(z !== b && z !== a && z !== c, "the missing one is made anew");
    // Pending buffers count too: the first-made one of both lists comes first.
    pool.release(y);
    pool.commit();
    pool.release(x);
    assert.equal(pool.acquire(64, true), a);
    assert.equal(pool.acquire(64, true), c);
  },
});

Deno.test({
  name: "a jitted Adam step on webgpu, its loss dropped and never awaited, holds memory flat",
  ignore,
  fn: async () => {
    // 1000 steps with no await at all: each dropped loss keeps its small buffer until the
    // event loop turns, and nothing else may grow (V8's young generation starts at the size
    // these steps' garbage brings it to).
    const growth = await rssGrowth(
      jittedAdamStep(`await nb.setDevice("webgpu");
const model = nn.mlp([2, 32, 32, 3]);
const opt = optim.adam(1e-2);
const spiral = data.spiral();
const [x, t] = await Promise.all([spiral.x.to("webgpu"), spiral.t.to("webgpu")]);`) +
        `
const [leaves, def] = nb.tree.flatten<nb.Tensor>(model.init(random.key(0)));
let params = nb.tree.unflatten<Params>(def, await Promise.all(leaves.map((l) => l.to("webgpu"))));
let state = opt.init(params);
for (let i = 0; i < 1000; i++) {
  [params, state] = step(params, state);
  mark();
}`,
      { semiSpaceMiB: 16 },
    );
    assert.ok(growth <= 16, `the process grew by ${growth.toFixed(1)} MiB from step 100 to 1000`);
  },
});
