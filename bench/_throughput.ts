/**
 * Shared by the device benches: probing WebGPU, and a throughput table (work per second, per
 * label) printed when the bench process ends.
 *
 * @module
 */

import * as nb from "../mod.ts";
import { webgpuBackend } from "../lib/backends/webgpu/mod.ts";

/**
 * Whether nabla's WebGPU device works here, and whether it is a hardware GPU (not a software
 * fallback adapter). Leaves the default device as it was.
 */
export async function probeWebGpu(): Promise<{ gpuReady: boolean; hardware: boolean }> {
  const before = nb.getDefaultDevice();
  const gpuReady = await nb.setDevice("webgpu").then(() => true, (e) => {
    console.log(`nabla webgpu skipped: ${e.message}`);
    return false;
  });
  await nb.setDevice(before);
  const hardware = gpuReady && !webgpuBackend()!.context.device.adapterInfo.isFallbackAdapter;
  return { gpuReady, hardware };
}

/**
 * A throughput table: `timed(label, amount, body)` times `body` (which must await completion)
 * and books `amount` of work under `label`; at exit the table prints `amount/second` per label
 * under `heading`.
 */
export function throughputTable(
  heading: string,
  labelWidth = 32,
): (label: string, amount: number, body: () => Promise<void>) => Promise<void> {
  const totals = new Map<string, { amount: number; seconds: number }>();
  globalThis.addEventListener("unload", () => {
    console.log(`\n${heading}`);
    for (const [label, t] of totals) {
      console.log(`  ${label.padEnd(labelWidth)} ${(t.amount / t.seconds).toFixed(2).padStart(9)}`);
    }
  });
  return async (label, amount, body) => {
    const t0 = performance.now();
    await body();
    const t = totals.get(label) ?? { amount: 0, seconds: 0 };
    t.amount += amount;
    t.seconds += (performance.now() - t0) / 1000;
    totals.set(label, t);
  };
}
