"""Reading and writing safetensors files with NumPy alone (Python's `safetensors` package is not
needed): an 8-byte little-endian header size, a JSON header naming each tensor's dtype, shape
and byte range, then the raw little-endian data."""

import json

import numpy as np


DTYPES = {"F64": "<f8", "F32": "<f4", "I32": "<i4", "I64": "<i8", "BOOL": "|b1"}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + size])
    metadata = header.pop("__metadata__", {})
    body = memoryview(raw)[8 + size:]
    tensors = {}
    for name, info in header.items():
        start, end = info["data_offsets"]
        array = np.frombuffer(body[start:end], dtype=DTYPES[info["dtype"]])
        tensors[name] = array.reshape(info["shape"]).copy()
    return tensors, metadata


def write_safetensors(path, tensors, metadata=None):
    codes = {np.dtype(v): k for k, v in DTYPES.items()}
    header, chunks, offset = {}, [], 0
    for name, array in tensors.items():
        data = np.asarray(array).astype(np.dtype(array.dtype).newbyteorder("<"), order="C")
        header[name] = {
            "dtype": codes[data.dtype],
            "shape": list(data.shape),
            "data_offsets": [offset, offset + data.nbytes],
        }
        chunks.append(data.tobytes())
        offset += data.nbytes
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for chunk in chunks:
            f.write(chunk)
