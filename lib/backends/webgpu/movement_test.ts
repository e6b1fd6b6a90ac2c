import assert from "node:assert/strict";
import * as nb from "../../../mod.ts";
import type { GpuArray } from "./_array.ts";
import { agree, bools, ignore, ints, uniform } from "./_test_util.ts";

Deno.test({
  name: "webgpu views: reshape, broadcast, transpose, slice compose without copies",
  ignore,
  fn: async () => {
    await agree(
      (x) => [
        x.reshape([6, -1]),
        x.transpose([2, 0, 1]),
        x.transpose([2, 0, 1]).reshape([5, 6]),
        x.slice([1, 1, 2], [1, 2, 3]),
        x.slice([0, 1, 0], [2, 2, 5]).transpose([1, 0, 2]).reshape([-1]),
        x.slice([0, 0, 4], [2, 3, 1]).broadcastTo([4, 2, 3, 7]),
        x.T.expandDims(1).squeeze(1),
      ],
      [uniform([2, 3, 5], 1)],
    );
    await agree((i, b) => [i.T.reshape([-1]), b.slice([1, 0], [2, 2]).T], [
      ints([3, 4], 2),
      bools([3, 4], 3),
    ]);
  },
});

Deno.test({
  name: "webgpu pad and concat, with values, dtypes and strided inputs",
  ignore,
  fn: async () => {
    await agree(
      (x) => [
        x.pad([[1, 2], [0, 3]]),
        x.pad([[0, 0], [2, 0]], -7.5),
        x.T.pad([[3, 0], [1, 1]], 1),
        nb.concat([x, x.mul(2)], 0),
        nb.concat([x, x.T.slice([0, 0], [4, 3]).T, x.slice([0, 1], [3, 2])], 1),
        nb.stack([x, x.neg()], 2),
      ],
      [uniform([3, 4], 4)],
    );
    await agree(
      (i, b) => [i.pad([[1, 1]], 9), b.pad([[2, 0]], 5), nb.concat([i, i.T.reshape([-1])])],
      [
        ints([6], 5),
        bools([6], 6),
      ],
    );
    await agree((x) => nb.concat([x, x.slice([0], [0]), x]), [uniform([3], 7)]);
  },
});

Deno.test({
  name: "webgpu views share storage: disposing one view keeps the others readable",
  ignore,
  fn: async () => {
    const x = await nb.tensor([[1, 2, 3], [4, 5, 6]]).to("webgpu");
    const storage = (x.buffer as GpuArray).storage;
    const t = x.T;
    const r = x.reshape([3, 2]);
    const s = x.slice([1, 0], [1, 3]);
    const g = nb.stopGradient(x);
    for (const v of [t, r, s, g]) assert.equal((v.buffer as GpuArray).storage, storage);
    assert.equal(storage.refs, 5);
    x.dispose();
    await assert.rejects(() => x.data(), /disposed/);
    assert.deepEqual(await t.toArray(), [[1, 4], [2, 5], [3, 6]]);
    t.dispose();
    r.dispose();
    assert.deepEqual(await s.toArray(), [[4, 5, 6]]);
    s.dispose();
    assert.equal(storage.refs, 1, "one view still holds the storage");
    assert.deepEqual(await g.toArray(), [[1, 2, 3], [4, 5, 6]]);
    g.dispose();
    g.dispose(); // idempotent
    assert.equal(storage.refs, 0, "the last view returned it to the pool");
  },
});
