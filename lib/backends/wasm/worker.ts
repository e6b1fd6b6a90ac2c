/**
 * Worker-thread entry of the wasm backend: instantiates the shared kernel module over the
 * shared memory and then serves jobs from the control block until told to exit. Started by
 * {@linkcode WasmContext}; not meant to be imported.
 *
 * @module
 */

import { parentPort } from "node:worker_threads";
import { type GemmFn, mapTable, type WorkerInit, workerLoop } from "./_threads.ts";

parentPort?.once("message", (init: WorkerInit) => {
  const imports = { env: { memory: init.memory, log: Math.log } };
  const instance = new WebAssembly.Instance(init.module, imports);
  const maps = init.mapModules.map((m) => new WebAssembly.Instance(m, imports));
  const ctrl = new Int32Array(init.memory.buffer, init.ctrl, 256);
  // Returns only on the exit job; the pool then terminates this worker.
  workerLoop(ctrl, instance.exports.gemm as GemmFn, init.work, mapTable(maps).fns);
});
