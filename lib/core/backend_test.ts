import assert from "node:assert/strict";
import "../../mod.ts";
import {
  type Backend,
  forgetBackend,
  getBackend,
  initBackend,
  registerBackend,
  registerBackendInitializer,
} from "./backend.ts";

Deno.test("calls that come while a device is set up share that set-up", async () => {
  const cpu = getBackend("cpu");
  let setUps = 0;
  let finish = (_: Backend) => {};
  forgetBackend(cpu);
  registerBackendInitializer("cpu", () => {
    setUps++;
    return new Promise<Backend>((resolve) => (finish = resolve));
  });
  try {
    const first = initBackend("cpu"), second = initBackend("cpu");
    await Promise.resolve();
    finish(cpu);
    assert.equal(await first, cpu);
    assert.equal(await second, cpu);
    assert.equal(setUps, 1);
    // Ready now: no further set-up.
    assert.equal(await initBackend("cpu"), cpu);
    assert.equal(setUps, 1);
  } finally {
    registerBackend(cpu);
  }
});

Deno.test("a failed set-up is tried again by the next call", async () => {
  const cpu = getBackend("cpu");
  let setUps = 0;
  forgetBackend(cpu);
  registerBackendInitializer("cpu", () => {
    setUps++;
    return setUps === 1 ? Promise.reject(new Error("adapter lost")) : Promise.resolve(cpu);
  });
  try {
    await assert.rejects(initBackend("cpu"), /adapter lost/);
    assert.equal(await initBackend("cpu"), cpu);
    assert.equal(setUps, 2);
  } finally {
    registerBackend(cpu);
  }
});
