"""Read-only stand-in for safetensors: the file layout is an 8-byte little-endian header length, a
JSON header ({name: {dtype, shape, data_offsets}}, optional __metadata__) and the raw tensor data."""

import json
import struct

import numpy as np

_DTYPES = {
    "F64": np.float64,
    "F32": np.float32,
    "F16": np.float16,
    "I64": np.int64,
    "I32": np.int32,
    "I16": np.int16,
    "I8": np.int8,
    "U8": np.uint8,
    "BOOL": np.bool_,
}


def read_header(path):
    """(header dict without __metadata__, metadata dict or None, byte offset of the data)."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
    metadata = header.pop("__metadata__", None)
    return header, metadata, 8 + length


def read_arrays(path):
    """{name: numpy array} backed by one copy-on-write memory map of the file (nothing is read yet)."""
    header, _, start = read_header(path)
    data = np.memmap(path, dtype=np.uint8, mode="c", offset=start)
    out = {}
    for name, info in header.items():
        if info["dtype"] == "BF16":
            raise ValueError(f"{path}: {name} is bfloat16, which this reader does not convert")
        dtype = np.dtype(_DTYPES[info["dtype"]])
        begin, end = info["data_offsets"]
        out[name] = data[begin:end].view(dtype).reshape(info["shape"])
    return out


class safe_open:
    def __init__(self, filename, framework="pt", device="cpu"):
        if framework not in ("pt", "np", "numpy"):
            raise ValueError(f"framework {framework} not supported by this reader")
        self._filename = filename
        self._framework = framework
        self._header, self._metadata, _ = read_header(filename)
        self._arrays = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._arrays = None
        return False

    def metadata(self):
        return self._metadata

    def keys(self):
        return list(self._header.keys())

    def get_tensor(self, name):
        if self._arrays is None:
            self._arrays = read_arrays(self._filename)
        array = self._arrays[name]
        if self._framework == "pt":
            import torch

            return torch.from_numpy(array)
        return array
