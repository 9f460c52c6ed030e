"""Saving and loading arrays as MLX does: ``.npy`` (one array), ``.npz`` (a
dict of arrays, optionally compressed) and ``.safetensors`` (a dict of
arrays with string metadata).

bfloat16 is stored as safetensors' ``BF16``; in ``.npy``/``.npz`` files, as
MLX does, as 2-byte void (``V2``) elements holding the bits, which
``numpy.load`` reads as ``V2`` and ``runnel.load`` as bfloat16.
"""

import io as _io
import json
import os
import struct

import numpy as np

from . import _core

_SAFETENSORS_DTYPES = {
    _core.bool_: "BOOL",
    _core.uint8: "U8",
    _core.uint16: "U16",
    _core.uint32: "U32",
    _core.uint64: "U64",
    _core.int8: "I8",
    _core.int16: "I16",
    _core.int32: "I32",
    _core.int64: "I64",
    _core.float16: "F16",
    _core.bfloat16: "BF16",
    _core.float32: "F32",
    _core.float64: "F64",
}
_FROM_SAFETENSORS = {v: k for k, v in _SAFETENSORS_DTYPES.items()}

# numpy's little-endian dtype for each runnel dtype (bfloat16: its bits).
# (np.ascontiguousarray is avoided: it makes 0-d arrays 1-d.)
_NUMPY_DTYPES = {
    _core.bool_: np.dtype("?"),
    _core.uint8: np.dtype("u1"),
    _core.uint16: np.dtype("<u2"),
    _core.uint32: np.dtype("<u4"),
    _core.uint64: np.dtype("<u8"),
    _core.int8: np.dtype("i1"),
    _core.int16: np.dtype("<i2"),
    _core.int32: np.dtype("<i4"),
    _core.int64: np.dtype("<i8"),
    _core.float16: np.dtype("<f2"),
    _core.bfloat16: np.dtype("<u2"),
    _core.float32: np.dtype("<f4"),
    _core.float64: np.dtype("<f8"),
}

# The largest safetensors header read (the reference implementation's).
_MAX_HEADER = 100_000_000


def _type_name(x):
    return type(x).__name__


def _check_array(fn, a, what="arr"):
    if not isinstance(a, _core.array):
        raise TypeError(f"[{fn}] {what} must be a runnel array, not {_type_name(a)}.")


def _check_stream(fn, stream):
    if stream is None or hasattr(stream, "__runnel_stream__"):
        return
    if not isinstance(stream, (_core.Stream, _core.Device, _core.DeviceType)):
        raise TypeError(
            f"[{fn}] stream must be None, a Stream, a Device or a DeviceType, "
            f"not {_type_name(stream)}."
        )
    if not isinstance(stream, _core.Stream):
        device = stream if isinstance(stream, _core.Device) else _core.Device(stream)
        if not _core.is_available(device):
            raise ValueError(f"[{fn}] {device} is not available.")


def _onto(loaded, stream):
    """load's result (an array, a dict, or a dict and metadata) with every
    array copied onto the stream."""
    if isinstance(loaded, _core.array):
        return _core.copy(loaded, stream=stream)
    if isinstance(loaded, tuple):
        return _onto(loaded[0], stream), loaded[1]
    return {k: _core.copy(v, stream=stream) for k, v in loaded.items()}


def _bf16_bits(a):
    """The bits of a bfloat16 array as a row-major uint16 numpy array."""
    try:
        import ml_dtypes  # noqa: F401

        return np.array(a).view(np.uint16)
    except ImportError:
        # bfloat16 -> float32 is exact: its bits are the float's top half.
        f = np.array(a.astype(_core.float32, stream=_core.cpu))
        return (f.view(np.uint32) >> 16).astype(np.uint16)


def _bf16_from_bits(bits):
    bits = np.asarray(bits, dtype=np.uint16, order="C")
    try:
        import ml_dtypes

        return _core.array(bits.view(ml_dtypes.bfloat16), _core.bfloat16)
    except ImportError:
        f = (bits.astype(np.uint32) << 16).view(np.float32)
        return _core.array(f, _core.float32).astype(_core.bfloat16, stream=_core.cpu)


def _to_numpy(a):
    """A row-major little-endian numpy array of a's values (bfloat16: bits)."""
    if a.dtype == _core.bfloat16:
        return np.asarray(_bf16_bits(a), order="C")
    return np.asarray(np.asarray(a), dtype=_NUMPY_DTYPES[a.dtype], order="C")


def _from_numpy(fn, x, name=None):
    """A runnel array holding a copy of numpy array x."""
    where = f" for '{name}'" if name is not None else ""
    dt = x.dtype
    if dt.kind == "V" and dt.itemsize == 2 and dt.fields is None:
        return _bf16_from_bits(x.view(np.uint16))
    if dt.name == "bfloat16":  # ml_dtypes
        return _bf16_from_bits(x.view(np.uint16))
    if dt.kind not in "biuf" or dt.itemsize not in (1, 2, 4, 8):
        raise ValueError(f"[{fn}] unsupported dtype {dt}{where}.")
    if dt.kind == "f" and dt.itemsize == 1:
        raise ValueError(f"[{fn}] unsupported dtype {dt}{where}.")
    x = np.asarray(x, dtype=dt.newbyteorder("="), order="C")
    d = {
        "b": {1: _core.bool_},
        "u": {1: _core.uint8, 2: _core.uint16, 4: _core.uint32, 8: _core.uint64},
        "i": {1: _core.int8, 2: _core.int16, 4: _core.int32, 8: _core.int64},
        "f": {2: _core.float16, 4: _core.float32, 8: _core.float64},
    }[dt.kind].get(dt.itemsize)
    if d is None:
        raise ValueError(f"[{fn}] unsupported dtype {dt}{where}.")
    return _core.array(x, d)


def _npy_numpy(a):
    """The numpy array np.save writes for a: bfloat16 as V2 bits."""
    x = _to_numpy(a)
    return x.view("V2") if a.dtype == _core.bfloat16 else x


def _path(file, ext):
    """A str path with the extension appended when missing (as MLX), or
    None for a file object."""
    if isinstance(file, (str, os.PathLike)):
        p = os.fspath(file)
        if isinstance(p, bytes):
            p = os.fsdecode(p)
        return p if p.endswith(ext) else p + ext
    return None


def _check_file(fn, file):
    if isinstance(file, (str, os.PathLike)):
        return
    if not hasattr(file, "write"):
        raise TypeError(
            f"[{fn}] file must be a path or a binary file object, not "
            f"{_type_name(file)}."
        )


def save(file, arr):
    """save(file, arr): writes arr to a ``.npy`` file (the extension is
    appended to a path without it) or to a binary file object. Evaluates
    arr. bfloat16 is stored as 2-byte void elements (``V2``), as in MLX."""
    _check_file("save", file)
    _check_array("save", arr)
    x = _npy_numpy(arr)
    p = _path(file, ".npy")
    if p is None:
        np.save(file, x, allow_pickle=False)
    else:
        with open(p, "wb") as f:
            np.save(f, x, allow_pickle=False)


def _named_arrays(fn, args, kwargs):
    out = {}
    for i, a in enumerate(args):
        out[f"arr_{i}"] = a
    for k, a in kwargs.items():
        if k in out:
            raise ValueError(f"[{fn}] the name {k} is used by a positional array.")
        out[k] = a
    for k, a in out.items():
        _check_array(fn, a, f"array '{k}'")
    return out


def _savez(fn, file, args, kwargs, compressed):
    _check_file(fn, file)
    arrays = {k: _npy_numpy(a) for k, a in _named_arrays(fn, args, kwargs).items()}
    p = _path(file, ".npz")
    writer = np.savez_compressed if compressed else np.savez
    writer(file if p is None else p, **arrays)


def savez(file, *args, **kwargs):
    """savez(file, *args, **kwargs): writes several arrays to an uncompressed
    ``.npz`` file (the extension is appended to a path without it) or to a
    binary file object; positional arrays are named ``arr_0``, ``arr_1``,
    ... and keyword arrays by their keywords."""
    _savez("savez", file, args, kwargs, False)


def savez_compressed(file, *args, **kwargs):
    """savez_compressed(file, *args, **kwargs): as savez, compressed."""
    _savez("savez_compressed", file, args, kwargs, True)


def save_safetensors(file, arrays, metadata=None):
    """save_safetensors(file, arrays, metadata=None): writes a dict of
    named arrays, and optional string metadata (a dict of str to str), to a
    ``.safetensors`` file (the extension is appended to a path without it) or
    to a binary file object."""
    fn = "save_safetensors"
    _check_file(fn, file)
    if not isinstance(arrays, dict):
        raise TypeError(f"[{fn}] arrays must be a dict of names to arrays, not "
                        f"{_type_name(arrays)}.")
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
        ):
            raise TypeError(f"[{fn}] metadata must be a dict of str to str.")
    header = {}
    if metadata:
        header["__metadata__"] = dict(metadata)
    blobs = []
    offset = 0
    for name, a in arrays.items():
        if not isinstance(name, str):
            raise TypeError(f"[{fn}] names must be str, not {_type_name(name)}.")
        if name == "__metadata__":
            raise ValueError(f"[{fn}] '__metadata__' cannot name an array.")
        _check_array(fn, a, f"array '{name}'")
        data = _to_numpy(a).tobytes()
        header[name] = {
            "dtype": _SAFETENSORS_DTYPES[a.dtype],
            "shape": list(a.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    # The data starts 8-byte aligned: the header is padded with spaces.
    text += b" " * (-(8 + len(text)) % 8)
    p = _path(file, ".safetensors")
    f = open(p, "wb") if p is not None else file
    try:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    finally:
        if p is not None:
            f.close()


def _load_safetensors(buf, return_metadata):
    fn = "load"
    if len(buf) < 8:
        raise ValueError(f"[{fn}] not a safetensors file: {len(buf)} bytes.")
    (n,) = struct.unpack_from("<Q", buf, 0)
    if n > _MAX_HEADER or 8 + n > len(buf):
        raise ValueError(f"[{fn}] bad safetensors header length {n}.")
    try:
        header = json.loads(bytes(buf[8 : 8 + n]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"[{fn}] bad safetensors header: {e}.") from None
    if not isinstance(header, dict):
        raise ValueError(f"[{fn}] bad safetensors header: not a JSON object.")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
        isinstance(v, str) for v in metadata.values()
    ):
        raise ValueError(f"[{fn}] bad safetensors metadata: not str to str.")
    data = memoryview(buf)[8 + n :]
    out = {}
    for name, info in header.items():
        try:
            dtype_code = info["dtype"]
            shape = info["shape"]
            begin, end = info["data_offsets"]
        except (TypeError, KeyError, ValueError):
            raise ValueError(f"[{fn}] bad safetensors entry for '{name}'.") from None
        d = _FROM_SAFETENSORS.get(dtype_code)
        if d is None:
            raise ValueError(
                f"[{fn}] unsupported safetensors dtype {dtype_code} for '{name}'."
            )
        if not isinstance(shape, list) or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape
        ):
            raise ValueError(f"[{fn}] bad shape {shape} for '{name}'.")
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        nd = _NUMPY_DTYPES[d]
        if (
            not all(isinstance(o, int) for o in (begin, end))
            or not 0 <= begin <= end <= len(data)
            or end - begin != count * nd.itemsize
        ):
            raise ValueError(
                f"[{fn}] bad data_offsets [{begin}, {end}] for '{name}' "
                f"({dtype_code} {shape}, {len(data)} bytes of data)."
            )
        x = np.frombuffer(data, dtype=nd, count=count, offset=begin).reshape(shape)
        if d == _core.bfloat16:
            out[name] = _bf16_from_bits(x)
        else:
            out[name] = _core.array(np.asarray(x, nd.newbyteorder("="), order="C"), d)
    return (out, metadata) if return_metadata else out


def _format_of(file):
    name = file if isinstance(file, (str, os.PathLike)) else getattr(file, "name", None)
    if isinstance(name, (str, os.PathLike)):
        name = os.fspath(name)
        if isinstance(name, bytes):
            name = os.fsdecode(name)
        ext = os.path.splitext(name)[1].lstrip(".").lower()
        if ext in ("npy", "npz", "safetensors"):
            return ext
        if isinstance(file, (str, os.PathLike)):
            raise ValueError(
                f"[load] cannot infer the format of '{name}' from its extension "
                "(.npy, .npz or .safetensors); pass format=."
            )
    return None


def _sniff(head):
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith(b"PK"):
        return "npz"
    return "safetensors"


def load(file, /, format=None, return_metadata=False, *, stream=None):
    """load(file, /, format=None, return_metadata=False, *, stream=None):
    the arrays in a file (a path or a binary file object). ``.npy`` gives an
    array; ``.npz`` and ``.safetensors`` a dict of names to arrays, and with
    return_metadata=True (safetensors only) a pair (arrays, metadata). The
    format comes from the extension unless given ("npy", "npz",
    "safetensors"); a file object without a name is recognised by its first
    bytes. The arrays hold copies of the file's data, read on the host and
    copied onto the stream (None: the default stream of the default device),
    so that they are produced there (on a GPU, in its memory)."""
    fn = "load"
    _check_stream(fn, stream)
    if not isinstance(file, (str, os.PathLike)) and not hasattr(file, "read"):
        raise TypeError(
            f"[{fn}] file must be a path or a binary file object, not "
            f"{_type_name(file)}."
        )
    if format is not None and format not in ("npy", "npz", "safetensors"):
        raise ValueError(
            f"[{fn}] unsupported format {format!r}: 'npy', 'npz' or 'safetensors'."
        )
    fmt = format or _format_of(file)
    if return_metadata and fmt not in (None, "safetensors"):
        raise ValueError(f"[{fn}] metadata is only returned for safetensors files.")
    if isinstance(file, (str, os.PathLike)):
        with open(file, "rb") as f:
            buf = f.read()
    else:
        buf = file.read()
    if fmt is None:
        fmt = _sniff(bytes(buf[:8]))
    if fmt == "safetensors":
        return _onto(_load_safetensors(buf, return_metadata), stream)
    if return_metadata:
        raise ValueError(f"[{fn}] metadata is only returned for safetensors files.")
    try:
        loaded = np.load(_io.BytesIO(buf), allow_pickle=False)
    except ValueError as e:
        raise ValueError(f"[{fn}] cannot read the {fmt} file: {e}") from None
    if isinstance(loaded, np.ndarray):
        if fmt == "npz":
            raise ValueError(f"[{fn}] expected an npz archive, found an npy array.")
        return _onto(_from_numpy(fn, loaded), stream)
    with loaded:
        if fmt == "npy":
            raise ValueError(f"[{fn}] expected an npy array, found an npz archive.")
        return _onto({k: _from_numpy(fn, loaded[k], k) for k in loaded.files},
                     stream)
