/**
 * `iota`: the only primitive without inputs, from which index tensors (`arange`, `eye`,
 * `oneHot`) are built. It never sees a tracer, so it needs no transformation rules.
 *
 * @module
 */

import type { Device } from "../backend.ts";
import type { DType } from "../dtype.ts";
import { definePrimitive } from "../primitive.ts";
import type { Shape } from "../shape.ts";

type IotaParams = { shape: Shape; axis: number; dtype: DType; device: Device };

const noTracers = (): never => {
  throw new Error("iota has no inputs, so no transformation reaches it");
};

definePrimitive<IotaParams>({
  name: "iota",
  abstractEval: (_args, { shape, dtype, device }) => ({ shape, dtype, device }),
  jvp: noTracers,
  vmap: noTracers,
});
