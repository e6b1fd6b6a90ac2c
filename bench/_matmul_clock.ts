/**
 * A clock of the time one device spends in matmul kernels, for the benches that report how
 * much of a training step is spent outside matmul.
 *
 * It wraps the backend's two entry points: `run`, through which every single-primitive kernel
 * goes (eager ops, and the unfused launches of a jitted program), and `compileFused`, whose
 * kernels count as matmul when they compute one (should fusion ever give matmul an epilogue,
 * the epilogue is then booked as matmul). The `wasm` and `cpu` devices run kernels
 * synchronously (matmul's worker threads are joined before `run` returns), so the wall time
 * between a call and its return is the kernel's time.
 *
 * @module
 */

import type { Backend, FusedSpec } from "../lib/core/backend.ts";

/** Matmul time on one backend since the clock was made or last reset. */
export interface MatmulClock {
  /** Seconds spent in matmul kernels. */
  readonly seconds: number;
  /** Matmul kernels run. */
  readonly calls: number;
  /** Starts counting from zero. */
  reset(): void;
  /** Puts the backend's entry points back as they were. */
  restore(): void;
}

/**
 * Starts timing `backend`'s matmul kernels. Install it before the first call of a jitted
 * function, so that its fused kernels are compiled through the clock.
 */
export function clockMatmuls(backend: Backend): MatmulClock {
  const { run, compileFused } = backend;
  let seconds = 0, calls = 0;
  const timed = <T>(body: () => T): T => {
    const t0 = performance.now();
    try {
      return body();
    } finally {
      seconds += (performance.now() - t0) / 1000;
      calls++;
    }
  };
  backend.run = (name, inputs, params, out) =>
    name === "matmul"
      ? timed(() => run.call(backend, name, inputs, params, out))
      : run.call(backend, name, inputs, params, out);
  if (compileFused) {
    backend.compileFused = (spec: FusedSpec) => {
      const kernel = compileFused.call(backend, spec);
      if (kernel === null || !spec.ops.some((op) => op.name === "matmul")) {
        return kernel;
      }
      return (inputs, into) => timed(() => kernel(inputs, into));
    };
  }
  return {
    get seconds() {
      return seconds;
    },
    get calls() {
      return calls;
    },
    reset() {
      seconds = 0;
      calls = 0;
    },
    restore() {
      backend.run = run;
      if (compileFused) backend.compileFused = compileFused;
    },
  };
}
