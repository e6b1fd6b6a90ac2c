"""The classic NumPy reference for nabla's DeZero examples ("Deep Learning from Scratch 3"):
an MLP of Linear layers (x W + b) with sigmoid between them, trained by plain SGD, with
DeZero's formulas written out by hand, forward and backward:

  sigmoid(x)               = tanh(x / 2) / 2 + 1/2,         dx = gy · y (1 − y)
  softmax_cross_entropy    = −Σ log_softmax(x)[n, t_n] / N,  dx = (softmax(x) − onehot(t)) / N
  mean_squared_error(x, y) = Σ (x − y)² / len(x),            dx = 2 (x − y) / len(x)
  SGD                      p ← p − lr · g

  python3 bench/numpy_dezero.py --fidelity DIR --task spiral|sine --lr LR
      # from DIR/init.safetensors (the MLP's weights, named by nabla's tree paths: 0.w, 0.b,
      # 1.w, ...) over DIR/batches.safetensors (x [S, B, D] and t [S, B] int32 for spiral,
      # y [S, B, 1] for sine), writes DIR/trajectory.safetensors: loss [S], grads.<leaf> and
      # params.<leaf> (after the update) stacked over the S steps, in the weights' dtype
"""

import argparse
import json
import os
import sys

import numpy as np

from _numpy_safetensors import read_safetensors, write_safetensors


class Linear:
    def __init__(self, W, b):
        self.params = [W, b]
        self.grads = [np.zeros_like(W), np.zeros_like(b)]
        self.x = None

    def forward(self, x):
        self.x = x
        W, b = self.params
        return x @ W + b

    def backward(self, gy):
        W, _ = self.params
        self.grads[0][...] = self.x.T @ gy
        self.grads[1][...] = gy.sum(axis=0)
        return gy @ W.T


class Sigmoid:
    def __init__(self):
        self.params, self.grads = [], []
        self.y = None

    def forward(self, x):
        self.y = np.tanh(x * 0.5) * 0.5 + 0.5
        return self.y

    def backward(self, gy):
        return gy * self.y * (1 - self.y)


class SoftmaxCrossEntropy:
    def forward(self, x, t):
        N = x.shape[0]
        m = x.max(axis=1, keepdims=True)
        log_z = m + np.log(np.exp(x - m).sum(axis=1, keepdims=True))
        log_p = x - log_z
        self.cache = (x, t, log_z)
        return -log_p[np.arange(N), t].sum() / N

    def backward(self):
        x, t, log_z = self.cache
        N, C = x.shape
        return (np.exp(x - log_z) - np.eye(C, dtype=x.dtype)[t]) / N


class MeanSquaredError:
    def forward(self, x, y):
        self.diff = x - y
        return (self.diff**2).sum() / len(self.diff)

    def backward(self):
        return self.diff * (2.0 / len(self.diff))


class MLP:
    def __init__(self, weights):
        count = len(weights) // 2
        self.names = [f"{i}.{k}" for i in range(count) for k in ("w", "b")]
        self.layers = []
        for i in range(count):
            self.layers.append(Linear(weights[f"{i}.w"], weights[f"{i}.b"]))
            if i < count - 1:
                self.layers.append(Sigmoid())
        self.params = [p for layer in self.layers for p in layer.params]
        self.grads = [g for layer in self.layers for g in layer.grads]

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, gy):
        for layer in reversed(self.layers):
            gy = layer.backward(gy)


def fidelity(directory, task, lr):
    weights, _ = read_safetensors(os.path.join(directory, "init.safetensors"))
    batches, _ = read_safetensors(os.path.join(directory, "batches.safetensors"))
    model = MLP(weights)
    loss_fn = SoftmaxCrossEntropy() if task == "spiral" else MeanSquaredError()
    targets = batches["t"] if task == "spiral" else batches["y"]
    trajectory = {"loss": [], **{f"grads.{n}": [] for n in model.names},
                  **{f"params.{n}": [] for n in model.names}}
    for x, t in zip(batches["x"], targets):
        loss = loss_fn.forward(model.forward(x), t)
        model.backward(loss_fn.backward())
        for p, g in zip(model.params, model.grads):
            p -= lr * g  # SGD
        trajectory["loss"].append(loss)
        for n, g, p in zip(model.names, model.grads, model.params):
            trajectory[f"grads.{n}"].append(g.copy())
            trajectory[f"params.{n}"].append(p.copy())
    dtype = model.params[0].dtype
    write_safetensors(os.path.join(directory, "trajectory.safetensors"),
                      {k: np.asarray(v, dtype=dtype) for k, v in trajectory.items()})
    print(json.dumps({"steps": len(targets), "dtype": str(dtype)}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fidelity", metavar="DIR", required=True)
    parser.add_argument("--task", choices=["spiral", "sine"], required=True)
    parser.add_argument("--lr", type=float, required=True)
    args = parser.parse_args()
    fidelity(args.fidelity, args.task, args.lr)


if __name__ == "__main__":
    sys.exit(main())
