/**
 * The NumPy-like surface, written only in terms of primitives. Importing this module also
 * gives `Tensor` its methods.
 *
 * @module
 */

import "../core/primitives/mod.ts";
import { registerTensorMethods } from "../core/tensor.ts";
import * as elementwise from "./elementwise.ts";
import * as indexing from "./indexing.ts";
import * as linalg from "./linalg.ts";
import * as nn from "./nn.ts";
import * as reduce from "./reduce.ts";
import * as shape from "./shape.ts";

export * from "./creation.ts";
export * from "./elementwise.ts";
export * from "./indexing.ts";
export * from "./linalg.ts";
export * from "./nn.ts";
export * from "./reduce.ts";
export * from "./shape.ts";

registerTensorMethods({
  ...elementwise,
  ...reduce,
  var: reduce.variance,
  ...shape,
  ...indexing,
  ...linalg,
  ...nn,
});
