/**
 * A short tour of nabla: tensors, transformations, jit, and a few steps of gradient descent.
 *
 * Run: `deno run examples/tour.ts`
 *
 * @module
 */

import * as nb from "../mod.ts";
import { parseFlags } from "./_cli.ts";

parseFlags({
  about: "A short tour of nabla: tensors, transformations, and a few steps of gradient descent.",
  run: "deno run examples/tour.ts",
  flags: {},
});

// Each result under its name, so that a matrix's rows line up.
const show = (name: string, value: unknown) => console.log(`${name}:\n${value}\n`);

// Tensors are immutable values; operations return new tensors.
const x = nb.tensor([[1, 2], [3, 4]]);
show("x", x);
show("x @ x.T", x.matmul(x.T));
show("softmax(x)", nb.softmax(x));

// Transformations compose: derivatives of derivatives, Jacobians, vectorized gradients.
const f = (x: nb.Tensor) => x.sin().mul(x).sum();
show("grad(f)([0, 1, 2])", nb.grad(f)(nb.tensor([0, 1, 2])));
show("hessian(f)([0, 1])", nb.hessian(f)(nb.tensor([0, 1])));
const perExample = nb.vmap(nb.grad((w: nb.Tensor, xi: nb.Tensor) => w.dot(xi).square()), {
  inAxes: [null, 0],
});
show("per-example gradients", perExample(nb.tensor([1, -1]), x));

// jit compiles a function once per input signature; makeJaxpr shows the program it stages.
const g = (x: nb.Tensor) => x.mul(2).add(1).exp().sum();
show("jit(g)(x), g(x)", `${nb.jit(g)(x).item()}, ${g(x).item()}`);
show("makeJaxpr(g)(x)", nb.makeJaxpr(g)(x));

// A training step is a pure function of parameters: fit y = 3x - 1 by gradient descent.
type Params = { w: nb.Tensor; b: nb.Tensor };
const xs = nb.linspace(-1, 1, 32);
const ys = xs.mul(3).sub(1);
const loss = (p: Params) => xs.mul(p.w).add(p.b).sub(ys).square().mean();
let params: Params = { w: nb.tensor(0), b: nb.tensor(0) };
const step = nb.valueAndGrad(loss);
for (let i = 0; i <= 200; i++) {
  const [value, g] = step(params);
  params = nb.tree.map((p: nb.Tensor, dp: nb.Tensor) => p.sub(dp.mul(0.5)), params, g);
  if (i % 50 === 0) console.log(`step ${String(i).padStart(3)}  loss ${value.item()}`);
}
console.log(`fitted: w = ${params.w.item()}, b = ${params.b.item()} (true: 3, -1)`);
