import assert from "node:assert/strict";
import { Allocator } from "./_allocator.ts";

const PAGE = 65536;
const memory = (initial = 1, maximum = 64) =>
  new WebAssembly.Memory({ initial, maximum, shared: true });

Deno.test("alloc returns aligned, disjoint, non-null blocks", () => {
  const heap = new Allocator(memory());
  const blocks = [1, 100, 64, 3000, 4].map((n) => [heap.alloc(n), n] as const);
  for (const [p] of blocks) {
    assert.ok(p > 0);
    assert.equal(p % 64, 0);
  }
  const sorted = [...blocks].sort((x, y) => x[0] - y[0]);
  for (let i = 1; i < sorted.length; i++) {
    assert.ok(sorted[i - 1][0] + sorted[i - 1][1] <= sorted[i][0], "blocks overlap");
  }
  assert.equal(heap.sizeOf(blocks[0][0]), 64);
  assert.equal(heap.stats().blocks, 5);
});

Deno.test("freed blocks are reused and coalesced; the bump pointer shrinks back", () => {
  const heap = new Allocator(memory());
  const a = heap.alloc(256), b = heap.alloc(256), c = heap.alloc(256), d = heap.alloc(64);
  heap.free(b);
  assert.equal(heap.alloc(200), b, "an exact-size hole is reused");
  heap.free(a);
  heap.free(b);
  heap.free(c); // a, b, c coalesce into one 768-byte block
  assert.equal(heap.alloc(700), a, "coalesced neighbours hold a bigger block");
  heap.free(a);
  heap.free(d); // everything is free: the heap collapses to its base
  assert.equal(heap.stats().top, 64);
  assert.equal(heap.stats().used, 0);
});

Deno.test("a training-loop pattern keeps the heap flat", () => {
  const heap = new Allocator(memory(1, 256));
  const sizes = [4096, 123 * 4, 65536, 4096, 777 * 4, 8];
  let top = 0;
  for (let step = 0; step < 1000; step++) {
    const live = sizes.map((s) => heap.alloc(s));
    // free in a different order than allocation, as a garbage collector would
    for (const i of [3, 0, 5, 1, 4, 2]) heap.free(live[i]);
    if (step === 1) top = heap.stats().top;
    if (step > 1) assert.equal(heap.stats().top, top, `heap grew at step ${step}`);
  }
  assert.equal(heap.stats().used, 0);
  assert.ok(heap.stats().peak >= sizes.reduce((s, x) => s + x, 0));
});

Deno.test("the memory grows in place and views are refreshed", () => {
  const heap = new Allocator(memory(1, 64));
  const before = heap.f32();
  const p = heap.alloc(3 * PAGE);
  assert.ok(heap.stats().memoryBytes >= p + 3 * PAGE);
  const after = heap.f32();
  assert.notEqual(before.length, after.length);
  after.fill(2, p / 4, (p + 3 * PAGE) / 4);
  assert.equal(heap.f32()[(p + 3 * PAGE) / 4 - 1], 2);
  assert.equal(heap.i32().length, after.length);
  assert.equal(heap.u8().length, after.length * 4);
});

Deno.test("errors: double free, bad sizes and exhaustion", () => {
  const heap = new Allocator(memory(1, 2));
  const p = heap.alloc(10);
  heap.free(p);
  assert.throws(() => heap.free(p), /not a live block/);
  assert.throws(() => heap.alloc(-1), RangeError);
  assert.throws(() => heap.alloc(NaN), RangeError);
  assert.throws(() => heap.alloc(3 * PAGE), /heap exhausted/);
  assert.throws(() => new Allocator(memory(), 0, 48), RangeError);
});
