/**
 * The reduction, softmax and scatter-add float32 kernels' Wasm module, generated at run time
 * with the module emitter (WebAssembly SIMD). Every thread of a `WasmContext` instantiates it
 * on the shared memory; `_reduce.ts` checks the operands and calls it.
 *
 * - `reduce` of a dense row-major `[outer, k, inner]` over its middle axis. With `inner = 1`
 *   each row is reduced in registers; otherwise up to eight rows at a time are combined
 *   columnwise into an accumulator row, so memory is read in long runs rather than down
 *   columns. `sum` accumulates in float64 (two f64x2 per f32x4; the accumulator row is a
 *   scratch block of 8·inner bytes that the kernels keep for the next call) and rounds once at
 *   the end; `max`/`min` follow `Math.max`/`Math.min` (NaN wins, -0 < +0).
 * - `softmax`/`logSoftmax` over the last axis: the row maximum, then `exp(x - max)` with the
 *   SIMD `exp` of `_elementwise_module.ts` and its sum in float64, then a scale by `1/sum` or
 *   `x - max - log(sum)` (one `Math.log` call per row through an import). Large logits are
 *   safe because every exponent is ≤ 0. A row's last 1 to 3 elements are one more vector,
 *   read and written lane by lane, its other lanes masked off.
 * - `scatterAddRows`: `o[idx[i], :] += upd[i, :]`, sequentially, so repeated indices add up.
 *
 * Unlike the elementwise kernels these never touch a byte outside their operands: lengths
 * that are not a multiple of four end in scalar code or in lanes read and written one by one,
 * rather than in a whole vector.
 *
 * @example
 * ```ts
 * import { buildReduceModule } from "./_reduce_module.ts";
 * console.log(WebAssembly.validate(buildReduceModule())); // true
 * ```
 *
 * @module
 */

import { type FunctionBuilder, type Local, ModuleBuilder } from "./_emitter.ts";
import { emitExp, type ExpTemps, f32c, hoistConstants } from "./_elementwise_module.ts";

/** The reductions of the module (`sum_rows`, `max_cols`, ...). */
export type ReduceOp = "sum" | "max" | "min";

// Byte lanes of i8x16.shuffle: the high 64 bits moved to the low half (for promote_low).
const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
// Lanes 0-1 of the first operand then lanes 0-1 of the second (two demoted halves).
const JOIN_LOW = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
const SWAP_HALVES = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
const SWAP_PAIRS = [4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11];

// Unaligned vector access: rows of odd lengths start anywhere on a 4-byte boundary.
const A4 = 2;

/**
 * `while (end - p >= step) { body(); p += step }`. Differences of addresses stay right
 * modulo 2³² (pointers above 2 GiB, an operand ending at 4 GiB), where `p < end` would not.
 */
function stride(f: FunctionBuilder, p: Local, end: Local, step: number, body: () => void): void {
  f.block((exit) => {
    f.loop((top) => {
      f.local.get(end).local.get(p).i32.sub().i32.const(step).i32.lt_u().brIf(exit);
      body();
      f.local.get(p).i32.const(step).i32.add().local.set(p).br(top);
    });
  });
}

// (f64x2) widening of the vector in `v`: its lanes 0-1, or 2-3.
function low(f: FunctionBuilder, v: Local): void {
  f.local.get(v).f64x2.promote_low_f32x4();
}
function high(f: FunctionBuilder, v: Local): void {
  f.local.get(v).local.get(v).i8x16.shuffle(HIGH_HALF).f64x2.promote_low_f32x4();
}

function vop(f: FunctionBuilder, op: ReduceOp | "pmax"): void {
  if (op === "max") f.f32x4.max();
  else if (op === "min") f.f32x4.min();
  else if (op === "pmax") f.f32x4.pmax();
  else f.f32x4.add();
}
function sop(f: FunctionBuilder, op: ReduceOp | "pmax"): void {
  if (op === "min") f.f32.min();
  else if (op === "sum") f.f32.add();
  else f.f32.max(); // pmax's scalar tail: any NaN is caught by the sum of exps anyway
}

// Leaves op over the four lanes of `v` (clobbered) on the stack as an f32.
function horizontal(f: FunctionBuilder, v: Local, op: ReduceOp | "pmax"): void {
  f.local.get(v).local.get(v).local.get(v).i8x16.shuffle(SWAP_HALVES);
  vop(f, op);
  f.local.tee(v).local.get(v).local.get(v).i8x16.shuffle(SWAP_PAIRS);
  vop(f, op);
  f.f32x4.extract_lane(0);
}

// Vectors per iteration of the row loops: enough independent accumulators to hide the
// latency of f64x2.add / f32x4.max.
const UNROLL = 4;

// op_rows(x, o, rows, k): o[r] = op over x[r, 0..k).
function buildRows(mb: ModuleBuilder, op: ReduceOp): void {
  mb.addFunction(`${op}_rows`, ["i32", "i32", "i32", "i32"], [], (f) => {
    const [x, o, rows, k] = [0, 1, 2, 3].map((i) => f.param(i));
    const end = f.addLocal("i32"), r = f.addLocal("i32"), v = f.addLocal("v128");
    const acc = Array.from(
      { length: op === "sum" ? 2 * UNROLL : UNROLL },
      () => f.addLocal("v128"),
    );
    const s = f.addLocal(op === "sum" ? "f64" : "f32");
    const identity = op === "sum" ? 0 : op === "max" ? -Infinity : Infinity;
    // acc[j] (+)= the vector loaded at x + 16·j
    const accumulate = (j: number, slot: number) => {
      f.local.get(x).v128.load(16 * j, A4).local.set(v);
      if (op === "sum") {
        f.local.get(acc[2 * slot]);
        low(f, v);
        f.f64x2.add().local.set(acc[2 * slot]);
        f.local.get(acc[2 * slot + 1]);
        high(f, v);
        f.f64x2.add().local.set(acc[2 * slot + 1]);
      } else {
        f.local.get(acc[slot]).local.get(v);
        vop(f, op);
        f.local.set(acc[slot]);
      }
    };
    hoistConstants(f, () => {
      f.forRange(r, 0, rows, 1, () => {
        f.local.get(x).local.get(k).i32.const(2).i32.shl().i32.add().local.set(end);
        for (const a of acc) f32c(f, identity).local.set(a);
        stride(f, x, end, 16 * UNROLL, () => {
          for (let j = 0; j < UNROLL; j++) accumulate(j, j);
        });
        stride(f, x, end, 16, () => accumulate(0, 0));
        // Pairwise combination of the accumulators, then of the lanes.
        for (let w = acc.length >> 1; w >= 1; w >>= 1) {
          for (let j = 0; j < w; j++) {
            f.local.get(acc[j]).local.get(acc[j + w]);
            if (op === "sum") f.f64x2.add();
            else vop(f, op);
            f.local.set(acc[j]);
          }
        }
        if (op === "sum") {
          f.local.get(acc[0]).f64x2.extract_lane(0).local.get(acc[0]).f64x2.extract_lane(1);
          f.f64.add().local.set(s);
          stride(f, x, end, 4, () => {
            f.local.get(s).local.get(x).f32.load(0).f64.promote_f32().f64.add().local.set(s);
          });
          f.local.get(o).local.get(s).f32.demote_f64().f32.store();
        } else {
          horizontal(f, acc[0], op);
          f.local.set(s);
          stride(f, x, end, 4, () => {
            f.local.get(s).local.get(x).f32.load(0);
            sop(f, op);
            f.local.set(s);
          });
          f.local.get(o).local.get(s).f32.store();
        }
        f.local.get(o).i32.const(4).i32.add().local.set(o);
      });
    });
  });
}

// Rows combined per pass of the columnwise kernels: fewer passes over the accumulator row.
// Measured on [1024, 4096] → [4096] (DRAM-resident): 1 row per pass ran at 7 GB/s, 2 at 8,
// 4 at 13, 8 at 15-17.
const GROUP = 8;

// op_cols(x, o, outer, k, inner, scratch), k ≥ 1: o[a, c] = op over b of x[a, b, c]. `sum`
// accumulates a row of float64 at `scratch` (8·inner bytes); max/min accumulate in o itself.
function buildCols(mb: ModuleBuilder, op: ReduceOp): void {
  const params = ["i32", "i32", "i32", "i32", "i32", "i32"] as const;
  mb.addFunction(`${op}_cols`, [...params], [], (f) => {
    const [x, o, outer, k, inner, scratch] = [0, 1, 2, 3, 4, 5].map((i) => f.param(i));
    const rowBytes = f.addLocal("i32"), vecBytes = f.addLocal("i32");
    const a = f.addLocal("i32"), b = f.addLocal("i32"), c = f.addLocal("i32");
    const q = f.addLocal("i32");
    const rowPtr = [x, ...Array.from({ length: GROUP - 1 }, () => f.addLocal("i32"))];
    const v = Array.from({ length: GROUP }, () => f.addLocal("v128"));
    const zero = f.addLocal("v128");
    const sum = op === "sum";
    // Σ over the group of the widened halves, as a balanced tree.
    const tree = (n: number, leaf: (j: number) => void, add: () => void) => {
      const go = (lo: number, hi: number): void => {
        if (hi - lo === 1) return leaf(lo);
        const mid = (lo + hi) >> 1;
        go(lo, mid);
        go(mid, hi);
        add();
      };
      go(0, n);
    };
    // One pass over `g` rows from x (b += g); `init` overwrites the accumulator instead of adding.
    const pass = (g: number, init: boolean) => {
      for (let j = 1; j < g; j++) {
        f.local.get(rowPtr[j - 1]).local.get(rowBytes).i32.add().local.set(rowPtr[j]);
      }
      f.i32.const(0).local.set(c);
      stride(f, c, vecBytes, 16, () => {
        for (let j = 0; j < g; j++) {
          f.local.get(rowPtr[j]).local.get(c).i32.add().v128.load(0, A4).local.set(v[j]);
        }
        if (sum) {
          f.local.get(scratch).local.get(c).i32.const(1).i32.shl().i32.add().local.set(q);
          for (const [half, off] of [[low, 0], [high, 16]] as const) {
            f.local.get(q);
            if (!init) f.local.get(q).v128.load(off);
            tree(g, (j) => half(f, v[j]), () => f.f64x2.add());
            if (init) f.local.get(zero); // -0 + 0 = +0: a sum starts from +0, as in JS
            f.f64x2.add().v128.store(off);
          }
        } else {
          f.local.get(o).local.get(c).i32.add().local.tee(q);
          if (!init) f.local.get(q).v128.load(0, A4);
          tree(g, (j) => f.local.get(v[j]), () => vop(f, op));
          if (!init) vop(f, op);
          f.v128.store(0, A4);
        }
      });
      stride(f, c, rowBytes, 4, () => {
        const load = (j: number) => {
          f.local.get(rowPtr[j]).local.get(c).i32.add().f32.load();
          if (sum) f.f64.promote_f32();
        };
        if (sum) {
          f.local.get(scratch).local.get(c).i32.const(1).i32.shl().i32.add().local.tee(q);
          if (!init) f.local.get(q).f64.load();
          tree(g, load, () => f.f64.add());
          if (init) f.f64.const(0);
          f.f64.add().f64.store();
        } else {
          f.local.get(o).local.get(c).i32.add().local.tee(q);
          if (!init) f.local.get(q).f32.load();
          tree(g, load, () => sop(f, op));
          if (!init) sop(f, op);
          f.f32.store();
        }
      });
      f.local.get(x).local.get(rowBytes).i32.const(g).i32.mul().i32.add().local.set(x);
      f.local.get(b).i32.const(g).i32.add().local.set(b);
    };
    f.local.get(inner).i32.const(2).i32.shl().local.tee(rowBytes);
    f.i32.const(-16).i32.and().local.set(vecBytes);
    f.forRange(a, 0, outer, 1, () => {
      f.i32.const(0).local.set(b);
      pass(1, true);
      // while (k - b >= g) pass(g), for g = GROUP, then GROUP/2 once, then single rows
      const passes = (g: number, repeat: boolean) => {
        f.block((exit) => {
          f.loop((top) => {
            f.local.get(k).local.get(b).i32.sub().i32.const(g).i32.lt_s().brIf(exit);
            pass(g, false);
            if (repeat) f.br(top);
          });
        });
      };
      passes(GROUP, true);
      passes(GROUP >> 1, false);
      passes(1, true);
      if (sum) {
        // o = the float64 row rounded to float32, two demoted halves per vector
        f.i32.const(0).local.set(c);
        stride(f, c, vecBytes, 16, () => {
          f.local.get(o).local.get(c).i32.add();
          f.local.get(scratch).local.get(c).i32.const(1).i32.shl().i32.add().local.tee(q);
          f.v128.load(0).f32x4.demote_f64x2_zero();
          f.local.get(q).v128.load(16).f32x4.demote_f64x2_zero();
          f.i8x16.shuffle(JOIN_LOW).v128.store(0, A4);
        });
        stride(f, c, rowBytes, 4, () => {
          f.local.get(o).local.get(c).i32.add();
          f.local.get(scratch).local.get(c).i32.const(1).i32.shl().i32.add().f64.load();
          f.f32.demote_f64().f32.store();
        });
      }
      f.local.get(o).local.get(rowBytes).i32.add().local.set(o);
    });
  });
}

const LANE_BYTES = new Uint8Array(new Int32Array([0, 4, 8, 12]).buffer);

// softmax(x, o, rows, n) and log_softmax(x, o, rows, n); function 0 is the imported log.
function buildSoftmax(mb: ModuleBuilder, log: boolean, logFn: number): void {
  mb.addFunction(log ? "log_softmax" : "softmax", ["i32", "i32", "i32", "i32"], [], (f) => {
    const [x, o, rows, n] = [0, 1, 2, 3].map((i) => f.param(i));
    const r = f.addLocal("i32"), p = f.addLocal("i32");
    const rowBytes = f.addLocal("i32"), vecBytes = f.addLocal("i32"), rest = f.addLocal("i32");
    const m = f.addLocal("f32"), e = f.addLocal("f32"), s = f.addLocal("f64");
    const mv = f.addLocal("v128"), v = f.addLocal("v128"), w = f.addLocal("v128");
    const live = f.addLocal("v128");
    const acc = Array.from({ length: UNROLL }, () => f.addLocal("v128"));
    const s0 = f.addLocal("v128"), s1 = f.addLocal("v128");
    const temps: ExpTemps = {
      t: f.addLocal("v128"),
      n: f.addLocal("v128"),
      r: f.addLocal("v128"),
      z: f.addLocal("v128"),
    };
    const at = (base: Local) => f.local.get(base).local.get(p).i32.add();
    // w = exp(v - max); softmax stores it at o + p
    const expStep = () => {
      f.local.get(v).local.get(mv).f32x4.sub().local.set(v);
      emitExp(f, v, temps);
      f.local.set(w);
    };
    // A row is whole vectors, then a last vector of `rest` bytes (0, 4, 8 or 12) whose lanes
    // past the row's end are masked off (`live`): one vector step, not one step per element.
    f.local.get(n).i32.const(2).i32.shl().local.tee(rowBytes);
    f.i32.const(-16).i32.and().local.set(vecBytes);
    f.local.get(rowBytes).local.get(vecBytes).i32.sub().local.set(rest);
    f.v128.const(LANE_BYTES).local.get(rest).i32x4.splat().i32x4.lt_s().local.set(live);
    const partial = (body: () => void) => f.local.get(rest).if(body);
    // Reads the partial vector at base + p into `into` lane by lane, so that no byte past the
    // row is touched (the lanes past its end read as 0).
    const loadLive = (base: Local, into: Local) => {
      at(base).v128.load32_zero().local.set(into);
      for (const lane of [1, 2]) {
        f.local.get(rest).i32.const(4 * lane).i32.gt_u().if(() => {
          f.local.get(into);
          at(base).f32.load(4 * lane).f32x4.replace_lane(lane).local.set(into);
        });
      }
    };
    // Stores the live lanes of `w` at base + p.
    const storeLive = (base: Local) => {
      at(base).local.get(w).v128.store32_lane(0);
      f.local.get(rest).i32.const(4).i32.gt_u().if(() =>
        at(base).local.get(w).v128.store32_lane(1, 4)
      );
      f.local.get(rest).i32.const(8).i32.gt_u().if(() =>
        at(base).local.get(w).v128.store32_lane(2, 8)
      );
    };
    hoistConstants(f, () => {
      f.forRange(r, 0, rows, 1, () => {
        // The row maximum. pmax may drop a NaN, but exp(NaN - max) then poisons the sum, and
        // with it the whole row, as in the float64 reference.
        for (const a of acc) f32c(f, -Infinity).local.set(a);
        f.i32.const(0).local.set(p);
        stride(f, p, vecBytes, 16 * UNROLL, () => {
          for (let j = 0; j < UNROLL; j++) {
            f.local.get(acc[j]);
            at(x).v128.load(16 * j, A4).f32x4.pmax().local.set(acc[j]);
          }
        });
        stride(f, p, vecBytes, 16, () => {
          f.local.get(acc[0]);
          at(x).v128.load(0, A4).f32x4.pmax().local.set(acc[0]);
        });
        partial(() => {
          loadLive(x, v);
          f.local.get(acc[0]).local.get(v);
          f32c(f, -Infinity).local.get(live).v128.bitselect().f32x4.pmax().local.set(acc[0]);
        });
        for (let wdt = UNROLL >> 1; wdt >= 1; wdt >>= 1) {
          for (let j = 0; j < wdt; j++) {
            f.local.get(acc[j]).local.get(acc[j + wdt]).f32x4.pmax().local.set(acc[j]);
          }
        }
        horizontal(f, acc[0], "pmax");
        f.local.set(m);
        f.local.get(m).f32x4.splat().local.set(mv);
        // Σ exp(x - max) in float64
        f32c(f, 0).local.tee(s0).local.set(s1);
        f.i32.const(0).local.set(p);
        const addToSum = () => {
          f.local.get(s0);
          low(f, w);
          f.f64x2.add().local.set(s0);
          f.local.get(s1);
          high(f, w);
          f.f64x2.add().local.set(s1);
        };
        stride(f, p, vecBytes, 16, () => {
          at(x).v128.load(0, A4).local.set(v);
          expStep();
          if (!log) at(o).local.get(w).v128.store(0, A4);
          addToSum();
        });
        partial(() => {
          loadLive(x, v);
          expStep();
          f.local.get(w);
          f32c(f, 0).local.get(live).v128.bitselect().local.set(w);
          if (!log) storeLive(o);
          addToSum();
        });
        f.local.get(s0).local.get(s1).f64x2.add().local.tee(s0).f64x2.extract_lane(0);
        f.local.get(s0).f64x2.extract_lane(1).f64.add().local.set(s);
        f.i32.const(0).local.set(p);
        if (!log) {
          // o *= 1/sum (a multiply, not a divide, per element)
          f.f64.const(1).local.get(s).f64.div().f32.demote_f64().local.tee(e);
          f.f32x4.splat().local.set(v);
          stride(f, p, vecBytes, 16, () => {
            at(o);
            at(o).v128.load(0, A4).local.get(v).f32x4.mul().v128.store(0, A4);
          });
          partial(() => {
            loadLive(o, w);
            f.local.get(w).local.get(v).f32x4.mul().local.set(w);
            storeLive(o);
          });
        } else {
          // o = (x - max) - log(sum): both terms ≤ 0, so nothing cancels
          f.local.get(s).call(logFn).f32.demote_f64().local.tee(e);
          f.f32x4.splat().local.set(v);
          stride(f, p, vecBytes, 16, () => {
            at(o);
            at(x).v128.load(0, A4).local.get(mv).f32x4.sub().local.get(v).f32x4.sub();
            f.v128.store(0, A4);
          });
          partial(() => {
            loadLive(x, w);
            f.local.get(w).local.get(mv).f32x4.sub().local.get(v).f32x4.sub().local.set(w);
            storeLive(o);
          });
        }
        f.local.get(x).local.get(rowBytes).i32.add().local.set(x);
        f.local.get(o).local.get(rowBytes).i32.add().local.set(o);
      });
    });
  });
}

// scatter_add_rows(o, upd, idx, count, inner): o[idx[i], :] += upd[i, :] in float32.
function buildScatter(mb: ModuleBuilder): void {
  mb.addFunction("scatter_add_rows", ["i32", "i32", "i32", "i32", "i32"], [], (f) => {
    const [o, upd, idx, count, inner] = [0, 1, 2, 3, 4].map((i) => f.param(i));
    const i = f.addLocal("i32"), c = f.addLocal("i32"), dst = f.addLocal("i32");
    const rowBytes = f.addLocal("i32"), vecBytes = f.addLocal("i32");
    f.local.get(inner).i32.const(2).i32.shl().local.tee(rowBytes);
    f.i32.const(-16).i32.and().local.set(vecBytes);
    f.forRange(i, 0, count, 1, () => {
      f.local.get(o).local.get(idx).i32.load().local.get(rowBytes).i32.mul().i32.add();
      f.local.set(dst);
      f.i32.const(0).local.set(c);
      const at = (base: Local) => f.local.get(base).local.get(c).i32.add();
      stride(f, c, vecBytes, 16, () => {
        at(dst);
        at(dst).v128.load(0, A4);
        at(upd).v128.load(0, A4).f32x4.add().v128.store(0, A4);
      });
      stride(f, c, rowBytes, 4, () => {
        at(dst);
        at(dst).f32.load();
        at(upd).f32.load().f32.add().f32.store();
      });
      f.local.get(upd).local.get(rowBytes).i32.add().local.set(upd);
      f.local.get(idx).i32.const(4).i32.add().local.set(idx);
    });
  });
}

/**
 * Builds the reduction module for a shared memory of at most `maxPages` pages. It imports
 * `env.memory` and `env.log: (f64) => f64` (`Math.log`).
 *
 * @example
 * ```ts
 * import { buildReduceModule } from "./_reduce_module.ts";
 * console.log(WebAssembly.validate(buildReduceModule())); // true
 * ```
 */
export function buildReduceModule(maxPages = 65536): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder().importMemory("env", "memory", {
    initial: 0,
    maximum: maxPages,
    shared: true,
  });
  const logFn = mb.importFunction("env", "log", ["f64"], ["f64"]);
  for (const op of ["sum", "max", "min"] as const) {
    buildRows(mb, op);
    buildCols(mb, op);
  }
  buildSoftmax(mb, false, logFn);
  buildSoftmax(mb, true, logFn);
  buildScatter(mb);
  return mb.toBytes();
}
