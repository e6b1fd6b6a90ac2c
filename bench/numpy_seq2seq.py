"""The classic NumPy implementation of the attention seq2seq of "Deep Learning from Scratch 2",
chapter 8 (AttentionSeq2seq), re-implemented in the book's style: layers with hand-written
forward and backward passes, LSTMs stepped one time step at a time, softmax cross-entropy
averaged over batch and time, gradient clipping by global norm 5 and the book's Adam (lr 1e-3).
The decoder starts from the encoder's last hidden state and a zero cell state, as the book's.

It is nabla's reference in three ways:

  python3 bench/numpy_seq2seq.py --steps 20     # timing: 2 warm-up + 20 timed steps (float32,
                                                # random ids of the dates task's shapes), JSON
  python3 bench/numpy_seq2seq.py --check        # 30 steps on one fixed batch; loss must drop
  python3 bench/numpy_seq2seq.py --fidelity DIR [--optimizer book|optax]
      # step by step from DIR/init.safetensors (the weights, named by nabla's tree paths) over
      # the batches of DIR/batches.safetensors (x [S, B, T_in], t [S, B, T_answer] int32);
      # writes DIR/step_0001.safetensors, ...: loss, grads.<leaf> (before clipping) and
      # params.<leaf> (after the update), in the dtype of the weights
  python3 bench/numpy_seq2seq.py --train FILE [--epochs 4] [--seed 0] [--optimizer ...]
      # the book's ch08/train.py on FILE: the book's dataset/date.txt, or a .safetensors corpus
      # (x_train, t_train, x_test, t_test int32); prints each epoch's loss and test exact match

`--optimizer book` (the default) is the book's arithmetic: Adam with eps 1e-7 added to sqrt(v)
and the bias correction folded into the step size, clipping by max_norm / (norm + 1e-6).
`--optimizer optax` is optax's (and nabla's): eps 1e-8 added to sqrt(v_hat), clipping by
max_norm / norm when the norm exceeds max_norm.
"""

import argparse
import ctypes
import glob
import json
import os
import sys
import time

import numpy as np

from _numpy_safetensors import read_safetensors, write_safetensors

V, D, H = 59, 16, 256
BATCH, T_IN, T_ANSWER = 128, 29, 11
STEPS_PER_EPOCH = 352  # ceil(45_000 / 128)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x):
    x = x - x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


# ---- Layers: each keeps params (list of arrays) and grads (same shapes) ---------------------


class Embedding:
    def __init__(self, W):
        self.params, self.grads = [W], [np.zeros_like(W)]
        self.idx = None

    def forward(self, idx):
        self.idx = idx
        return self.params[0][idx]

    def backward(self, dout):
        dW = self.grads[0]
        dW[...] = 0
        np.add.at(dW, self.idx, dout)


class TimeEmbedding:
    def __init__(self, W):
        self.params, self.grads = [W], [np.zeros_like(W)]
        self.layers = None

    def forward(self, xs):
        N, T = xs.shape
        W = self.params[0]
        out = np.empty((N, T, W.shape[1]), dtype=W.dtype)
        self.layers = []
        for t in range(T):
            layer = Embedding(W)
            out[:, t, :] = layer.forward(xs[:, t])
            self.layers.append(layer)
        return out

    def backward(self, dout):
        grad = 0
        for t, layer in enumerate(self.layers):
            layer.backward(dout[:, t, :])
            grad += layer.grads[0]
        self.grads[0][...] = grad


class LSTM:
    """One time step; gates packed as [f, g, i, o] along the 4H axis."""

    def __init__(self, Wx, Wh, b):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.cache = None

    def forward(self, x, h_prev, c_prev):
        Wx, Wh, b = self.params
        Hh = h_prev.shape[1]
        A = np.dot(x, Wx) + np.dot(h_prev, Wh) + b
        f = sigmoid(A[:, :Hh])
        g = np.tanh(A[:, Hh:2 * Hh])
        i = sigmoid(A[:, 2 * Hh:3 * Hh])
        o = sigmoid(A[:, 3 * Hh:])
        c_next = f * c_prev + g * i
        h_next = o * np.tanh(c_next)
        self.cache = (x, h_prev, c_prev, i, f, g, o, c_next)
        return h_next, c_next

    def backward(self, dh_next, dc_next):
        Wx, Wh, _ = self.params
        x, h_prev, c_prev, i, f, g, o, c_next = self.cache
        tanh_c = np.tanh(c_next)
        ds = dc_next + (dh_next * o) * (1 - tanh_c**2)
        dc_prev = ds * f
        di = ds * g * i * (1 - i)
        df = ds * c_prev * f * (1 - f)
        do = dh_next * tanh_c * o * (1 - o)
        dg = ds * i * (1 - g**2)
        dA = np.hstack((df, dg, di, do))
        self.grads[0][...] = np.dot(x.T, dA)
        self.grads[1][...] = np.dot(h_prev.T, dA)
        self.grads[2][...] = dA.sum(axis=0)
        dx = np.dot(dA, Wx.T)
        dh_prev = np.dot(dA, Wh.T)
        return dx, dh_prev, dc_prev


class TimeLSTM:
    def __init__(self, Wx, Wh, b, stateful=False):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.layers = None
        self.h = self.c = self.dh = None
        self.stateful = stateful

    def set_state(self, h, c=None):
        self.h, self.c = h, c

    def forward(self, xs):
        Wx, Wh, b = self.params
        N, T, _ = xs.shape
        Hh = Wh.shape[0]
        hs = np.empty((N, T, Hh), dtype=Wh.dtype)
        if not self.stateful or self.h is None:
            self.h = np.zeros((N, Hh), dtype=Wh.dtype)
        if not self.stateful or self.c is None:
            self.c = np.zeros((N, Hh), dtype=Wh.dtype)
        self.layers = []
        for t in range(T):
            layer = LSTM(Wx, Wh, b)
            self.h, self.c = layer.forward(xs[:, t, :], self.h, self.c)
            hs[:, t, :] = self.h
            self.layers.append(layer)
        return hs

    def backward(self, dhs):
        Wx = self.params[0]
        N, T, _ = dhs.shape
        dxs = np.empty((N, T, Wx.shape[0]), dtype=Wx.dtype)
        dh, dc = 0, 0
        grads = [0, 0, 0]
        for t in reversed(range(T)):
            layer = self.layers[t]
            dx, dh, dc = layer.backward(dhs[:, t, :] + dh, dc)
            dxs[:, t, :] = dx
            for k, grad in enumerate(layer.grads):
                grads[k] += grad
        for k, grad in enumerate(grads):
            self.grads[k][...] = grad
        self.dh = dh
        return dxs


class TimeAffine:
    def __init__(self, W, b):
        self.params = [W, b]
        self.grads = [np.zeros_like(W), np.zeros_like(b)]
        self.x = None

    def forward(self, x):
        N, T, _ = x.shape
        W, b = self.params
        self.x = x
        return (np.dot(x.reshape(N * T, -1), W) + b).reshape(N, T, -1)

    def backward(self, dout):
        x = self.x
        N, T, _ = x.shape
        W, _ = self.params
        dout = dout.reshape(N * T, -1)
        rx = x.reshape(N * T, -1)
        self.grads[0][...] = np.dot(rx.T, dout)
        self.grads[1][...] = dout.sum(axis=0)
        return np.dot(dout, W.T).reshape(*x.shape)


class TimeSoftmaxWithLoss:
    def __init__(self, ignore_label=-1):
        self.params, self.grads = [], []
        self.cache = None
        self.ignore_label = ignore_label

    def forward(self, xs, ts):
        N, T, Vv = xs.shape
        xs = xs.reshape(N * T, Vv)
        ts = ts.reshape(N * T)
        mask = ts != self.ignore_label
        ys = softmax(xs)
        ls = np.log(ys[np.arange(N * T), ts])
        ls *= mask
        loss = -np.sum(ls) / mask.sum()
        self.cache = (ts, ys, mask, (N, T, Vv))
        return loss

    def backward(self, dout=1):
        ts, ys, mask, (N, T, Vv) = self.cache
        dx = ys.copy()
        dx[np.arange(N * T), ts] -= 1
        dx *= dout
        dx /= mask.sum()
        dx *= mask[:, np.newaxis]
        return dx.reshape(N, T, Vv)


# ---- Attention -----------------------------------------------------------------------------


class Softmax:
    def __init__(self):
        self.out = None

    def forward(self, x):
        self.out = softmax(x)
        return self.out

    def backward(self, dout):
        dx = self.out * dout
        dx -= self.out * dx.sum(axis=1, keepdims=True)
        return dx


class AttentionWeight:
    """a[n, t] = softmax_t(hs[n, t] · h[n])."""

    def __init__(self):
        self.softmax = Softmax()
        self.cache = None

    def forward(self, hs, h):
        N, T, Hh = hs.shape
        hr = h.reshape(N, 1, Hh).repeat(T, axis=1)
        s = (hs * hr).sum(axis=2)
        a = self.softmax.forward(s)
        self.cache = (hs, hr)
        return a

    def backward(self, da):
        hs, hr = self.cache
        N, T, Hh = hs.shape
        ds = self.softmax.backward(da)
        dt = ds.reshape(N, T, 1).repeat(Hh, axis=2)
        dhs = dt * hr
        dh = (dt * hs).sum(axis=1)
        return dhs, dh


class WeightSum:
    """c[n] = sum_t a[n, t] hs[n, t]."""

    def __init__(self):
        self.cache = None

    def forward(self, hs, a):
        N, T, Hh = hs.shape
        ar = a.reshape(N, T, 1).repeat(Hh, axis=2)
        c = (hs * ar).sum(axis=1)
        self.cache = (hs, ar)
        return c

    def backward(self, dc):
        hs, ar = self.cache
        N, T, Hh = hs.shape
        dt = dc.reshape(N, 1, Hh).repeat(T, axis=1)
        dhs = dt * ar
        da = (dt * hs).sum(axis=2)
        return dhs, da


class Attention:
    def __init__(self):
        self.weight = AttentionWeight()
        self.weight_sum = WeightSum()

    def forward(self, hs, h):
        a = self.weight.forward(hs, h)
        return self.weight_sum.forward(hs, a)

    def backward(self, dout):
        dhs0, da = self.weight_sum.backward(dout)
        dhs1, dh = self.weight.backward(da)
        return dhs0 + dhs1, dh


class TimeAttention:
    def __init__(self):
        self.params, self.grads = [], []
        self.layers = None

    def forward(self, hs_enc, hs_dec):
        N, T, Hh = hs_dec.shape
        out = np.empty_like(hs_dec)
        self.layers = []
        for t in range(T):
            layer = Attention()
            out[:, t, :] = layer.forward(hs_enc, hs_dec[:, t, :])
            self.layers.append(layer)
        return out

    def backward(self, dout):
        N, T, Hh = dout.shape
        dhs_enc = 0
        dhs_dec = np.empty_like(dout)
        for t in range(T):
            dhs, dh = self.layers[t].backward(dout[:, t, :])
            dhs_enc += dhs
            dhs_dec[:, t, :] = dh
        return dhs_enc, dhs_dec


# ---- The model -----------------------------------------------------------------------------

# The parameters in the book's order, named by the tree paths of nabla's `nn.seq2seq`.
PARAM_NAMES = [
    "encoder.embed.table",
    "encoder.lstm.wx",
    "encoder.lstm.wh",
    "encoder.lstm.b",
    "decoder.embed.table",
    "decoder.lstm.wx",
    "decoder.lstm.wh",
    "decoder.lstm.b",
    "decoder.out.w",
    "decoder.out.b",
]


def book_weights(vocab_size=V, wordvec_size=D, hidden_size=H, seed=0, dtype=np.float32):
    """The book's initialisation, drawn in the book's order from one generator."""
    rn = np.random.RandomState(seed).randn
    Vv, Dd, Hh = vocab_size, wordvec_size, hidden_size
    shapes = []
    for _ in ("encoder", "decoder"):
        shapes += [(rn(Vv, Dd) / 100), (rn(Dd, 4 * Hh) / np.sqrt(Dd)),
                   (rn(Hh, 4 * Hh) / np.sqrt(Hh)), np.zeros(4 * Hh)]
    shapes += [rn(2 * Hh, Vv) / np.sqrt(2 * Hh), np.zeros(Vv)]
    return {name: w.astype(dtype) for name, w in zip(PARAM_NAMES, shapes)}


class AttentionEncoder:
    def __init__(self, w):
        self.embed = TimeEmbedding(w["encoder.embed.table"])
        self.lstm = TimeLSTM(w["encoder.lstm.wx"], w["encoder.lstm.wh"], w["encoder.lstm.b"])
        self.params = self.embed.params + self.lstm.params
        self.grads = self.embed.grads + self.lstm.grads

    def forward(self, xs):
        return self.lstm.forward(self.embed.forward(xs))  # every hidden state

    def backward(self, dhs):
        self.embed.backward(self.lstm.backward(dhs))


class AttentionDecoder:
    def __init__(self, w):
        self.embed = TimeEmbedding(w["decoder.embed.table"])
        self.lstm = TimeLSTM(
            w["decoder.lstm.wx"], w["decoder.lstm.wh"], w["decoder.lstm.b"], stateful=True
        )
        self.attention = TimeAttention()
        self.affine = TimeAffine(w["decoder.out.w"], w["decoder.out.b"])
        layers = [self.embed, self.lstm, self.attention, self.affine]
        self.params = [p for layer in layers for p in layer.params]
        self.grads = [g for layer in layers for g in layer.grads]

    def forward(self, xs, enc_hs):
        self.lstm.set_state(enc_hs[:, -1])  # h from the encoder, c = 0
        dec_hs = self.lstm.forward(self.embed.forward(xs))
        c = self.attention.forward(enc_hs, dec_hs)
        return self.affine.forward(np.concatenate((c, dec_hs), axis=2))

    def backward(self, dscore):
        Hh = self.lstm.params[1].shape[0]
        dout = self.affine.backward(dscore)
        dc, ddec_hs0 = dout[:, :, :Hh], dout[:, :, Hh:]
        denc_hs, ddec_hs1 = self.attention.backward(dc)
        self.embed.backward(self.lstm.backward(ddec_hs0 + ddec_hs1))
        denc_hs[:, -1] += self.lstm.dh  # the decoder's initial h is the encoder's last h
        return denc_hs

    def generate(self, enc_hs, start_id, length):
        """Greedy decoding of a whole batch (rows are independent, as in the book's loop)."""
        self.lstm.set_state(enc_hs[:, -1])
        ids = np.full((enc_hs.shape[0], 1), start_id)
        sampled = []
        for _ in range(length):
            dec_hs = self.lstm.forward(self.embed.forward(ids))
            c = self.attention.forward(enc_hs, dec_hs)
            score = self.affine.forward(np.concatenate((c, dec_hs), axis=2))
            ids = score.argmax(axis=2)
            sampled.append(ids)
        return np.concatenate(sampled, axis=1)


class AttentionSeq2seq:
    def __init__(self, weights):
        self.encoder = AttentionEncoder(weights)
        self.decoder = AttentionDecoder(weights)
        self.softmax = TimeSoftmaxWithLoss()
        self.params = self.encoder.params + self.decoder.params
        self.grads = self.encoder.grads + self.decoder.grads

    def forward(self, xs, ts):
        decoder_xs, decoder_ts = ts[:, :-1], ts[:, 1:]
        hs = self.encoder.forward(xs)
        score = self.decoder.forward(decoder_xs, hs)
        return self.softmax.forward(score, decoder_ts)

    def backward(self, dout=1):
        dout = self.softmax.backward(dout)
        self.encoder.backward(self.decoder.backward(dout))

    def generate(self, xs, start_id, length):
        return self.decoder.generate(self.encoder.forward(xs), start_id, length)


# ---- Training ------------------------------------------------------------------------------


def clip_grads(grads, max_norm):
    total_norm = np.sqrt(sum(np.sum(g**2) for g in grads))
    rate = max_norm / (total_norm + 1e-6)
    if rate < 1:
        for g in grads:
            g *= rate


def clip_grads_optax(grads, max_norm):
    total_norm = np.sqrt(sum(np.sum(g**2) for g in grads))
    if total_norm > max_norm:
        for g in grads:
            g *= max_norm / total_norm


class Adam:
    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999):
        self.lr, self.beta1, self.beta2 = lr, beta1, beta2
        self.iter = 0
        self.m = self.v = None

    def update(self, params, grads):
        if self.m is None:
            self.m = [np.zeros_like(p) for p in params]
            self.v = [np.zeros_like(p) for p in params]
        self.iter += 1
        lr_t = self.lr * np.sqrt(1.0 - self.beta2**self.iter) / (1.0 - self.beta1**self.iter)
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m += (1 - self.beta1) * (g - m)
            v += (1 - self.beta2) * (g**2 - v)
            p -= lr_t * m / (np.sqrt(v) + 1e-7)


class AdamOptax(Adam):
    """optax.adam: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g², p -= lr m̂ / (√v̂ + 1e-8)."""

    def update(self, params, grads):
        if self.m is None:
            self.m = [np.zeros_like(p) for p in params]
            self.v = [np.zeros_like(p) for p in params]
        self.iter += 1
        c1, c2 = 1 - self.beta1**self.iter, 1 - self.beta2**self.iter
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m[...] = self.beta1 * m + (1 - self.beta1) * g
            v[...] = self.beta2 * v + (1 - self.beta2) * g**2
            p += -self.lr * (m / c1 / (np.sqrt(v / c2) + 1e-8))


OPTIMIZERS = {"book": (clip_grads, Adam), "optax": (clip_grads_optax, AdamOptax)}


def train_step(model, optimizer, xs, ts, clip=clip_grads):
    loss = model.forward(xs, ts)
    model.backward()
    clip(model.grads, 5.0)
    optimizer.update(model.params, model.grads)
    return float(loss)


def random_batch(rng):
    xs = rng.randint(0, V, size=(BATCH, T_IN))
    ts = rng.randint(0, V, size=(BATCH, T_ANSWER))
    return xs, ts


def fidelity(directory, optimizer_name):
    """Steps from nabla's weights over nabla's batches, writing every step's state."""
    weights, _ = read_safetensors(os.path.join(directory, "init.safetensors"))
    batches, _ = read_safetensors(os.path.join(directory, "batches.safetensors"))
    missing = [name for name in PARAM_NAMES if name not in weights]
    if missing:
        sys.exit(f"numpy_seq2seq.py: init.safetensors lacks {', '.join(missing)}")
    model = AttentionSeq2seq({name: weights[name] for name in PARAM_NAMES})
    clip, Optimizer = OPTIMIZERS[optimizer_name]
    optimizer = Optimizer(1e-3)
    dtype = model.params[0].dtype
    for step, (xs, ts) in enumerate(zip(batches["x"], batches["t"]), start=1):
        loss = model.forward(xs, ts)
        model.backward()
        grads = [g.copy() for g in model.grads]
        clip(model.grads, 5.0)
        optimizer.update(model.params, model.grads)
        state = {"loss": np.asarray(loss, dtype=dtype)}
        state.update({f"grads.{n}": g for n, g in zip(PARAM_NAMES, grads)})
        state.update({f"params.{n}": p for n, p in zip(PARAM_NAMES, model.params)})
        write_safetensors(os.path.join(directory, f"step_{step:04d}.safetensors"), state)
    print(json.dumps({"steps": len(batches["x"]), "dtype": str(dtype)}))


# ---- The book's training loop ----------------------------------------------------------------


def load_book_text(path, seed=1984):
    """dataset/sequence.py's load_data: ids by first appearance, shuffled, last 10% for test."""
    questions, answers = [], []
    with open(path) as f:
        for line in f:
            idx = line.find("_")
            questions.append(line[:idx])
            answers.append(line[idx:-1])
    char_to_id = {}
    for q, a in zip(questions, answers):
        for ch in q + a:
            char_to_id.setdefault(ch, len(char_to_id))
    x = np.array([[char_to_id[ch] for ch in q] for q in questions])
    t = np.array([[char_to_id[ch] for ch in a] for a in answers])
    indices = np.arange(len(x))
    np.random.seed(seed)
    np.random.shuffle(indices)
    x, t = x[indices], t[indices]
    split = len(x) - len(x) // 10
    chars = "".join(sorted(char_to_id, key=char_to_id.get))
    return {"x_train": x[:split], "t_train": t[:split], "x_test": x[split:],
            "t_test": t[split:]}, chars


def load_corpus(path):
    if path.endswith(".safetensors"):
        tensors, metadata = read_safetensors(path)
        return tensors, metadata.get("chars", "")
    return load_book_text(path)


def exact_match(model, x, t, chunk=1000):
    start_id, length = t[0, 0], t.shape[1] - 1
    right = 0
    for i in range(0, len(x), chunk):
        guess = model.generate(x[i:i + chunk], start_id, length)
        right += int((guess == t[i:i + chunk, 1:]).all(axis=1).sum())
    return right / len(x)


def train(path, epochs, seed, optimizer_name, export=None):
    """ch08/train.py: reversed questions, batch 128, clipping at 5, Adam, shuffled epochs."""
    corpus, chars = load_corpus(path)
    if export:
        write_safetensors(export, {k: v.astype(np.int32) for k, v in corpus.items()},
                          {"chars": chars})
    x_train, t_train = corpus["x_train"][:, ::-1], corpus["t_train"]
    x_test, t_test = corpus["x_test"][:, ::-1], corpus["t_test"]
    vocab_size = int(max(a.max() for a in corpus.values())) + 1
    model = AttentionSeq2seq(book_weights(vocab_size, 16, 256, seed=seed))
    clip, Optimizer = OPTIMIZERS[optimizer_name]
    optimizer = Optimizer(1e-3)
    rng = np.random.RandomState(seed + 1)
    batch = 128
    print(json.dumps({"train": len(x_train), "test": len(x_test), "vocab": vocab_size,
                      "optimizer": optimizer_name}), flush=True)
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        idx = rng.permutation(len(x_train))
        losses = []
        for it in range(len(x_train) // batch):  # the book's Trainer drops the last partial batch
            b = idx[it * batch:(it + 1) * batch]
            losses.append(train_step(model, optimizer, x_train[b], t_train[b], clip))
        seconds = time.perf_counter() - t0
        accuracy = exact_match(model, x_test, t_test)
        print(json.dumps({"epoch": epoch, "loss": float(np.mean(losses)),
                          "test_exact_match": accuracy, "seconds": round(seconds, 1)}),
              flush=True)


# ---- Timing ----------------------------------------------------------------------------------


def blas_info():
    """OpenBLAS core, threads and the environment that tunes it (best effort)."""
    info = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                          "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    libdir = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    for path in glob.glob(os.path.join(libdir, "*openblas*")):
        try:
            lib = ctypes.CDLL(path)
            for name, key in (("get_corename", "core"), ("get_config", "config")):
                f = getattr(lib, f"scipy_openblas_{name}64_")
                f.restype = ctypes.c_char_p
                info[key] = f().decode()
            info["threads"] = lib.scipy_openblas_get_num_threads64_()
        except (OSError, AttributeError):
            pass
    info["numpy"] = np.__version__
    return info


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--fidelity", metavar="DIR")
    parser.add_argument("--train", metavar="FILE")
    parser.add_argument("--export", metavar="FILE", help="with --train: save the corpus")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="book")
    args = parser.parse_args()
    if args.fidelity:
        fidelity(args.fidelity, args.optimizer)
        return
    if args.train:
        train(args.train, args.epochs, args.seed, args.optimizer, args.export)
        return

    rng = np.random.RandomState(1)
    model, optimizer = AttentionSeq2seq(book_weights(seed=0)), Adam(1e-3)
    for p in model.params:
        assert p.dtype == np.float32, p.dtype

    if args.check:
        xs, ts = random_batch(rng)
        losses = [train_step(model, optimizer, xs, ts) for _ in range(30)]
        assert all(p.dtype == np.float32 for p in model.params + model.grads)
        print("losses:", " ".join(f"{v:.4f}" for v in losses))
        # Random targets: the loss starts near log(59) = 4.08 and falls slowly at lr 1e-3.
        ok = losses[-1] < losses[0] - 0.05 and losses[-1] == min(losses)
        print(f"loss {losses[0]:.4f} -> {losses[-1]:.4f}: {'decreases' if ok else 'FAILED'}")
        sys.exit(0 if ok else 1)

    batches = [random_batch(rng) for _ in range(2 + args.steps)]
    for xs, ts in batches[:2]:
        train_step(model, optimizer, xs, ts)
    t0 = time.perf_counter()
    for xs, ts in batches[2:]:
        train_step(model, optimizer, xs, ts)
    per_step = (time.perf_counter() - t0) / args.steps
    print(json.dumps({
        "steps": args.steps,
        "seconds_per_step": per_step,
        "seconds_per_epoch": per_step * STEPS_PER_EPOCH,
        "blas": blas_info(),
    }))


if __name__ == "__main__":
    main()
