"""Saving and loading arrays as MLX does: ``.npy`` (one array), ``.npz`` (a
dict of arrays, optionally compressed) and ``.safetensors`` (a dict of
arrays with string metadata).

bfloat16 is stored as safetensors' ``BF16``; in ``.npy``/``.npz`` files, as
MLX does, as 2-byte void (``V2``) elements holding the bits, which
``numpy.load`` reads as ``V2`` and ``runnel.load`` as bfloat16.
"""

import ast
import io as _io
import json
import math
import os
import re
import struct
import warnings
import zipfile

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
# The largest npy header read (numpy's default max_header_size).
_MAX_NPY_HEADER = 10_000
_NPY_MAGIC = b"\x93NUMPY"
# What a loaded shape may hold: runnel's dimensions are 32-bit, numpy's arrays
# have at most 64 axes, and the product of the nonzero dimensions (in bytes)
# fits numpy's and runnel's 64-bit sizes and strides.
_MAX_DIM = 2**31 - 1
_MAX_NDIM = 64
_MAX_BYTES = 2**63 - 1


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


def _dtype_of(dt):
    """The runnel dtype of numpy dtype dt, or None when runnel has none."""
    if dt.names is not None or dt.subdtype is not None or dt.hasobject:
        return None
    if dt.itemsize == 2 and (dt.kind == "V" or dt.name == "bfloat16"):
        return _core.bfloat16  # MLX's V2 bits, or ml_dtypes' bfloat16
    return {
        "b": {1: _core.bool_},
        "u": {1: _core.uint8, 2: _core.uint16, 4: _core.uint32, 8: _core.uint64},
        "i": {1: _core.int8, 2: _core.int16, 4: _core.int32, 8: _core.int64},
        "f": {2: _core.float16, 4: _core.float32, 8: _core.float64},
    }.get(dt.kind, {}).get(dt.itemsize)


def _array_of(x, d):
    """A runnel array of dtype d holding a copy of numpy array x (any byte
    order and strides; bfloat16: its bits)."""
    if d == _core.bfloat16:
        return _bf16_from_bits(x.view(np.uint16))
    if d == _core.bool_:
        # A file's bool bytes may be other than 0 and 1: runnel's are.
        return _core.array(np.asarray(x.view(np.uint8) != 0, order="C"), d)
    return _core.array(np.asarray(x, dtype=x.dtype.newbyteorder("="), order="C"), d)


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


class _Corrupt(Exception):
    """What is wrong with a file being loaded (and the array of an npz
    archive it is wrong in); load raises it as a ValueError "[load] <what>
    in <the file>."."""

    def __init__(self, what, member=None):
        super().__init__(what)
        self.member = member


def _check_shape(shape, itemsize):
    """None when shape (a list or tuple from a header) is a shape runnel and
    numpy can hold, or what is wrong with it."""
    if not all(isinstance(s, int) and not isinstance(s, bool) for s in shape):
        return "is not a sequence of ints"
    if any(s < 0 for s in shape):
        return "has a negative dimension"
    if any(s > _MAX_DIM for s in shape):
        return f"has a dimension larger than {_MAX_DIM}"
    if len(shape) > _MAX_NDIM:
        return f"has more than {_MAX_NDIM} dimensions"
    if math.prod(s for s in shape if s) * itemsize > _MAX_BYTES:
        return "is too large"
    return None


def _shape_text(shape):
    text = repr(shape)
    return text if len(text) <= 80 else text[:77] + "..."


def _load_safetensors(buf, return_metadata):
    if len(buf) < 8:
        raise _Corrupt(f"not a safetensors file: {len(buf)} bytes, fewer than "
                       "the 8 of its header length")
    (n,) = struct.unpack_from("<Q", buf, 0)
    if n > _MAX_HEADER:
        raise _Corrupt(f"bad safetensors header length {n}: more than "
                       f"{_MAX_HEADER} bytes")
    if 8 + n > len(buf):
        raise _Corrupt(f"bad safetensors header length {n}: past the end of "
                       f"the file ({len(buf)} bytes)")
    try:
        header = json.loads(bytes(buf[8 : 8 + n]).decode("utf-8"))
    except UnicodeDecodeError as e:
        raise _Corrupt(f"bad safetensors header: not UTF-8 ({e})") from None
    except (ValueError, RecursionError) as e:
        # ValueError: JSONDecodeError, and ints of more digits than
        # int(str) takes; RecursionError: arrays nested too deep.
        raise _Corrupt(f"bad safetensors header: not JSON ({str(e)[:100]})") from None
    if not isinstance(header, dict):
        raise _Corrupt("bad safetensors header: not a JSON object")
    metadata = header.pop("__metadata__", None)  # null: none, as the spec's
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict) or not all(
        isinstance(v, str) for v in metadata.values()
    ):
        raise _Corrupt("bad safetensors metadata: not str to str")
    data = memoryview(buf)[8 + n :]
    entries = []
    for name, info in header.items():
        where = f" for '{name}'"
        if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= set(info):
            raise _Corrupt(f"bad safetensors entry{where}: not an object with "
                           "dtype, shape and data_offsets")
        code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        d = _FROM_SAFETENSORS.get(code) if isinstance(code, str) else None
        if d is None:
            raise _Corrupt(f"unsupported safetensors dtype {str(code)[:40]}{where}")
        nd = _NUMPY_DTYPES[d]
        bad = "is not a list" if not isinstance(shape, list) else _check_shape(
            shape, nd.itemsize)
        if bad:
            raise _Corrupt(f"bad shape {_shape_text(shape)}{where}: it {bad}")
        count = math.prod(shape)
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
            or not 0 <= offsets[0] <= offsets[1] <= len(data)
            or offsets[1] - offsets[0] != count * nd.itemsize
        ):
            raise _Corrupt(
                f"bad data_offsets {_shape_text(offsets)}{where} ({code} "
                f"{_shape_text(shape)}, {len(data)} bytes of data)"
            )
        entries.append((offsets[0], offsets[1], name, d, shape))
    # As the format requires, the entries cover the buffer without holes or
    # overlaps (in any order).
    pos = 0
    for begin, end, name, _, _ in sorted(entries, key=lambda e: e[:2]):
        if begin != pos:
            what = "overlap" if begin < pos else "leave a hole"
            raise _Corrupt(f"bad data_offsets for '{name}': the tensors' data "
                           f"{what} at byte {min(begin, pos)} of the buffer")
        pos = end
    if pos != len(data):
        raise _Corrupt(f"bad data_offsets: the tensors' data ends at byte {pos}, "
                       f"the buffer at {len(data)}")
    out = {}
    for begin, end, name, d, shape in entries:
        nd = _NUMPY_DTYPES[d]
        count = (end - begin) // nd.itemsize
        x = np.frombuffer(data, dtype=nd, count=count, offset=begin).reshape(shape)
        out[name] = _array_of(x, d)
    return (out, metadata) if return_metadata else out


def _literal(text):
    """An npy header's Python literal; numpy also reads the 'L' suffixes of
    Python 2's long ints."""
    for t in (text, re.sub(r"\b(\d+)[lL]\b", r"\1", text)):
        try:
            return ast.literal_eval(t)
        except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
            pass
    raise _Corrupt(f"bad npy header: not a Python literal: {text[:80]!r}")


def _npy_dtype(descr):
    """The numpy dtype of an npy header's descr (a typestring such as '<f4',
    '|b1' or '?': numpy writes no other for runnel's dtypes), refused unless
    runnel has it."""
    simple = r"[<>|=]?(\?|[A-Za-z]\w*)(\[\w+\])?"
    if not isinstance(descr, str) or not re.fullmatch(simple, descr):
        raise _Corrupt(f"unsupported dtype {str(descr)[:60]}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dt = np.dtype(descr)
    except (TypeError, ValueError, SyntaxError, OverflowError):
        raise _Corrupt(f"unsupported dtype {descr}: not a numpy dtype") from None
    if _dtype_of(dt) is None:
        raise _Corrupt(f"unsupported dtype {dt}")
    return dt


def _parse_npy(buf):
    """The array of an npy file's bytes: a numpy view of buf, after checking
    its header and that buf holds the data it declares."""
    mv = memoryview(buf)
    if not _NPY_MAGIC.startswith(bytes(mv[:6])):
        raise _Corrupt("not an npy file: no \\x93NUMPY magic string")
    if len(buf) < 10:
        raise _Corrupt(f"truncated npy file: {len(buf)} bytes")
    version = (mv[6], mv[7])
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise _Corrupt(f"unsupported npy format version {version[0]}.{version[1]}")
    size_format = "<H" if version == (1, 0) else "<I"
    start = 8 + struct.calcsize(size_format)
    if len(buf) < start:
        raise _Corrupt(f"truncated npy file: {len(buf)} bytes")
    (n,) = struct.unpack_from(size_format, buf, 8)
    if n > _MAX_NPY_HEADER:
        raise _Corrupt(f"bad npy header length {n}: more than {_MAX_NPY_HEADER} bytes")
    if start + n > len(buf):
        raise _Corrupt(f"bad npy header length {n}: past the end of the file "
                       f"({len(buf)} bytes)")
    try:
        text = bytes(mv[start : start + n]).decode("latin1" if version < (3, 0) else "utf-8")
    except UnicodeDecodeError as e:
        raise _Corrupt(f"bad npy header: not UTF-8 ({e})") from None
    d = _literal(text)
    keys = {"descr", "fortran_order", "shape"}
    if not isinstance(d, dict) or set(d) != keys:
        raise _Corrupt("bad npy header: not a dict of descr, fortran_order and "
                       f"shape: {text[:80]!r}")
    dt = _npy_dtype(d["descr"])
    shape, fortran = d["shape"], d["fortran_order"]
    bad = "is not a tuple" if not isinstance(shape, tuple) else _check_shape(
        shape, dt.itemsize)
    if bad:
        raise _Corrupt(f"bad npy shape {_shape_text(shape)}: it {bad}")
    if not isinstance(fortran, bool):
        raise _Corrupt(f"bad npy fortran_order {str(fortran)[:20]}: not a bool")
    count = math.prod(shape)
    have = len(buf) - start - n
    if count * dt.itemsize > have:
        raise _Corrupt(f"truncated npy data: shape {_shape_text(shape)} of {dt} "
                       f"needs {count * dt.itemsize} bytes, the file has {have}")
    x = np.frombuffer(buf, dtype=dt, count=count, offset=start + n)
    return x.reshape(shape[::-1]).T if fortran else x.reshape(shape)


def _load_npy(buf):
    if bytes(buf[:2]) == b"PK":
        raise _Corrupt("expected an npy array, found an npz archive")
    x = _parse_npy(buf)
    return _array_of(x, _dtype_of(x.dtype))


def _load_npz(buf):
    # zipfile's errors on a corrupt archive are many (BadZipFile, EOFError,
    # zlib.error, NotImplementedError for a compression method, RuntimeError
    # for encryption, UnicodeDecodeError for a name, ...): each is the
    # archive's fault, reported as such. Its memory is that of the data in
    # the archive, not of the sizes its headers declare.
    if bytes(buf[:6]) == _NPY_MAGIC:
        raise _Corrupt("expected an npz archive, found an npy array")
    # As numpy: a zip's first local header, or the end record of an empty
    # one (zipfile also reads archives after other data).
    if bytes(buf[:4]) not in (b"PK\x03\x04", b"PK\x05\x06"):
        raise _Corrupt("not an npz archive: no zip signature PK\\x03\\x04 at its start")
    try:
        z = zipfile.ZipFile(_io.BytesIO(buf))
    except MemoryError:
        raise
    except Exception as e:
        raise _Corrupt(f"bad npz archive: {type(e).__name__}: {str(e)[:100]}") from None
    out = {}
    with z:
        for info in z.infolist():
            member = info.filename
            name = member[:-4] if member.endswith(".npy") else member
            try:
                with z.open(info) as f:
                    data = f.read()
            except MemoryError:
                raise
            except Exception as e:
                raise _Corrupt(f"bad npz archive: member '{member}': "
                               f"{type(e).__name__}: {str(e)[:100]}") from None
            try:
                x = _parse_npy(data)
            except _Corrupt as e:
                raise _Corrupt(str(e), name) from None
            # The last of members of one name, as numpy.
            out[name] = _array_of(x, _dtype_of(x.dtype))
    return out


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


def _file_name(file):
    """The file as error messages name it."""
    name = file if isinstance(file, (str, os.PathLike)) else getattr(file, "name", None)
    if isinstance(name, (str, bytes, os.PathLike)):
        name = os.fspath(name)
        return repr(os.fsdecode(name) if isinstance(name, bytes) else name)
    return "a file object"


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
    try:
        if fmt == "safetensors":
            loaded = _load_safetensors(buf, return_metadata)
        elif return_metadata:
            raise ValueError(f"[{fn}] metadata is only returned for safetensors files.")
        elif fmt == "npy":
            loaded = _load_npy(buf)
        else:
            loaded = _load_npz(buf)
    except _Corrupt as e:
        where = _file_name(file)
        if e.member is not None:
            where = f"array '{e.member}' of {where}"
        raise ValueError(f"[{fn}] {e} in {where}.") from None
    return _onto(loaded, stream)
