// Files travel both ways between io and Python, and every bit is checked there by independent
// references: NumPy's own float16 rounding and an exact nearest-value search for bfloat16.
// Python's side is a small reader and writer of the format (8-byte little-endian header size,
// JSON header, raw data) over NumPy, so the test needs only python3 with NumPy; without them it
// fails and says so.

import assert from "node:assert/strict";
import * as nb from "../../mod.ts";

const { io, tensor } = nb;
const PYTHON = Deno.env.get("NABLA_PYTHON") ?? "python3";

const SCRIPT = String.raw`
import bisect, json, struct, sys
from fractions import Fraction
try:
    import numpy as np
except ImportError:
    sys.exit("NumPy is missing: the safetensors interop test needs python3 with NumPy")

DTYPES = {"F16": "<f2", "BF16": "<u2", "F32": "<f4", "F64": "<f8", "I32": "<i4", "BOOL": "?"}

def read(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    assert n % 8 == 0, f"{path}: header size {n} is not a multiple of 8"
    header = json.loads(data[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    body, out, end = data[8 + n :], {}, 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        begin, stop = info["data_offsets"]
        assert begin == end, f"{path}: {name} does not follow the previous tensor"
        end = stop
        a = np.frombuffer(body[begin:stop], dtype=DTYPES[info["dtype"]])
        out[name] = (info["dtype"], a.reshape(info["shape"]))
    assert end == len(body), f"{path}: trailing bytes"
    return out, meta

def write(path, tensors, meta=None):
    header, chunks, offset = ({"__metadata__": meta} if meta else {}), [], 0
    for name, (dtype, a) in tensors.items():
        raw = np.ascontiguousarray(a, dtype=DTYPES[dtype]).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    open(path, "wb").write(struct.pack("<Q", len(text)) + text + b"".join(chunks))

# bfloat16 reference: the nearest of all finite bfloat16 values, found by exact search.
BF16_POSITIVE = [Fraction(float(v)) for v in (np.arange(0x7F80, dtype=np.uint32) << 16).view(np.float32)]
BF16_OVERFLOW = BF16_POSITIVE[-1] + Fraction(2) ** 119  # halfway past the largest: infinity

def bf16_bits(v):
    v = float(v)
    sign = 0x8000 if np.signbit(v) else 0
    if np.isnan(v):
        return None
    a = Fraction(abs(v)) if np.isfinite(v) else BF16_OVERFLOW
    if a >= BF16_OVERFLOW:
        return sign | 0x7F80
    i = bisect.bisect_left(BF16_POSITIVE, a)
    if i < len(BF16_POSITIVE) and BF16_POSITIVE[i] == a:
        return sign | i
    lo, hi = BF16_POSITIVE[i - 1], BF16_POSITIVE[i]
    below, above = a - lo, hi - a
    return sign | (i - 1 if below < above or (below == above and (i - 1) % 2 == 0) else i)

failures = []

def same_bits(what, got, want, source):
    got, want = np.asarray(got).ravel(), np.asarray(want).ravel()
    if got.shape != want.shape:
        failures.append(f"{what}: {got.size} elements, expected {want.size}")
        return
    for k in np.flatnonzero(got != want)[:5]:
        failures.append(f"{what}[{k}] of {source.ravel()[k]!r}: got {got[k]:#06x}, expected {want[k]:#06x}")

def nan_aware(bits, source, half):
    # NaNs must stay NaNs of the same sign; their payloads are not compared.
    nan = np.isnan(source.ravel())
    exponent = 0x7C00 if half == "F16" else 0x7F80
    bits = bits.ravel().astype(np.uint32)
    ok = ((bits & exponent) == exponent) & ((bits & (0x7FFF ^ exponent)) != 0)
    ok &= (bits >> 15) == np.signbit(source.ravel())
    for k in np.flatnonzero(nan & ~ok)[:5]:
        failures.append(f"{half} of NaN [{k}]: got {bits[k]:#06x}")
    return nan

def make(d):
    rng = np.random.default_rng(7)
    special = [0.0, -0.0, 1.0, -2.0, 1 / 3, 65504, 65519, 65520, 1e6, -1e6, 2.0**-14, 2.0**-24,
               2.0**-25, 3 * 2.0**-25, 1 + 2.0**-11, 1 + 3 * 2.0**-11, 2049, 1 + 2.0**-8,
               3.3895313892515355e38, 3.4028234663852886e38, 1e-45, np.inf, -np.inf, np.nan]
    x = np.concatenate([np.array(special, np.float32),
                        rng.integers(0, 2**32, 4000, dtype=np.uint64).astype(np.uint32).view(np.float32),
                        (rng.standard_normal(4000) * 2.0 ** rng.integers(-30, 18, 4000)).astype(np.float32)])
    y = np.concatenate([np.array(special + [1 + 2.0**-11 + 2.0**-40, 1 + 2.0**-8 + 2.0**-30, 1e300,
                                            -1e-300, 5e-324], np.float64),
                        rng.standard_normal(4000) * 2.0 ** rng.integers(-140, 18, 4000)])
    write(f"{d}/inputs.safetensors", {"x": ("F32", x.reshape(-1, 4)), "y": ("F64", y)})
    h = np.concatenate([np.arange(0, 0x10000, 37), [0x7E00, 0xFE00, 0x7D01, 0x0001, 0x8000]]).astype(np.uint16)
    b = np.concatenate([np.arange(0, 0x10000, 41), [0x7FC0, 0xFFC1, 0x0001, 0x8000]]).astype(np.uint16)
    write(f"{d}/checkpoint.safetensors", {
        "h": ("F16", h.view(np.float16)), "b": ("BF16", b),
        "h_as_f32": ("F32", h.view(np.float16).astype(np.float32)),
        "b_as_f32": ("F32", (b.astype(np.uint32) << 16).view(np.float32)),
    }, {"format": "pt"})

def check(d):
    inputs, _ = read(f"{d}/inputs.safetensors")
    x, y = inputs["x"][1], inputs["y"][1]
    plain, meta = read(f"{d}/nabla.safetensors")
    assert "nabla.tree" in meta, "nabla's structure metadata is missing"
    assert sorted(plain) == ["params.i", "params.m", "params.x", "y"], sorted(plain)
    for name, want in [("params.x", x), ("y", y)]:
        same_bits(name, plain[name][1].view(np.uint8), want.view(np.uint8), want)
    assert plain["params.i"][0] == "I32" and plain["params.i"][1].tolist() == [-2147483648, 0, 7]
    assert plain["params.m"][0] == "BOOL" and plain["params.m"][1].tolist() == [True, False, True]
    for half in ["F16", "BF16"]:
        t, _ = read(f"{d}/nabla_{half.lower()}.safetensors")
        assert t["params.i"][0] == "I32" and t["params.m"][0] == "BOOL"
        for name, source in [("params.x", x), ("y", y)]:
            dtype, bits = t[name]
            assert dtype == half, f"{name} is {dtype}, expected {half}"
            bits = bits.view(np.uint16).ravel()
            nan = nan_aware(bits, source, half)
            src = source.ravel()[~nan]
            if half == "F16":
                with np.errstate(over="ignore"):  # overflow to infinity is expected
                    want = src.astype(np.float16).view(np.uint16)
            else:
                want = np.array([bf16_bits(v) for v in src], np.uint16)
            same_bits(f"{half} {name}", bits[~nan], want, src)
    back = {name: read(f"{d}/{name}_back.safetensors")[0][name] for name in ["h", "b"]}
    ckpt, _ = read(f"{d}/checkpoint.safetensors")
    for name, half in [("h", "F16"), ("b", "BF16")]:
        assert back[name][0] == half, f"{name} came back as {back[name][0]}"
        same_bits(f"{name} round trip", back[name][1].view(np.uint16), ckpt[name][1].view(np.uint16), ckpt[name][1])

command, d = sys.argv[1:3]
make(d) if command == "make" else check(d)
if failures:
    sys.exit("\n".join(failures))
print("ok")
`;

async function python(command: "make" | "check", dir: string): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(PYTHON, {
      args: ["-c", SCRIPT, command, dir],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    throw new Error(
      `"${PYTHON}" was not found: the safetensors interop test needs python3 with NumPy ` +
        `(or NABLA_PYTHON naming such an interpreter)`,
    );
  }
  const text = (b: Uint8Array) => new TextDecoder().decode(b).trim();
  if (!out.success) throw new Error(`python ${command} failed:\n${text(out.stderr)}`);
  return text(out.stdout);
}

/** The raw bits of a float32 tensor. */
async function bits32(x: nb.Tensor): Promise<Uint32Array> {
  const d = await x.data();
  assert.ok(d instanceof Float32Array, `expected float32 data, got ${x.dtype}`);
  return new Uint32Array(d.slice().buffer);
}

Deno.test("safetensors files round-trip with Python bit for bit", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await python("make", dir);

    // Python → nabla: a checkpoint's F16 and BF16 tensors widen exactly (as NumPy widens them).
    const ckpt = (await io.load(`${dir}/checkpoint.safetensors`)) as Record<string, nb.Tensor>;
    assert.deepEqual(await bits32(ckpt.h), await bits32(ckpt.h_as_f32));
    assert.deepEqual(await bits32(ckpt.b), await bits32(ckpt.b_as_f32));
    const wide = (await io.load(`${dir}/checkpoint.safetensors`, { dtype: "float64" })) as Record<
      string,
      nb.Tensor
    >;
    const values = async (x: nb.Tensor) => Array.from(await x.data());
    assert.deepEqual(await values(wide.h), await values(ckpt.h_as_f32));
    // ... and narrow back to the very same bits (NaN payloads included).
    await io.save(`${dir}/h_back.safetensors`, { h: ckpt.h }, { dtype: "float16" });
    await io.save(`${dir}/b_back.safetensors`, { b: ckpt.b }, { dtype: "bfloat16" });

    // nabla → Python: Python's float32 and float64 inputs, saved exactly and rounded to 16 bits.
    const inputs = (await io.load(`${dir}/inputs.safetensors`)) as Record<string, nb.Tensor>;
    const t = {
      params: {
        x: inputs.x,
        i: tensor([-2147483648, 0, 7], { dtype: "int32" }),
        m: tensor([true, false, true], { dtype: "bool" }),
      },
      y: inputs.y,
      step: 3,
    };
    await io.save(`${dir}/nabla.safetensors`, t);
    await io.save(`${dir}/nabla_f16.safetensors`, t, { dtype: "float16" });
    await io.save(`${dir}/nabla_bf16.safetensors`, t, { dtype: "bfloat16" });

    assert.equal(await python("check", dir), "ok");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
