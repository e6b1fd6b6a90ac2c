// deno-fmt-ignore-file
/**
 * The bad-input corpus of transformations and namespaces: `grad` and friends, `customVjp`,
 * `vmap`, `tree`, `random`, `nn`, `optim`, `data` and `testing`. One line per case, as in
 * `_bad_input_cases.ts`.
 *
 * @module
 */

import * as nb from "../mod.ts";
import { type Case, gives, rejects } from "./_bad_input.ts";

const v3 = (): nb.Tensor => nb.tensor([1, 2, 3]);
const m23 = (): nb.Tensor => nb.tensor([[1, 2, 3], [4, 5, 6]]);
const i3 = (): nb.Tensor => nb.tensor([0, 1, 2], { dtype: "int32" });
const labels = (xs: number[]): nb.Tensor => nb.tensor(xs, { dtype: "int32" });
const sq = (x: nb.Tensor): nb.Tensor => x.square().sum();
const k0 = (): nb.random.Key => nb.random.key(0);
const M = 1e6;
const SYNC: nb.Device[] = ["cpu", "wasm"];
const GPU: nb.Device[] = ["webgpu"];
// deno-lint-ignore no-explicit-any
const bad = (x: unknown): any => x;

// A custom rule whose backward pass returns `ct` for a float32 argument.
const custom = (bwd: (ct: nb.Tensor) => unknown, fwd?: (x: nb.Tensor) => unknown) =>
  nb.customVjp((x: nb.Tensor) => x.sum(), bad(fwd ?? ((x: nb.Tensor) => [x.sum(), null])), (
    _r: unknown,
    ct: nb.Tensor,
  ) => bad(bwd(ct)));
const gradOf = (f: (x: nb.Tensor) => nb.Tensor, x = v3()) => nb.grad(f)(x);

// A backward pass that multiplies by a constant it makes once and keeps.
const cachingGrad = () => {
  let cached: nb.Tensor | undefined;
  const f = nb.customVjp(
    (x: nb.Tensor) => x.mul(2),
    (x: nb.Tensor) => [x.mul(2), null],
    (_r: unknown, ct: nb.Tensor) => [ct.mul(cached ??= nb.full([3], 2))],
  );
  const g = nb.grad((x: nb.Tensor) => f(x).sum());
  g(v3());
  return g(v3());
};
// A backward pass that records the cotangents it is handed (a gradient hook).
const hookedGrad = () => {
  const seen: nb.Tensor[] = [];
  const hook = nb.customVjp(
    (x: nb.Tensor) => x,
    (x: nb.Tensor) => [x, null],
    (_r: unknown, ct: nb.Tensor) => [seen.push(ct) && ct],
  );
  nb.grad((x: nb.Tensor) => hook(x.mul(3)).mul(2).sum())(v3());
  return seen[0];
};
// A forward pass that returns a residual it keeps across calls.
const cachingFwd = () => {
  let scale: nb.Tensor | undefined;
  const f = nb.customVjp(
    (x: nb.Tensor) => x.sum(),
    (x: nb.Tensor) => [x.sum(), scale ??= nb.full([3], 5)],
    (s: nb.Tensor, ct: nb.Tensor) => [s.mul(ct)],
  );
  nb.grad(f)(v3());
  return nb.grad(f)(v3());
};
// A gradient taken inside a backward pass, kept by the user.
const gradInBwd = () => {
  let inner: nb.Tensor | undefined;
  const f = nb.customVjp(
    (x: nb.Tensor) => x.sum(),
    (x: nb.Tensor) => [x.sum(), x],
    (x: nb.Tensor, ct: nb.Tensor) => [(inner = nb.grad(sq)(x)).mul(ct)],
  );
  nb.grad(f)(v3());
  return inner;
};

/** Transformations and custom rules. */
export const transforms: Case[] = [
  rejects(TypeError, /grad: f must be a function, got string nope/, () => nb.grad(bad("nope"))),
  rejects(TypeError, /grad: f must be a function, got undefined/, () => nb.grad(bad(undefined))),
  rejects(TypeError, /valueAndGrad: f must be a function, got number 42/, () => nb.valueAndGrad(bad(42))),
  rejects(TypeError, /vjp: f must be a function, got string/, () => nb.vjp(bad("f"), v3())),
  rejects(TypeError, /jvp: f must be a function, got null/, () => nb.jvp(bad(null), [v3()], [v3()])),
  rejects(TypeError, /vmap: f must be a function, got an object/, () => nb.vmap(bad({}))),
  rejects(TypeError, /jacfwd: f must be a function, got string/, () => nb.jacfwd(bad("x"))),
  rejects(TypeError, /jacrev: f must be a function, got number/, () => nb.jacrev(bad(1))),
  rejects(TypeError, /hessian: f must be a function, got null/, () => nb.hessian(bad(null))),
  rejects(TypeError, /customVjp: f must be a function, got string/, () => nb.customVjp(bad("f"), bad(sq), bad(sq))),
  rejects(TypeError, /customVjp: fwd must be a function, got undefined/, () => nb.customVjp(sq, bad(undefined), bad(sq))),
  rejects(TypeError, /customVjp: bwd must be a function, got number/, () => nb.customVjp(sq, bad(sq), bad(3))),
  rejects(TypeError, /grad: options must be an object, got string/, () => nb.grad(sq, bad("0"))),
  rejects(RangeError, /grad: argnums \[0,0\] repeats argument 0/, () => nb.grad(sq, { argnums: [0, 0] })(v3())),
  rejects(RangeError, /grad: argnums \[1,-1\] repeats argument 1/, () => nb.grad((_a: nb.Tensor, b: nb.Tensor) => sq(b), { argnums: [1, -1] })(v3(), v3())),
  rejects(RangeError, /grad: argnums 1 is out of range for 1 argument/, () => nb.grad(sq, { argnums: 1 })(v3())),
  rejects(RangeError, /grad: argnums 0.5 is out of range/, () => nb.grad(sq, bad({ argnums: 0.5 }))(v3())),
  rejects(TypeError, /grad: argnums must be an integer or an array of integers, got string/, () => nb.grad(sq, bad({ argnums: "0" }))(v3())),
  rejects(RangeError, /grad: argnums 0 is out of range for 0 arguments/, () => nb.grad(bad(sq))()),
  rejects(TypeError, /grad: f must return a scalar tensor \(shape \[\]\), got shape \[3\]/, () => nb.grad((x: nb.Tensor) => x)(v3())),
  rejects(TypeError, /grad: f must return a scalar tensor .*got number 3/, () => nb.grad((_x: nb.Tensor) => bad(3))(v3())),
  rejects(TypeError, /grad: f must return a floating-point scalar, got int32\[\]/, () => nb.grad((x: nb.Tensor) => x.sum().astype("int32"))(v3())),
  rejects(TypeError, /grad: argument 0 has an int32\[3\] leaf; only float32\/float64/, () => nb.grad(sq)(i3())),
  rejects(TypeError, /grad: argument 0 must be a pytree of tensors, but leaf 0 is string abc/, () => nb.grad(sq)(bad("abc"))),
  rejects(TypeError, /grad: with hasAux, f must return \[value, aux\], got a tensor/, () => nb.grad(sq, { hasAux: true })(v3())),
  rejects(TypeError, /valueAndGrad: with hasAux, f must return \[value, aux\], got an array of 1/, () => nb.valueAndGrad((x: nb.Tensor) => bad([sq(x)]), { hasAux: true })(v3())),
  rejects(RangeError, /vjp: the cotangent has shape \[2\], but the output of f has shape \[3\]/, () => nb.vjp((x: nb.Tensor) => x.mul(2), v3())[1](nb.zeros([2]))),
  rejects(TypeError, /vjp: the cotangent has structure \*, but the output of f has \[\*, \*\]/, () => nb.vjp((x: nb.Tensor) => [x, x], v3())[1](bad(v3()))),
  rejects(TypeError, /vjp: the cotangent has structure \{b: \*\}, but the output of f has \{a: \*\}/, () => nb.vjp((x: nb.Tensor) => ({ a: x.mul(2) }), v3())[1](bad({ b: v3() }))),
  rejects(TypeError, /vjp: the cotangent is int32\[3\], but the output of f is float32\[3\]/, () => nb.vjp((x: nb.Tensor) => x.mul(2), v3())[1](i3())),
  rejects(RangeError, /jvp: tangent 0 has shape \[2\] but its primal has \[3\]/, () => nb.jvp(sq, [v3()], [nb.zeros([2])])),
  rejects(TypeError, /jvp: tangent 0 is int32\[3\] but its primal is float32\[3\]/, () => nb.jvp(sq, [v3()], [i3()])),
  rejects(TypeError, /jvp: primals and tangents must be arrays of the same length/, () => nb.jvp(sq, bad(v3()), bad(v3()))),
  rejects(TypeError, /jvp: primals and tangents must be arrays of the same length/, () => nb.jvp(sq, [v3()], [])),
  rejects(TypeError, /jvp: primals has a int32\[3\] leaf|jvp: primals has an int32\[3\] leaf/, () => nb.jvp(sq, [i3()], [i3()])),
  rejects(RangeError, /vmap: batched arguments have different sizes along their axes: 2, 3/, () => nb.vmap((a: nb.Tensor, b: nb.Tensor) => a.sum().add(b.sum()))(m23(), nb.zeros([3, 3]))),
  rejects(RangeError, /vmap: axis 2 is out of bounds for shape \[2,3\]/, () => nb.vmap(sq, { inAxes: 2 })(m23())),
  rejects(TypeError, /vmap: inAxes has 2 entries for 1 arguments/, () => nb.vmap(sq, { inAxes: [0, 0] })(m23())),
  rejects(TypeError, /vmap: no argument is batched/, () => nb.vmap(sq, { inAxes: null })(m23())),
  rejects(RangeError, /vmap: outAxes 3 is out of bounds for an output of shape \[2,1,3\]/, () => nb.vmap((r: nb.Tensor) => r.reshape([1, 3]), { outAxes: 3 })(m23())),
  rejects(RangeError, /vmap: outAxes -3 is out of bounds for an output of shape \[2,3\]/, () => nb.vmap((r: nb.Tensor) => r.mul(2), { outAxes: -3 })(m23())),
  rejects(TypeError, /vmap: outAxes must be an integer, got string/, () => nb.vmap(sq, { outAxes: bad("0") })(m23())),
  rejects(RangeError, /vmap: axis 0 is out of bounds for shape \[\]/, () => nb.vmap(sq)(nb.tensor(1))),
  gives([[1, 4], [2, 5], [3, 6]], () => nb.vmap((r: nb.Tensor) => r, { outAxes: 1 })(m23())),
  gives([[1, 4], [2, 5], [3, 6]], () => nb.vmap((r: nb.Tensor) => r, { outAxes: -1 })(m23())),
  rejects(TypeError, /jacfwd: argument 0 has an int32\[3\] leaf/, () => nb.jacfwd(sq)(i3())),
  rejects(RangeError, /jacrev: argnums 2 is out of range for 1 argument/, () => nb.jacrev(sq, { argnums: 2 })(v3())),
  rejects(RangeError, /hessian: argnums \[0,0\] repeats argument 0/, () => nb.hessian(sq, { argnums: [0, 0] })(v3())),
  rejects(TypeError, /customVjp: fwd must return \[output, residuals\], got a tensor float32\[\]/, () => gradOf(custom((ct) => [ct], (x) => x.sum()))),
  rejects(TypeError, /customVjp: fwd must return \[output, residuals\], got an array of 1/, () => gradOf(custom((ct) => [ct], (x) => [x.sum()]))),
  rejects(TypeError, /customVjp: bwd must return an array with one cotangent per argument \(1\), got a tensor/, () => gradOf(custom((ct) => ct.mul(nb.ones([3]))))),
  rejects(TypeError, /customVjp: bwd must return .* \(1\), got an array of 0/, () => gradOf(custom(() => []))),
  rejects(RangeError, /customVjp: the cotangent bwd returned for argument 0 has shape \[5\], but argument 0 has shape \[3\]/, () => gradOf(custom(() => [nb.ones([5])]))),
  rejects(TypeError, /customVjp: the cotangent bwd returned for argument 0 is int32\[3\], but argument 0 is float32\[3\]/, () => gradOf(custom(() => [nb.ones([3], { dtype: "int32" })]))),
  rejects(TypeError, /customVjp: the cotangent bwd returned for argument 0 has structure \{a: \*\}, but argument 0 has \{a: \*, b: \*\}/, () => nb.grad(nb.customVjp((p: { a: nb.Tensor; b: nb.Tensor }) => p.a.sum(), (p) => [p.a.sum(), null], (_r, ct) => [{ a: ct }]))({ a: v3(), b: v3() })),
  rejects(TypeError, /customVjp: the cotangent bwd returned for argument 0 must be a pytree of tensors, but leaf 0 is string x/, () => gradOf(custom(() => ["x"]))),
  rejects(TypeError, /customVjp: the output must be a pytree of tensors, but leaf 0 is number 3/, () => nb.customVjp((_x: nb.Tensor) => bad(3), bad(() => [3, null]), () => [null])(v3())),
  rejects(TypeError, /customVjp: a function with a custom VJP cannot be differentiated in forward mode/, () => nb.jvp(custom((ct) => [ct.mul(nb.ones([3]))]), [v3()], [v3()])),
  gives([2, 2, 2], cachingGrad),
  gives([2, 2, 2], hookedGrad),
  gives([5, 5, 5], cachingFwd),
  gives([2, 4, 6], gradInBwd),
  gives([0, 0, 0], () => gradOf(custom(() => [null]))),
  gives([6, 6, 6], () => gradOf(custom((ct) => [nb.broadcastTo(ct, [3]).mul(6)]))),
];

/** Pytrees. */
export const trees: Case[] = [
  rejects(RangeError, /tree.unflatten: structure has 2 leaves but 1 were given/, () => nb.tree.unflatten(nb.tree.flatten([1, 2])[1], [1])),
  rejects(TypeError, /tree.unflatten: expected a treedef from tree.flatten, got null/, () => nb.tree.unflatten(bad(null), [])),
  rejects(TypeError, /tree.unflatten: leaves must be an array, got string/, () => nb.tree.unflatten(nb.tree.flatten([1, 2])[1], bad("ab"))),
  rejects(TypeError, /tree.map: structures differ: \{a: \*\} and \{b: \*\}/, () => nb.tree.map((x: number) => x, { a: 1 }, { b: 1 })),
  rejects(TypeError, /tree.map: f must be a function, got string/, () => nb.tree.map(bad("f"), { a: 1 })),
  rejects(TypeError, /tree.flatten: the pytree contains a cycle at a.self/, () => { const a: Record<string, unknown> = {}; a.self = a; return nb.tree.flatten({ a }); }),
  rejects(TypeError, /tree.numLeaves: expected a treedef from tree.flatten, got undefined/, () => nb.tree.numLeaves(bad(undefined))),
  rejects(TypeError, /tree.sameStructure: expected a treedef from tree.flatten, got number/, () => nb.tree.sameStructure(bad(1), nb.tree.flatten(1)[1])),
  rejects(TypeError, /tree.describe: expected a treedef from tree.flatten, got null/, () => nb.tree.describe(bad(null))),
  gives([1, 2], () => nb.tree.leaves({ a: [1, null, undefined, 2] })),
  gives(["b.0", "c"], () => nb.tree.paths({ a: null, b: [1], c: 2 })),
];

/** Random numbers. */
export const random: Case[] = [
  rejects(TypeError, /random.key: seed must be an integer, got string/, () => nb.random.key(bad("a"))),
  rejects(RangeError, /random.key: seed must be a safe integer, got 1.5/, () => nb.random.key(1.5)),
  rejects(RangeError, /random.key: seed must be a safe integer, got NaN/, () => nb.random.key(NaN)),
  rejects(RangeError, /random.key: seed must be a safe integer, got 18446744073709552000/, () => nb.random.key(2 ** 64)),
  gives([0, 4294967295], () => [...nb.random.key(-1)]),
  rejects(TypeError, /random.split: expected a key \(two uint32 words\)/, () => nb.random.split(bad("k"))),
  rejects(RangeError, /random.split: num must be an integer >= 0, got -1/, () => nb.random.split(k0(), -1)),
  rejects(RangeError, /random.split: num must be an integer >= 0, got 1.5/, () => nb.random.split(k0(), 1.5)),
  rejects(TypeError, /random.split: num must be an integer, got string/, () => nb.random.split(k0(), bad("2"))),
  rejects(RangeError, /random.foldIn: data must be an integer, got 1.5/, () => nb.random.foldIn(k0(), 1.5)),
  rejects(TypeError, /random.foldIn: data must be an integer, got string/, () => nb.random.foldIn(k0(), bad("1"))),
  rejects(TypeError, /random.foldIn: expected a key/, () => nb.random.foldIn(bad([1, 2, 3]), 1)),
  rejects(TypeError, /random.uniform: shape must be an array of integers, got string/, () => nb.random.uniform(k0(), bad("2"))),
  rejects(TypeError, /random.uniform: dtype must be float32 or float64, got int32/, () => nb.random.uniform(k0(), [2], { dtype: "int32" })),
  rejects(RangeError, /random.uniform: .*\[1000000,1000000\].* 4000000000000 bytes/, () => nb.random.uniform(k0(), [M, M])),
  rejects(TypeError, /random.uniform: minval must be a number, got string/, () => nb.random.uniform(k0(), [2], { minval: bad("0") })),
  rejects(TypeError, /random.uniform: unknown device "gpu"/, () => nb.random.uniform(k0(), [2], { device: bad("gpu") })),
  rejects(RangeError, /random.normal: .*\[1000000,1000000\].* 4000000000000 bytes/, () => nb.random.normal(k0(), [M, M])),
  rejects(RangeError, /random.normal: invalid shape \[-1\]/, () => nb.random.normal(k0(), [-1])),
  rejects(TypeError, /random.normal: expected a key/, () => nb.random.normal(bad([1, 2, 3]), [2])),
  rejects(TypeError, /random.normal: dtype must be float32 or float64, got bool/, () => nb.random.normal(k0(), [2], { dtype: "bool" })),
  rejects(RangeError, /random.bernoulli: p must be in \[0, 1\], got 1.5/, () => nb.random.bernoulli(k0(), 1.5)),
  rejects(RangeError, /random.bernoulli: p must be in \[0, 1\], got NaN/, () => nb.random.bernoulli(k0(), NaN)),
  rejects(TypeError, /random.bernoulli: p must be a number, got string/, () => nb.random.bernoulli(k0(), bad("0.5"))),
  rejects(RangeError, /random.bernoulli: .*\[1000000,1000000\].* bytes/, () => nb.random.bernoulli(k0(), 0.5, [M, M])),
  rejects(RangeError, /random.randint: bounds must be int32 integers, got 1.5/, () => nb.random.randint(k0(), [2], 0, 1.5)),
  rejects(RangeError, /random.randint: bounds must be int32 integers, got 3000000000/, () => nb.random.randint(k0(), [2], 0, 3e9)),
  rejects(RangeError, /random.randint: .*\[1000000,1000000\].* bytes/, () => nb.random.randint(k0(), [M, M], 0, 2)),
  gives([5, 5], () => nb.random.randint(k0(), [2], 5, 5)),
  rejects(RangeError, /random.permutation: n must be an integer >= 0, got -1/, () => nb.random.permutation(k0(), -1)),
  rejects(TypeError, /random.permutation: n must be an integer, got string/, () => nb.random.permutation(k0(), bad("5"))),
  rejects(RangeError, /random.permutation: .*\[1000000000000\].* bytes/, () => nb.random.permutation(k0(), 1e12)),
  rejects(TypeError, /random.categorical: logits must be a Tensor, got an array/, () => nb.random.categorical(k0(), bad([1, 2]))),
  rejects(RangeError, /random.categorical: axis 2 is out of bounds for shape \[2,3\]/, () => nb.random.categorical(k0(), m23(), { axis: 2 })),
  rejects(RangeError, /random.categorical: no classes along axis 1 of \[2,0\]/, () => nb.random.categorical(k0(), nb.zeros([2, 0]))),
];

/** Losses and metrics, and the modules' argument checks. */
export const nn: Case[] = [
  rejects(RangeError, /nn.meanSquaredError: pred \[3\] and target \[3,1\] must have the same shape/, () => nb.nn.meanSquaredError(v3(), v3().reshape([3, 1]))),
  rejects(RangeError, /nn.meanSquaredError: pred \[2,3\] and target \[3\] must have the same shape/, () => nb.nn.meanSquaredError(m23(), v3())),
  rejects(TypeError, /nn.meanSquaredError: target must be a Tensor, got string/, () => nb.nn.meanSquaredError(v3(), bad("a"))),
  rejects(TypeError, /nn.meanSquaredError: pred must be a Tensor, got an array/, () => nb.nn.meanSquaredError(bad([1]), v3())),
  gives(0, () => nb.nn.meanSquaredError(v3(), v3())),
  gives(2, () => nb.nn.meanSquaredError(nb.tensor([1, 2]), nb.tensor([1, 4]))),
  rejects(RangeError, /nn.accuracy: labels \[3,1\] must match logits \[3,3\] without its last axis/, () => nb.nn.accuracy(nb.eye(3), nb.arange(3).reshape([3, 1]))),
  rejects(TypeError, /nn.accuracy: labels must be int32, got float32\[3\]/, () => nb.nn.accuracy(nb.eye(3), v3())),
  rejects(TypeError, /nn.accuracy: logits must be a Tensor, got undefined/, () => nb.nn.accuracy(bad(undefined), i3())),
  rejects(RangeError, /nn.accuracy: label 5 at index 2 is outside \[0, 3\)/, () => nb.nn.accuracy(nb.eye(3), labels([0, 1, 5])), SYNC),
  gives(NaN, () => nb.nn.accuracy(nb.eye(3), labels([0, 1, 5])), { on: GPU }),
  gives(1, () => nb.nn.accuracy(nb.eye(3), nb.arange(3))),
  gives(0.5, () => nb.nn.accuracy(nb.tensor([[2, 1], [0, 3]]), labels([0, 0]))),
  rejects(RangeError, /nn.softmaxCrossEntropy: label 5 at index 1 is outside \[0, 3\)/, () => nb.nn.softmaxCrossEntropy(nb.zeros([2, 3]), labels([0, 5])), SYNC),
  rejects(RangeError, /nn.softmaxCrossEntropy: label -1 at index 1 is outside \[0, 3\)/, () => nb.nn.softmaxCrossEntropy(nb.zeros([2, 3]), labels([0, -1])), SYNC),
  gives(NaN, () => nb.nn.softmaxCrossEntropy(nb.zeros([2, 3]), labels([0, 5])), { on: GPU }),
  gives(NaN, () => nb.nn.softmaxCrossEntropy(nb.zeros([2, 3]), labels([0, -1])), { on: GPU }),
  gives([Math.log(3), NaN], () => nb.vmap((l: nb.Tensor, y: nb.Tensor) => nb.nn.softmaxCrossEntropy(l, y))(nb.zeros([2, 1, 3]), labels([0, 3]).reshape([2, 1]))),
  gives(Math.log(3), () => nb.nn.softmaxCrossEntropy(nb.zeros([2, 3]), labels([0, -1]), { ignoreIndex: -1 })),
  rejects(RangeError, /nn.softmaxCrossEntropy: label 7 at index 0 is outside \[0, 3\)/, () => nb.nn.softmaxCrossEntropy(nb.zeros([1, 3]), labels([7]), { ignoreIndex: -100 }), SYNC),
  rejects(TypeError, /nn.softmaxCrossEntropy: labels must be int32, got float32\[2\]/, () => nb.nn.softmaxCrossEntropy(nb.zeros([2, 3]), nb.tensor([0, 1]))),
  rejects(RangeError, /nn.softmaxCrossEntropy: labels \[3\] must match logits \[2,3\] without its last axis/, () => nb.nn.softmaxCrossEntropy(nb.zeros([2, 3]), i3())),
  rejects(TypeError, /nn.softmaxCrossEntropy: logits must be a Tensor, got an array/, () => nb.nn.softmaxCrossEntropy(bad([[0, 1]]), labels([0]))),
  rejects(TypeError, /nn.softmaxCrossEntropy: labels must be a Tensor, got an array/, () => nb.nn.softmaxCrossEntropy(nb.zeros([2, 3]), bad([0, 1]))),
  rejects(TypeError, /nn.softmaxCrossEntropy: ignoreIndex must be an integer, got string/, () => nb.nn.softmaxCrossEntropy(nb.zeros([2, 3]), labels([0, 1]), { ignoreIndex: bad("x") })),
  gives(Math.log(2), () => nb.nn.softmaxCrossEntropy(nb.zeros([2, 2]), labels([0, 1]))),
  rejects(RangeError, /nn.linear: inFeatures must be a positive integer, got 0/, () => nb.nn.linear(0, 3)),
  rejects(TypeError, /nn.linear: inFeatures must be a number, got string 3/, () => nb.nn.linear("3" as never, 2)),
  rejects(TypeError, /nn.gelu: x must be a tensor, got string x/, () => nb.nn.gelu("x" as never)),
  rejects(TypeError, /nn.sequential: layer 0 must be a module \{ init, apply \}, got string x/, () => nb.nn.sequential("x" as never)),
  rejects(TypeError, /nn.dotProductAttention: q must be a tensor, got number 1/, () => nb.nn.dotProductAttention(1 as never, nb.zeros([2, 2]), nb.zeros([2, 2]))),
  rejects(RangeError, /nn.lstm: inputSize must be a positive integer, got 0/, () => nb.nn.lstm(0, 3)),
  rejects(TypeError, /nn.seq2seq: config must be an object, got null/, () => nb.nn.seq2seq(null as never)),
  rejects(RangeError, /nn.mlp: needs at least two sizes/, () => nb.nn.mlp([3])),
  rejects(RangeError, /nn.embedding: dim must be a positive integer, got -2/, () => nb.nn.embedding(10, -2)),
  rejects(RangeError, /nn.dotProductAttention: expected q \[\.\.\., Tq, D\]/, () => nb.nn.dotProductAttention(nb.zeros([2, 4]), nb.zeros([3, 5]), nb.zeros([3, 5]))),
  rejects(RangeError, /nn.lstm: expected inputs \[B, T, 4\], got \[2,3\]/, () => { const rnn = nb.nn.lstm(4, 8); return rnn.apply(rnn.init(k0()), nb.zeros([2, 3])); }),
  rejects(RangeError, /matmul: inner dimensions differ: \[2,5\] @ \[4,3\]/, () => { const layer = nb.nn.linear(4, 3); return layer.apply(layer.init(k0()), nb.zeros([2, 5])); }),
];

const w = (): { w: nb.Tensor } => ({ w: v3() });

/** Optimizers, transforms and schedules. */
export const optim: Case[] = [
  rejects(TypeError, /optim.sgd: learningRate must be a number or a schedule, got string 0.1/, () => nb.optim.sgd(bad("0.1"))),
  rejects(TypeError, /optim.sgd: learningRate must be a number or a schedule, got undefined/, () => nb.optim.sgd(bad(undefined))),
  rejects(RangeError, /optim.sgd: learningRate must be finite, got NaN/, () => nb.optim.sgd(NaN)),
  rejects(TypeError, /optim.sgd: momentum must be a number, got string/, () => nb.optim.sgd(0.1, { momentum: bad("0.9") })),
  rejects(TypeError, /optim.adam: learningRate must be a number or a schedule, got string x/, () => nb.optim.adam(bad("x"))),
  rejects(RangeError, /optim.adam: b1 must be in \[0, 1\), got 1.5/, () => nb.optim.adam(0.1, { b1: 1.5 })),
  rejects(RangeError, /optim.adamw: b2 must be in \[0, 1\), got 1/, () => nb.optim.adamw(0.1, { b2: 1 })),
  rejects(TypeError, /optim.adagrad: eps must be a number, got string/, () => nb.optim.adagrad(0.1, { eps: bad("1") })),
  rejects(TypeError, /optim.rmsprop: decay must be a number, got string/, () => nb.optim.rmsprop(0.1, { decay: bad("0.9") })),
  rejects(TypeError, /optim.adadelta: rho must be a number, got string/, () => nb.optim.adadelta(0.1, { rho: bad("0.9") })),
  rejects(TypeError, /optim.adam: update needs the state from init\(\), got undefined/, () => nb.optim.adam(0.1).update(w(), bad(undefined))),
  rejects(TypeError, /optim.adam: update needs the state from init\(\), got an object/, () => nb.optim.adam(0.1).update(w(), bad({}))),
  rejects(TypeError, /optim.sgd: update needs the state from init\(\), got null/, () => nb.optim.sgd(0.1).update(w(), bad(null))),
  rejects(TypeError, /optim.adam: the gradients' structure \{b: \*\} differs from the state's \{w: \*\}/, () => { const opt = nb.optim.adam(0.1); return opt.update({ b: v3() }, opt.init(w())); }),
  rejects(RangeError, /optim.adam: gradient w has shape \[2,3\] but the state has \[3\]/, () => { const opt = nb.optim.adam(0.1); return opt.update({ w: m23() }, opt.init(w())); }),
  rejects(RangeError, /optim.sgd: gradient w has shape \[1\] but the state has \[3\]/, () => { const opt = nb.optim.sgd(0.1, { momentum: 0.9 }); return opt.update({ w: nb.zeros([1]) }, opt.init(w())); }),
  rejects(TypeError, /optim.sgd: gradient w must be a tensor, got number 1/, () => { const opt = nb.optim.sgd(0.1); return opt.update(bad({ w: 1 }), opt.init(w())); }),
  rejects(RangeError, /optim.applyUpdates: update w has shape \[1\] but the parameter has \[3\]/, () => nb.optim.applyUpdates(w(), { w: nb.zeros([1]) })),
  rejects(TypeError, /optim.applyUpdates: the updates' structure \{v: \*\} differs from the parameters' \{w: \*\}/, () => nb.optim.applyUpdates(w(), { v: v3() })),
  rejects(TypeError, /optim.chain: argument 0 must be a gradient transformation \{ init, update \}, got string/, () => nb.optim.chain(bad("a"))),
  rejects(TypeError, /optim.chain: update needs the state from init\(\), got undefined/, () => nb.optim.chain(nb.optim.sgd(0.1)).update(w(), bad(undefined))),
  rejects(RangeError, /optim.clipByGlobalNorm: maxNorm must be a number >= 0, got -1/, () => nb.optim.clipByGlobalNorm(-1)),
  rejects(TypeError, /optim.clipByGlobalNorm: maxNorm must be a number, got string/, () => nb.optim.clipByGlobalNorm(bad("1"))),
  rejects(TypeError, /optim.addDecayedWeights: update needs params \(the third argument\)/, () => nb.optim.addDecayedWeights(0.1).update(w(), {})),
  rejects(TypeError, /optim.addDecayedWeights: weightDecay must be a number, got string/, () => nb.optim.addDecayedWeights(bad("0.1"))),
  rejects(RangeError, /optim.clip: maxDelta must be a number >= 0, got -1/, () => nb.optim.clip(-1)),
  rejects(TypeError, /optim.scale: factor must be a number, got string/, () => nb.optim.scale(bad("2"))),
  rejects(TypeError, /optim.masked: the mask has 1 leaves but the gradients have 2/, () => nb.optim.masked(nb.optim.setToZero(), { w: true }).update({ w: v3(), b: v3() }, { inner: {}, })),
  rejects(TypeError, /optim.masked: transform must be a gradient transformation \{ init, update \}, got string/, () => nb.optim.masked(bad("x"), {})),
  rejects(TypeError, /optim.adamw: update needs params \(the third argument\)/, () => { const opt = nb.optim.adamw(0.1); return opt.update(w(), opt.init(w())); }),
  rejects(RangeError, /optim.exponentialDecay: transitionSteps must be > 0, got 0/, () => nb.optim.exponentialDecay(1, 0, 0.5)),
  rejects(TypeError, /optim.exponentialDecay: initValue must be a number, got string/, () => nb.optim.exponentialDecay(bad("1"), 10, 0.5)),
  rejects(RangeError, /optim.cosineDecaySchedule: decaySteps must be > 0, got 0/, () => nb.optim.cosineDecaySchedule(1, 0)),
  rejects(TypeError, /optim.warmupCosineDecaySchedule: initValue must be a number, got undefined/, () => nb.optim.warmupCosineDecaySchedule(bad({}))),
  rejects(TypeError, /optim.warmupCosineDecaySchedule: options must be an object, got undefined/, () => nb.optim.warmupCosineDecaySchedule(bad(undefined))),
  rejects(TypeError, /optim.constantSchedule: value must be a number, got string/, () => nb.optim.constantSchedule(bad("0.1"))),
  gives([-0.1, -0.2, -0.3], () => nb.optim.sgd(0.1).update(w(), nb.optim.sgd(0.1).init(w()))[0].w),
  gives([0.9, 1.8, 2.7], () => nb.optim.applyUpdates(w(), nb.optim.scale(-0.1).update(w(), {})[0]).w),
];

/** Datasets and batching. */
export const data: Case[] = [
  rejects(TypeError, /data.dates: options must be an object, got null/, () => nb.data.dates(bad(null))),
  rejects(RangeError, /data.dates: n must be an integer >= 0, got -1/, () => nb.data.dates({ n: -1 })),
  rejects(TypeError, /data.dates: n must be an integer, got string/, () => nb.data.dates({ n: bad("10") })),
  rejects(RangeError, /data.dates: n = 1000000000 exceeds the \d+ distinct questions/, () => nb.data.dates({ n: 1e9 })),
  rejects(TypeError, /data.addition: options must be an object, got number/, () => nb.data.addition(bad(5))),
  rejects(RangeError, /data.addition: seed must be a safe integer, got 1.5/, () => nb.data.addition({ seed: 1.5 })),
  rejects(TypeError, /data.spiral: options must be an object, got null/, () => nb.data.spiral(bad(null))),
  rejects(TypeError, /data.spiral: train must be a boolean, got string/, () => nb.data.spiral({ train: bad("no") })),
  rejects(RangeError, /data.sine: n must be an integer >= 0, got -1/, () => nb.data.sine({ n: -1 })),
  rejects(TypeError, /data.sine: n must be an integer, got string/, () => nb.data.sine({ n: bad("3") })),
  rejects(TypeError, /data.sine: options must be an object, got string/, () => nb.data.sine(bad("x"))),
  rejects(RangeError, /data.batches: batchSize must be a positive integer, got 0/, () => nb.data.batches({ x: m23() }, 0)),
  rejects(TypeError, /data.batches: batchSize must be an integer, got string/, () => nb.data.batches({ x: m23() }, bad("2"))),
  rejects(TypeError, /data.batches: shuffling needs a key/, () => nb.data.batches({ x: m23() }, 1)),
  rejects(TypeError, /data.batches: expected a key/, () => nb.data.batches({ x: m23() }, 1, { key: bad("k") })),
  rejects(RangeError, /data.batches: leading sizes differ: 3 and \[4\]/, () => nb.data.batches({ x: nb.zeros([3]), y: nb.zeros([4]) }, 2, { shuffle: false })),
  rejects(TypeError, /data.batches: dataset must be a pytree of tensors with a leading dimension/, () => nb.data.batches({}, 2, { shuffle: false })),
  gives([[1, 2, 3]], () => [...nb.data.batches({ x: m23() }, 1, { shuffle: false })][0].x),
  rejects(TypeError, /Vocab.encode: expected an array of strings/, () => new nb.data.Vocab(["ab"]).encode(bad("ab"))),
  rejects(RangeError, /Vocab.encode: unknown character "z" in string 0/, () => new nb.data.Vocab(["ab"]).encode(["az"])),
  rejects(TypeError, /Vocab.decode: expected int32 ids, got float32\[1,2\]/, () => new nb.data.Vocab(["ab"]).decode(nb.zeros([1, 2]))),
  rejects(TypeError, /Vocab.fromJSON: expected an object \{ chars: string \}/, () => nb.data.Vocab.fromJSON(bad({}))),
  rejects(TypeError, /Vocab: expected strings, got number/, () => new nb.data.Vocab(bad([1]))),
];

/** The testing helpers. */
export const testing: Case[] = [
  rejects(TypeError, /assertAllClose: cannot compare/, () => nb.testing.assertAllClose(v3(), "abc")),
  rejects(TypeError, /checkGrads: f must be a function, got string/, () => nb.testing.checkGrads(bad("f"), [v3()])),
  rejects(TypeError, /checkGrads: args must be an array of tensors, got a tensor/, () => nb.testing.checkGrads(sq, bad(v3()))),
  rejects(RangeError, /checkGrads: order must be an integer >= 1, got 0/, () => nb.testing.checkGrads(sq, [v3()], { order: 0 })),
  rejects(RangeError, /checkGrads: modes must be "fwd" and\/or "rev", got sideways/, () => nb.testing.checkGrads(sq, [v3()], { modes: bad(["sideways"]) })),
];
