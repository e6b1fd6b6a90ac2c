/**
 * The float32 matmul kernel, generated at run time with {@linkcode ModuleBuilder}.
 *
 * Structure (the GotoBLAS/BLIS scheme): C += A·B is cut into KC×NC blocks of B packed into
 * NR-column micro-panels (stays in L2/L3), MC×KC blocks of A packed into MR-row micro-panels
 * (stays in L2), and an MR×NR register tile of f32x4 accumulators that streams one A and one
 * B micro-panel (L1) per call. Packing is also how strided and transposed operands are handled:
 * every operand is read through (row stride, column stride), so `Aᵀ` is just `rs=1, cs=M`.
 *
 * Exports of the generated module (all pointers are byte offsets, strides in elements):
 * - `gemm(a, rsa, csa, b, rsb, csb, c, ldc, m, n, k, accumulate, work, packed)`: C[m,n] (row
 *   stride `ldc`) = A[m,k]·B[k,n] (or `+=` when `accumulate` is 1); `work` is a scratch area of
 *   {@linkcode matmulWorkBytes} bytes owned by the calling thread. Requires k ≥ 1. `packed`
 *   says which operands are packed already, for all of k (bit 1: A, as `pack_a(..., m, k, a)`
 *   leaves it; bit 2: B, as `pack_b(..., k, n, b)` does; their strides are then unused): the
 *   threads that share a product pack the operand they all read once, not once each.
 * - `pack_a`, `pack_b`: the packing routines; `kernel`: the register tile, exported for tests.
 *
 * @example
 * ```ts
 * import { buildMatmulModule, defaultMatmulConfig } from "./_matmul.ts";
 * const bytes = buildMatmulModule(defaultMatmulConfig());
 * console.log(WebAssembly.validate(bytes)); // true
 * ```
 *
 * @module
 */

import { type FunctionBuilder, type Local, ModuleBuilder } from "./_emitter.ts";

/** Tile and block sizes of the generated kernel, plus which multiply-add to use. */
export interface MatmulConfig {
  /** Rows of the register tile. */
  mr: number;
  /** Columns of the register tile (a multiple of 4: one f32x4 per 4 columns). */
  nr: number;
  /** Depth of a packed block (A micro-panel MR×KC and B micro-panel KC×NR live in L1). */
  kc: number;
  /** Rows of a packed A block (MC×KC floats live in L2); rounded up to a multiple of mr. */
  mc: number;
  /** Columns of a packed B block; rounded up to a multiple of nr. */
  nc: number;
  /** k-loop unroll factor of the micro-kernel. */
  unroll: number;
  /** Use `f32x4.relaxed_madd` (true) or `f32x4.mul` + `f32x4.add` (false). */
  relaxed: boolean;
  /** Maximum pages of the imported shared memory the module is declared with. */
  maxPages: number;
}

let relaxedCache: boolean | undefined;

/**
 * Whether this engine accepts relaxed-SIMD (checked once by validating a tiny module that uses
 * `f32x4.relaxed_madd`).
 *
 * @example
 * ```ts
 * import { relaxedSimdSupported } from "./_matmul.ts";
 * console.log(typeof relaxedSimdSupported()); // "boolean"
 * ```
 */
export function relaxedSimdSupported(): boolean {
  if (relaxedCache === undefined) {
    const mb = new ModuleBuilder();
    mb.addFunction("f", ["v128"], ["v128"], (f) => {
      const x = f.param(0);
      f.local.get(x).local.get(x).local.get(x).f32x4.relaxed_madd();
    });
    relaxedCache = WebAssembly.validate(mb.toBytes());
  }
  return relaxedCache;
}

/**
 * The tuned configuration for this machine class (6×8 register tile: 12 accumulators + 2 B
 * vectors + 1 broadcast fit the 16 XMM registers V8 allocates on x64).
 *
 * @example
 * ```ts
 * import { defaultMatmulConfig } from "./_matmul.ts";
 * console.log(defaultMatmulConfig({ relaxed: false }).relaxed); // false
 * ```
 */
export function defaultMatmulConfig(overrides: Partial<MatmulConfig> = {}): MatmulConfig {
  return {
    mr: 6,
    nr: 8,
    kc: 256,
    mc: 96,
    nc: 1024,
    unroll: 4,
    relaxed: relaxedSimdSupported(),
    maxPages: 65536,
    ...overrides,
  };
}

function roundUp(x: number, m: number): number {
  return Math.ceil(x / m) * m;
}

/**
 * Bytes of per-thread scratch that `gemm` needs: the packed A block, the packed B block and
 * one MR×NR edge tile.
 *
 * @example
 * ```ts
 * import { defaultMatmulConfig, matmulWorkBytes } from "./_matmul.ts";
 * console.log(matmulWorkBytes(defaultMatmulConfig()) > 0); // true
 * ```
 */
export function matmulWorkBytes(cfg: MatmulConfig): number {
  const { mr, nr, kc } = cfg;
  return 4 * (roundUp(cfg.mc, mr) * kc + kc * roundUp(cfg.nc, nr) + mr * nr);
}

/** `dst = min(a, b)` for i32 values, with `select` instead of a branch. */
function min(f: FunctionBuilder, dst: Local, a: Local | number, b: Local): void {
  const push = (v: Local | number) => typeof v === "number" ? f.i32.const(v) : f.local.get(v);
  push(a).local.get(b);
  push(a).local.get(b).i32.lt_s().select().local.set(dst);
}

// A full micro-panel packed through one cursor per row (or column) of the panel: cursor i
// starts at `src + 4·i·lineStride` and all walk along k together, `step` bytes at a time,
// storing one value each per k (unrolled at build time).
function cursorPanel(
  f: FunctionBuilder,
  cursors: readonly Local[],
  src: Local,
  lineStride: Local,
  step: Local,
  p: Local,
  kc: Local,
  dst: Local,
): void {
  cursors.forEach((cursor, i) => {
    f.local.get(src).local.get(lineStride).i32.const(4 * i).i32.mul().i32.add().local.set(cursor);
  });
  f.forRange(p, 0, kc, 1, () => {
    cursors.forEach((cursor, i) => {
      f.local.get(dst).local.get(cursor).f32.load().f32.store(4 * i);
      f.local.get(cursor).local.get(step).i32.add().local.set(cursor);
    });
    f.local.get(dst).i32.const(4 * cursors.length).i32.add().local.set(dst);
  });
}

// pack_b(b, rsb, csb, kc, nc, dst): B block (kc×nc, strided) -> NR-column micro-panels, each
// kc×NR row-major, zero-padded past nc so the kernel never needs a column mask.
function emitPackB(mb: ModuleBuilder, cfg: MatmulConfig): number {
  const NR = cfg.nr;
  return mb.addFunction("pack_b", ["i32", "i32", "i32", "i32", "i32", "i32"], [], (f) => {
    const [b, rsb, csb, kc, nc, dst] = [0, 1, 2, 3, 4, 5].map((i) => f.param(i));
    const jp = f.addLocal("i32"), p = f.addLocal("i32"), c = f.addLocal("i32");
    const w = f.addLocal("i32"), src = f.addLocal("i32"), rs4 = f.addLocal("i32");
    const cols = Array.from({ length: NR }, () => f.addLocal("i32"));
    f.local.get(rsb).i32.const(4).i32.mul().local.set(rs4);
    f.forRange(jp, 0, nc, NR, () => {
      f.local.get(nc).local.get(jp).i32.sub().local.set(w);
      // src = b + jp * csb * 4: the first column of this panel
      f.local.get(b).local.get(jp).local.get(csb).i32.mul().i32.const(4).i32.mul().i32.add()
        .local.set(src);
      f.local.get(w).i32.const(NR).i32.ge_s().local.get(csb).i32.const(1).i32.eq().i32.and();
      f.if(() => {
        // Full panel of contiguous columns: straight v128 row copies.
        f.forRange(p, 0, kc, 1, () => {
          for (let v = 0; v < NR / 4; v++) {
            f.local.get(dst).local.get(src).v128.load(16 * v).v128.store(16 * v);
          }
          f.local.get(src).local.get(rs4).i32.add().local.set(src);
          f.local.get(dst).i32.const(4 * NR).i32.add().local.set(dst);
        });
      }, () => {
        f.local.get(w).i32.const(NR).i32.ge_s();
        f.if(() => {
          // Full panel of strided columns (such as a transposed B), without the edge path's
          // branches.
          cursorPanel(f, cols, src, csb, rs4, p, kc, dst);
        }, () => {
          // Last, partial panel: element by element, zeros past the last column.
          f.forRange(p, 0, kc, 1, () => {
            f.forRange(c, 0, NR, 1, () => {
              // A branch, not a select: columns past w may lie outside the memory.
              f.local.get(dst).local.get(c).i32.const(4).i32.mul().i32.add();
              f.local.get(c).local.get(w).i32.lt_s();
              f.if(
                () => {
                  f.local.get(src).local.get(c).local.get(csb).i32.mul().i32.const(4).i32.mul()
                    .i32.add().f32.load();
                },
                () => f.f32.const(0),
                "f32",
              );
              f.f32.store();
            });
            f.local.get(src).local.get(rs4).i32.add().local.set(src);
            f.local.get(dst).i32.const(4 * NR).i32.add().local.set(dst);
          });
        });
      });
    });
  });
}

// pack_a(a, rsa, csa, mc, kc, dst): A block (mc×kc, strided) -> MR-row micro-panels, each
// stored p-major (MR values per p) so the kernel broadcasts consecutive floats.
function emitPackA(mb: ModuleBuilder, cfg: MatmulConfig): number {
  const MR = cfg.mr;
  return mb.addFunction("pack_a", ["i32", "i32", "i32", "i32", "i32", "i32"], [], (f) => {
    const [a, rsa, csa, mc, kc, dst] = [0, 1, 2, 3, 4, 5].map((i) => f.param(i));
    const ip = f.addLocal("i32"), p = f.addLocal("i32"), r = f.addLocal("i32");
    const h = f.addLocal("i32"), cs4 = f.addLocal("i32"), src = f.addLocal("i32");
    const rows = Array.from({ length: MR }, () => f.addLocal("i32"));
    f.local.get(csa).i32.const(4).i32.mul().local.set(cs4);
    f.forRange(ip, 0, mc, MR, () => {
      f.local.get(mc).local.get(ip).i32.sub().local.set(h);
      f.local.get(a).local.get(ip).local.get(rsa).i32.mul().i32.const(4).i32.mul().i32.add()
        .local.set(src);
      f.local.get(h).i32.const(MR).i32.ge_s();
      f.if(() => {
        // Full panel: one cursor per row.
        cursorPanel(f, rows, src, rsa, cs4, p, kc, dst);
      }, () => {
        // Last, partial panel: zero rows past mc.
        f.forRange(p, 0, kc, 1, () => {
          f.forRange(r, 0, MR, 1, () => {
            f.local.get(dst).local.get(r).i32.const(4).i32.mul().i32.add();
            f.local.get(r).local.get(h).i32.lt_s();
            f.if(
              () => {
                f.local.get(src).local.get(r).local.get(rsa).i32.mul().i32.const(4).i32.mul()
                  .i32.add().local.get(p).local.get(cs4).i32.mul().i32.add().f32.load();
              },
              () => f.f32.const(0),
              "f32",
            );
            f.f32.store();
          });
          f.local.get(dst).i32.const(4 * MR).i32.add().local.set(dst);
        });
      });
    });
  });
}

// kernel(ap, bp, c, ldc4, kc, accumulate): the MR×NR register tile. C rows are ldc4 bytes
// apart; the tile is stored (or added) with full-width v128 stores.
function emitKernel(mb: ModuleBuilder, cfg: MatmulConfig): number {
  const { mr: MR, nr: NR, unroll: U, relaxed } = cfg;
  const NV = NR / 4;
  return mb.addFunction("kernel", ["i32", "i32", "i32", "i32", "i32", "i32"], [], (f) => {
    const [ap, bp, c, ldc4, kc, accumulate] = [0, 1, 2, 3, 4, 5].map((i) => f.param(i));
    const acc = Array.from(
      { length: MR },
      () => Array.from({ length: NV }, () => f.addLocal("v128")),
    );
    const bv = Array.from({ length: NV }, () => f.addLocal("v128"));
    const av = f.addLocal("v128");
    const kk = f.addLocal("i32");

    // One k step at element offset u of the current panels: NV loads of B, MR broadcasts of A.
    const step = (u: number) => {
      bv.forEach((b, v) => f.local.get(bp).v128.load(4 * (u * NR + 4 * v)).local.set(b));
      for (let r = 0; r < MR; r++) {
        f.local.get(ap).v128.load32_splat(4 * (u * MR + r)).local.set(av);
        for (let v = 0; v < NV; v++) {
          if (relaxed) {
            f.local.get(av).local.get(bv[v]).local.get(acc[r][v]).f32x4.relaxed_madd();
          } else {
            f.local.get(acc[r][v]).local.get(av).local.get(bv[v]).f32x4.mul().f32x4.add();
          }
          f.local.set(acc[r][v]);
        }
      }
    };
    const advance = (u: number) => {
      f.local.get(ap).i32.const(4 * u * MR).i32.add().local.set(ap);
      f.local.get(bp).i32.const(4 * u * NR).i32.add().local.set(bp);
      f.local.get(kk).i32.const(u).i32.sub().local.set(kk);
    };

    f.local.get(kc).local.set(kk);
    // Unrolled main loop while at least U steps remain, then single steps.
    f.block((done) => {
      f.loop((top) => {
        f.local.get(kk).i32.const(U).i32.lt_s().brIf(done);
        for (let u = 0; u < U; u++) step(u);
        advance(U);
        f.br(top);
      });
    });
    f.block((done) => {
      f.loop((top) => {
        f.local.get(kk).i32.const(1).i32.lt_s().brIf(done);
        step(0);
        advance(1);
        f.br(top);
      });
    });

    const store = (add: boolean) => {
      for (let r = 0; r < MR; r++) {
        for (let v = 0; v < NV; v++) {
          f.local.get(c);
          if (add) f.local.get(c).v128.load(16 * v).local.get(acc[r][v]).f32x4.add();
          else f.local.get(acc[r][v]);
          f.v128.store(16 * v);
        }
        if (r + 1 < MR) f.local.get(c).local.get(ldc4).i32.add().local.set(c);
      }
    };
    f.local.get(accumulate).if(() => store(true), () => store(false));
  });
}

// edge(tile, c, ldc4, mr, nr, accumulate): copy the valid mr×nr corner of an MR×NR tile.
function emitEdge(mb: ModuleBuilder, cfg: MatmulConfig): number {
  const NR = cfg.nr;
  return mb.addFunction(undefined, ["i32", "i32", "i32", "i32", "i32", "i32"], [], (f) => {
    const [tile, c, ldc4, mr, nr, accumulate] = [0, 1, 2, 3, 4, 5].map((i) => f.param(i));
    const r = f.addLocal("i32"), j = f.addLocal("i32"), dst = f.addLocal("i32");
    f.forRange(r, 0, mr, 1, () => {
      f.forRange(j, 0, nr, 1, () => {
        f.local.get(c).local.get(j).i32.const(4).i32.mul().i32.add().local.tee(dst);
        f.local.get(tile).local.get(j).i32.const(4).i32.mul().i32.add().f32.load();
        f.local.get(dst).f32.load().f32.const(0).local.get(accumulate).select().f32.add();
        f.f32.store();
      });
      f.local.get(c).local.get(ldc4).i32.add().local.set(c);
      f.local.get(tile).i32.const(4 * NR).i32.add().local.set(tile);
    });
  });
}

function emitGemm(
  mb: ModuleBuilder,
  cfg: MatmulConfig,
  fn: { packA: number; packB: number; kernel: number; edge: number },
): void {
  const { mr: MR, nr: NR, kc: KC } = cfg;
  const MC = roundUp(cfg.mc, MR), NC = roundUp(cfg.nc, NR);
  const params = Array.from({ length: 14 }, () => "i32" as const);
  mb.addFunction("gemm", params, [], (f) => {
    const [a, rsa, csa, b, rsb, csb, c, ldc, m, n, k, accumulate, work, packed] = params.map((
      _,
      i,
    ) => f.param(i));
    const [jc, pc, ic, jr, ir, nc, kc, mc, nr, mr, acc, packA, packB, tile, cp] = Array.from(
      { length: 15 },
      () => f.addLocal("i32"),
    );
    // Where the current blocks' micro-panels start, and the bytes from one to the next.
    const [aBlock, aPanel, bBlock, bPanel] = Array.from({ length: 4 }, () => f.addLocal("i32"));
    const remaining = f.addLocal("i32");
    f.local.get(work).local.set(packA);
    f.local.get(work).i32.const(4 * MC * KC).i32.add().local.set(packB);
    f.local.get(packB).i32.const(4 * KC * NC).i32.add().local.set(tile);
    // A packed operand's panels run through all of k; the scratch's through one block of it.
    const panelBytes = (dst: Local, bit: number) => {
      f.local.get(packed).i32.const(bit).i32.and();
      f.if(() => f.local.get(k).i32.const(4).i32.mul().local.set(dst), () => {
        f.local.get(kc).i32.const(4).i32.mul().local.set(dst);
      });
    };
    // `x = min(CONST, limit - start)` for the block loops
    const clamp = (dst: Local, size: number, limit: Local, start: Local) => {
      f.local.get(limit).local.get(start).i32.sub().local.set(remaining);
      min(f, dst, size, remaining);
    };
    // p = base + (i * rs + j * cs) * 4
    const addr = (base: Local, i: Local, rs: Local, j: Local, cs: Local) =>
      f.local.get(base).local.get(i).local.get(rs).i32.mul().local.get(j).local.get(cs)
        .i32.mul().i32.add().i32.const(4).i32.mul().i32.add();

    f.forRange(jc, 0, n, NC, () => {
      clamp(nc, NC, n, jc);
      f.forRange(pc, 0, k, KC, () => {
        clamp(kc, KC, k, pc);
        // Later k blocks always add to what the first one stored.
        f.local.get(accumulate).local.get(pc).i32.const(0).i32.gt_s().i32.or().local.set(acc);
        panelBytes(bPanel, 2);
        f.local.get(packed).i32.const(2).i32.and();
        f.if(() => {
          // b + (jc·k + pc·NR)·4: panel jc/NR, from depth pc on
          f.local.get(b).local.get(jc).local.get(k).i32.mul().local.get(pc).i32.const(NR)
            .i32.mul().i32.add().i32.const(4).i32.mul().i32.add().local.set(bBlock);
        }, () => {
          addr(b, pc, rsb, jc, csb).local.get(rsb).local.get(csb).local.get(kc).local.get(nc)
            .local.get(packB).call(fn.packB);
          f.local.get(packB).local.set(bBlock);
        });
        panelBytes(aPanel, 1);
        f.forRange(ic, 0, m, MC, () => {
          clamp(mc, MC, m, ic);
          f.local.get(packed).i32.const(1).i32.and();
          f.if(() => {
            f.local.get(a).local.get(ic).local.get(k).i32.mul().local.get(pc).i32.const(MR)
              .i32.mul().i32.add().i32.const(4).i32.mul().i32.add().local.set(aBlock);
          }, () => {
            addr(a, ic, rsa, pc, csa).local.get(rsa).local.get(csa).local.get(mc).local.get(kc)
              .local.get(packA).call(fn.packA);
            f.local.get(packA).local.set(aBlock);
          });
          f.forRange(jr, 0, nc, NR, () => {
            clamp(nr, NR, nc, jr);
            f.forRange(ir, 0, mc, MR, () => {
              clamp(mr, MR, mc, ir);
              // cp = c + ((ic + ir) * ldc + jc + jr) * 4
              f.local.get(c).local.get(ic).local.get(ir).i32.add().local.get(ldc).i32.mul()
                .local.get(jc).i32.add().local.get(jr).i32.add().i32.const(4).i32.mul().i32.add()
                .local.set(cp);
              // Panel pointers: a panel's rows (columns) are MR (NR) floats apart, so panel
              // ir/MR starts ir times the panel's bytes per float row in.
              const panels = () => {
                f.local.get(aBlock).local.get(ir).local.get(aPanel).i32.mul().i32.add();
                f.local.get(bBlock).local.get(jr).local.get(bPanel).i32.mul().i32.add();
              };
              f.local.get(mr).i32.const(MR).i32.eq().local.get(nr).i32.const(NR).i32.eq()
                .i32.and();
              f.if(() => {
                panels();
                f.local.get(cp).local.get(ldc).i32.const(4).i32.mul().local.get(kc)
                  .local.get(acc).call(fn.kernel);
              }, () => {
                // Edge tile: compute the full tile into scratch, then copy the valid part.
                panels();
                f.local.get(tile).i32.const(4 * NR).local.get(kc).i32.const(0).call(fn.kernel);
                f.local.get(tile).local.get(cp).local.get(ldc).i32.const(4).i32.mul()
                  .local.get(mr).local.get(nr).local.get(acc).call(fn.edge);
              });
            });
          });
        });
      });
    });
  });
}

/**
 * Generates the matmul module for `cfg`. It imports `env.memory` (shared, `cfg.maxPages`
 * maximum), so one compiled module can be instantiated on every thread over the same memory.
 *
 * @example
 * ```ts
 * import { buildMatmulModule, defaultMatmulConfig } from "./_matmul.ts";
 * const mod = new WebAssembly.Module(buildMatmulModule(defaultMatmulConfig({ relaxed: false })));
 * console.log(WebAssembly.Module.exports(mod).map((e) => e.name).includes("gemm")); // true
 * ```
 */
export function buildMatmulModule(cfg: MatmulConfig): Uint8Array<ArrayBuffer> {
  if (cfg.nr % 4 !== 0 || cfg.nr <= 0) throw new RangeError(`nr must be a multiple of 4`);
  if (cfg.mr <= 0 || cfg.kc <= 0 || cfg.unroll <= 0) throw new RangeError(`bad config`);
  const mb = new ModuleBuilder();
  mb.importMemory("env", "memory", { initial: 1, maximum: cfg.maxPages, shared: true });
  const packB = emitPackB(mb, cfg);
  const packA = emitPackA(mb, cfg);
  const kernel = emitKernel(mb, cfg);
  const edge = emitEdge(mb, cfg);
  emitGemm(mb, cfg, { packA, packB, kernel, edge });
  return mb.toBytes();
}
