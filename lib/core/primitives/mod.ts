/**
 * The closed set of primitives. Importing this module registers every family.
 *
 * @module
 */

import "./elementwise.ts";
import "./reduce.ts";
import "./movement.ts";
import "./indexing.ts";
import "./linalg.ts";
import "./nn.ts";
import "./creation.ts";
import "./scan.ts";
import "./while.ts";
import "./cond.ts";
import "./checkpoint.ts";
