/**
 * Vectorization as an interpreter: each tracer carries a value with an extra batch axis (or
 * none, when it does not vary over the batch). Rules see batches at axis 0 only, so each stays
 * a few lines.
 *
 * @module
 */

import type { Params } from "./backend.ts";
import * as lax from "./lax.ts";
import type { BatchDim, MultiPrimitive, Primitive } from "./primitive.ts";
import type { Tensor } from "./tensor.ts";
import {
  bind,
  bindCustomVjp,
  bindMulti,
  type CustomVjpFns,
  Trace,
  Tracer,
  withTrace,
} from "./trace.ts";

/** A value inside `vmap`: the batched value and where its batch axis is. */
export class BatchTracer extends Tracer {
  /** The trace this tracer belongs to. */
  readonly trace: BatchTrace;
  /** The underlying value, with the batch axis included. */
  readonly value: Tensor;
  /** The batch axis of `value`, or `null` when unbatched. */
  readonly batchDim: number | null;

  /** Wraps a batched value; user code sees its shape without the batch axis. */
  constructor(trace: BatchTrace, value: Tensor, batchDim: number | null) {
    super({
      shape: batchDim === null ? value.shape : value.shape.filter((_, i) => i !== batchDim),
      dtype: value.dtype,
      device: value.device,
    });
    this.trace = trace;
    this.value = value;
    this.batchDim = batchDim;
  }
}

/** The vectorizing interpreter for one batch size. */
export class BatchTrace extends Trace {
  /** The batch size. */
  readonly size: number;

  /** Creates the trace of a `vmap` over `size` examples. */
  constructor(level: number, size: number) {
    super(level);
    this.size = size;
  }

  override get name(): string {
    return "vmap";
  }

  lift(x: Tensor): Tensor {
    return new BatchTracer(this, x, null);
  }

  processPrimitive(prim: Primitive, args: Tensor[], params: Params): Tensor {
    const values = args.map((a) => (a as BatchTracer).value);
    const dims = args.map((a) => (a as BatchTracer).batchDim);
    // Nothing batched: the result is a constant of this trace and leaves it unwrapped.
    if (dims.every((d) => d === null)) return bind(prim, values, params);
    const moved = values.map((v, i) => (dims[i] === null ? v : lax.moveAxis(v, dims[i]!, 0)));
    const zeroDims = dims.map((d): BatchDim => (d === null ? null : 0));
    const [out, dim] = prim.vmap(moved, zeroDims, params, this.size);
    return dim === null ? out : new BatchTracer(this, out, dim);
  }

  processMultiPrimitive(prim: MultiPrimitive, args: Tensor[], params: Params): Tensor[] {
    const values = args.map((a) => (a as BatchTracer).value);
    const dims = args.map((a) => (a as BatchTracer).batchDim);
    if (dims.every((d) => d === null)) return bindMulti(prim, values, params);
    const moved = values.map((v, i) => (dims[i] === null ? v : lax.moveAxis(v, dims[i]!, 0)));
    const zeroDims = dims.map((d): BatchDim => (d === null ? null : 0));
    const [outs, outDims] = prim.vmap(moved, zeroDims, params, this.size);
    return outs.map((o, i) => (outDims[i] === null ? o : new BatchTracer(this, o, outDims[i])));
  }

  // The custom rule must survive batching (as in `grad(x => vmap(f)(x).sum())`): the function
  // is rebound with f, fwd and bwd vectorized, for the traces below this one to interpret.
  override processCustomVjp(fns: CustomVjpFns, args: Tensor[]): Tensor[] {
    const values = args.map((a) => (a as BatchTracer).value);
    const dims = args.map((a) => (a as BatchTracer).batchDim);
    if (dims.every((d) => d === null)) return bindCustomVjp(fns, values);
    const moved = values.map((v, i) => (dims[i] === null ? v : lax.moveAxis(v, dims[i]!, 0)));
    const inAxes = dims.map((d) => (d === null ? null : 0));
    const size = this.size;
    const batched: CustomVjpFns = {
      f: (xs) => vmapFlat(fns.f, xs, inAxes, size, 0),
      fwd: (xs) => {
        let count = 0;
        const all = vmapFlat(
          (ys) => {
            const [outs, residuals] = fns.fwd(ys);
            count = outs.length;
            return [...outs, ...residuals];
          },
          xs,
          inAxes,
          size,
          0,
        );
        return [all.slice(0, count), all.slice(count)];
      },
      bwd: (residuals, cts) => {
        const nRes = residuals.length;
        const argCts = vmapFlat(
          (ys) => {
            const cs = fns.bwd(ys.slice(0, nRes), ys.slice(nRes));
            // Symbolic zeros cannot leave vmap, so they become zeros of one example's argument.
            return cs.map((c, i) =>
              c ?? lax.zerosLike(inAxes[i] === null ? moved[i] : exampleOf(moved[i]))
            );
          },
          [...residuals, ...cts],
          [...residuals, ...cts].map(() => 0),
          size,
          0,
        );
        // An argument shared by every example gets the sum of their cotangents.
        return argCts.map((c, i) => (inAxes[i] === null ? lax.reduceSum(c, [0]) : c));
      },
    };
    return bindCustomVjp(batched, moved).map((o) => new BatchTracer(this, o, 0));
  }
}

// The type of one example of a value batched at axis 0.
function exampleOf(
  x: Tensor,
): { shape: number[]; dtype: Tensor["dtype"]; device: Tensor["device"] } {
  return { shape: x.shape.slice(1), dtype: x.dtype, device: x.device };
}

/**
 * Runs `f` over a batch: each input is batched along `inAxes[i]` (or shared when `null`);
 * every output gets its batch at `outAxis`.
 *
 * @example
 * ```ts
 * import { tensor, vmap } from "@nabla/nabla";
 * const rowSums = vmap((row) => row.sum());
 * console.log(await rowSums(tensor([[1, 2], [3, 4]])).toArray()); // [3, 7]
 * ```
 */
export function vmapFlat(
  f: (xs: Tensor[]) => Tensor[],
  args: Tensor[],
  inAxes: (number | null)[],
  size: number,
  outAxis: number,
): Tensor[] {
  return withTrace((level) => new BatchTrace(level, size), (trace) => {
    const ins = args.map((a, i) => (inAxes[i] === null ? a : new BatchTracer(trace, a, inAxes[i])));
    return f(ins).map((o) => {
      const batched = o instanceof BatchTracer && o.trace === trace;
      const value = batched ? o.value : o;
      const dim = batched ? o.batchDim : null;
      const withBatch = dim === null
        ? lax.broadcast(value, [size, ...value.shape])
        : lax.moveAxis(value, dim, 0);
      const axis = outAxis < 0 ? outAxis + withBatch.ndim : outAxis;
      return lax.moveAxis(withBatch, 0, axis);
    });
  });
}
