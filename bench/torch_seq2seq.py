"""PyTorch's seconds per training step of the attention seq2seq that `bench/seq2seq_epoch.ts`
times in nabla: the same model and shapes, built from PyTorch's own layers.

Model: token embeddings 59x16 (one for the encoder, one for the decoder), an `nn.LSTM` encoder
and decoder with hidden size 256 (the decoder starts from the encoder's last hidden state and a
zero cell state), dot-product attention of the decoder states over the encoder states, and a
linear layer from `[context, h]` to the 59 token scores. Training: softmax cross-entropy
averaged over batch and time, clipping by global norm 5, Adam(1e-3), float32. Batches are random
ids of the dates task's shapes (batch 128, encoder length 29, decoder length 10: answers of 11
tokens, shifted for teacher forcing), made before the clock starts. Every step reads its loss
back with `loss.item()`.

  /usr/bin/python3 bench/torch_seq2seq.py --steps 20 --threads 1

prints one JSON line: steps, threads, seconds_per_step, seconds_per_epoch (352 steps), the
first and last timed losses, and the torch version and BLAS library loaded. `--threads` sets
`torch.set_num_threads`; run it with `OMP_NUM_THREADS` and `OPENBLAS_NUM_THREADS` set to the
same number (as the bench does) so that the BLAS underneath uses as many. Without PyTorch it
says how to install it and exits with status 3.
"""

import argparse
import json
import sys
import time

NOT_INSTALLED = 3
V, D, H = 59, 16, 256
BATCH, T_IN, T_ANSWER = 128, 29, 11
STEPS_PER_EPOCH = 352  # ceil(45_000 / 128)


def loaded_blas():
    """The BLAS shared libraries mapped into this process (which one torch really calls)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "blas" in line.lower()}
        return sorted(p for p in paths if p.startswith("/"))
    except OSError:
        return []


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    try:
        import torch
        from torch import nn
    except ImportError as e:
        print(f"PyTorch is not installed ({e}); on Debian or Ubuntu: "
              "apt-get install python3-torch libopenblas0-pthread", file=sys.stderr)
        sys.exit(NOT_INSTALLED)

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    class AttentionSeq2seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder_embed = nn.Embedding(V, D)
            self.decoder_embed = nn.Embedding(V, D)
            self.encoder = nn.LSTM(D, H, batch_first=True)
            self.decoder = nn.LSTM(D, H, batch_first=True)
            self.out = nn.Linear(2 * H, V)

        def forward(self, xs, decoder_in):
            hs, (h, c) = self.encoder(self.encoder_embed(xs))
            dec, _ = self.decoder(self.decoder_embed(decoder_in), (h, torch.zeros_like(c)))
            weights = torch.softmax(dec @ hs.transpose(1, 2), dim=-1)  # [B, T_out, T_in]
            context = weights @ hs
            return self.out(torch.cat([context, dec], dim=-1))

    model = AttentionSeq2seq()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def train_step(xs, ts):
        logits = model(xs, ts[:, :-1])
        loss = loss_fn(logits.reshape(-1, V), ts[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        return loss.item()

    generator = torch.Generator().manual_seed(1)
    batches = [(torch.randint(0, V, (BATCH, T_IN), generator=generator),
                torch.randint(0, V, (BATCH, T_ANSWER), generator=generator))
               for _ in range(2 + args.steps)]
    for xs, ts in batches[:2]:
        train_step(xs, ts)
    t0 = time.perf_counter()
    losses = [train_step(xs, ts) for xs, ts in batches[2:]]
    per_step = (time.perf_counter() - t0) / args.steps
    print(json.dumps({
        "steps": args.steps,
        "threads": torch.get_num_threads(),
        "seconds_per_step": per_step,
        "seconds_per_epoch": per_step * STEPS_PER_EPOCH,
        "loss": [losses[0], losses[-1]],
        "torch": torch.__version__,
        "blas": loaded_blas(),
    }))


if __name__ == "__main__":
    main()
