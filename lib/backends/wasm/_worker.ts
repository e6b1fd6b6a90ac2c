/**
 * The worker threads of the wasm backend: web `Worker`s whose program is built in memory, a
 * `data:` URL holding the source text of {@linkcode threadRoutines}. Everything else a worker
 * needs (the compiled kernel modules, the shared memory, where its control block and scratch
 * are) comes in its first message. So starting one loads no module from disk or network and
 * needs no permission, and it works the same whether nabla was imported from files, from an
 * https or JSR URL, or from a bundle.
 *
 * @example
 * ```ts
 * import { WasmContext } from "./_context.ts";
 * const ctx = new WasmContext({ threads: 2, initialPages: 16 });
 * const n = 256;
 * const [a, b, c] = [0, 1, 2].map(() => ctx.heap.alloc(4 * n * n));
 * ctx.heap.f32().fill(1, a / 4, a / 4 + 2 * n * n); // A and B: all ones
 * ctx.gemm({ a, b, c, m: n, n, k: n }); // the first big product starts the worker
 * while (ctx.readyWorkers < 1) await new Promise((r) => setTimeout(r, 5));
 * ctx.gemm({ a, b, c, m: n, n, k: n }); // shared with it
 * console.log(ctx.heap.f32()[c / 4], ctx.threadsUsed); // 256 2 (1 if it woke too late)
 * ctx.close();
 * ```
 *
 * @module
 */

import { LAYOUT, threadRoutines, type WorkerInit } from "./_threads.ts";

let url: string | undefined;

/**
 * The `data:` URL of the worker program: it waits for one {@linkcode WorkerInit} message,
 * serves jobs until it exits or retires, then closes its thread.
 *
 * @example
 * ```ts
 * import { workerUrl } from "./_worker.ts";
 * console.log(workerUrl().startsWith("data:text/javascript,")); // true
 * ```
 */
export function workerUrl(): string {
  url ??= "data:text/javascript," + encodeURIComponent(`self.onmessage = (event) => {
  self.onmessage = null;
  (${threadRoutines})(${JSON.stringify(LAYOUT)}).serve(event.data);
  self.close();
};`);
  return url;
}

let failure: unknown;

/**
 * Starts a worker thread that serves the control block described by `init`, or returns
 * `undefined` where no worker can start (a runtime without web workers, say): then the caller
 * computes alone, and a warning says so once. Errors inside a worker are reported on stderr
 * and never reach the caller, which computes every chunk that no worker takes.
 *
 * @example
 * ```ts
 * import { startWorker } from "./_worker.ts";
 * console.log(typeof startWorker); // "function"
 * ```
 */
export function startWorker(init: WorkerInit): Worker | undefined {
  if (failure !== undefined) return undefined;
  let worker: Worker;
  try {
    worker = new Worker(workerUrl(), { type: "module", name: `nabla wasm ${init.slot}` });
  } catch (e) {
    failure = e;
    console.warn(`nabla: no worker thread could start (${e}); wasm computes on one thread`);
    return undefined;
  }
  worker.onerror = (event) => {
    event.preventDefault();
    console.error("nabla wasm worker error:", event.message);
  };
  worker.postMessage(init);
  return worker;
}
