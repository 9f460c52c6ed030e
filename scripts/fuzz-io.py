#!/usr/bin/env python3
"""Fuzzes runnel.load with truncated and corrupted .npy, .npz and
.safetensors files for a fixed budget.

Valid files are written by runnel (rn.save, rn.savez, rn.savez_compressed,
rn.save_safetensors) from fresh random arrays of several dtypes (bool, ints,
float16/32/64, bfloat16) and shapes (0-d, empty, 1-d, 3-d), then mutated:
truncation at every offset of the header (a sweep, interleaved with the
random cases) and at random offsets, random byte flips, edits of the header
fields (shapes larger, negative, huge or overflowing; dtype strings unknown
or of another size; safetensors offsets past the end, overlapping, out of
order; huge header length fields; non-UTF-8 and non-JSON headers;
fortran_order true; zip entries renamed, their fields or data corrupted).

Each mutated file is loaded by a worker process (a crash or a hang kills
the worker, not the fuzzer: it is seen, recorded and the worker restarted)
and each outcome classified:

  loaded        rn.load returned arrays whose dtypes, shapes and bits are
                those numpy reads from the same file (npy, npz) or those the
                safetensors format gives (spec_safetensors below, a reading
                of the spec independent of runnel); bools must be 0 or 1
  clean error   a ValueError (exactly) whose message starts with '[load]'
                and names the file (a file object: 'a file object'); 'ref
                reads' counts those on files the reference reads, listed by
                message (runnel refuses more dtypes and shapes than numpy)
  defect        anything else: another exception type leaking (IndexError,
                struct.error, UnicodeDecodeError, zipfile.BadZipFile, ...),
                a ValueError without '[load]' or the file's name, a
                MemoryError (the worker's address space is limited to 2 GiB
                above what it maps at the start: a header asking for a huge
                array fails there, not on the machine), a crash, a hang (no
                answer in --timeout seconds, confirmed by a fresh worker
                with ten times as long), wrong values, or a file loaded that
                the reference refuses (the loader more lenient than the
                format)

Each case is a function of the seed and its number: a defect is printed
with the command that runs it again (and --write saves its file).

Usage:
  scripts/fuzz-io.py [--seconds S | --count N] [--seed SEED]
  scripts/fuzz-io.py --seed SEED --case I [--write FILE]   (one case again)

Run it with the Python that has runnel installed (.venv/bin/python). Exits 1
when a defect was seen.
"""

import argparse
import collections
import io
import json
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile

import numpy as np

FORMATS = ["npy", "npz", "npz-compressed", "safetensors"]
EXT = {"npy": ".npy", "npz": ".npz", "npz-compressed": ".npz",
       "safetensors": ".safetensors"}
DTYPES = ["bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16",
          "int32", "int64", "float16", "bfloat16", "float32", "float64"]
ST_DTYPES = {"BOOL": "?", "U8": "u1", "U16": "<u2", "U32": "<u4", "U64": "<u8",
             "I8": "i1", "I16": "<i2", "I32": "<i4", "I64": "<i8",
             "F16": "<f2", "BF16": "<u2", "F32": "<f4", "F64": "<f8"}
MAX_ST_HEADER = 100_000_000


# --- valid files from fresh random arrays -----------------------------------


def random_shape(rng):
    kind = rng.integers(0, 5)
    if kind == 0:
        return ()
    if kind == 1:
        return (0,) if rng.random() < 0.5 else (int(rng.integers(1, 4)), 0)
    if kind == 2:
        return (int(rng.integers(1, 40)),)
    return tuple(int(v) for v in rng.integers(1, 5, size=3))


def random_array(rng, name, shape):
    """A runnel array of dtype `name` with random values."""
    import runnel as rn

    if name == "bool":
        return rn.array(rng.random(shape) < 0.5, rn.bool_)
    if name == "bfloat16":
        import ml_dtypes

        x = rng.uniform(-100, 100, size=shape).astype(ml_dtypes.bfloat16)
        return rn.array(x)
    nd = np.dtype(name)
    if nd.kind in "iu":
        info = np.iinfo(nd)
        x = rng.integers(info.min, info.max, size=shape, dtype=nd, endpoint=True)
    else:
        x = rng.uniform(-1e3, 1e3, size=shape).astype(nd)
        if x.size and rng.random() < 0.2:
            x.reshape(-1)[0] = [np.nan, np.inf, -np.inf, -0.0][rng.integers(0, 4)]
    return rn.array(x, getattr(rn, name))


def random_arrays(rng, k):
    return {f"{['w', 'bias', 'x.y', 'arr'][i % 4]}{i}":
            random_array(rng, DTYPES[rng.integers(0, len(DTYPES))], random_shape(rng))
            for i in range(k)}


def fixed_zip_times(raw):
    """An npz with its entries' DOS times and dates zeroed (1980-00-00), so
    that a seed gives the same bytes on every run."""
    b = bytearray(raw)
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        infos = z.infolist()
        pos = z.start_dir
    for zi in infos:
        b[zi.header_offset + 10 : zi.header_offset + 14] = bytes(4)
    while b[pos : pos + 4] == b"PK\x01\x02":
        b[pos + 12 : pos + 16] = bytes(4)
        n, m, k = struct.unpack_from("<HHH", b, pos + 28)
        pos += 46 + n + m + k
    return bytes(b)


def base_file(rng, fmt):
    """(the bytes of a valid file written by runnel, a description)."""
    import runnel as rn

    buf = io.BytesIO()
    if fmt == "npy":
        arrays = random_arrays(rng, 1)
        rn.save(buf, next(iter(arrays.values())))
    else:
        arrays = random_arrays(rng, int(rng.integers(1, 4)))
        if fmt == "npz":
            rn.savez(buf, **arrays)
        elif fmt == "npz-compressed":
            rn.savez_compressed(buf, **arrays)
        else:
            meta = {"format": "mlx", "n": str(rng.integers(0, 100))} \
                if rng.random() < 0.5 else None
            rn.save_safetensors(buf, arrays, metadata=meta)
    raw = buf.getvalue()
    if fmt.startswith("npz"):
        raw = fixed_zip_times(raw)
    desc = ", ".join(f"{k}:{a.dtype}{list(a.shape)}" for k, a in arrays.items())
    return raw, desc


# --- mutations --------------------------------------------------------------


def pick(rng, seq):
    return seq[int(rng.integers(0, len(seq)))]


def flip_bytes(rng, raw, lo=0, hi=None):
    hi = len(raw) if hi is None else hi
    if hi <= lo:
        return raw, "no byte to flip"
    b = bytearray(raw)
    edits = []
    for _ in range(int(rng.integers(1, 5))):
        i = int(rng.integers(lo, hi))
        if rng.random() < 0.5:
            b[i] ^= 1 << int(rng.integers(0, 8))
        else:
            b[i] = int(rng.integers(0, 256))
        edits.append(f"{i}={b[i]:#04x}")
    return bytes(b), "bytes " + " ".join(edits)


def truncate(raw, at):
    return raw[:at], f"truncated at {at} of {len(raw)}"


def generic(rng, raw, header_end):
    """Mutations of any format: truncation, flips, insertion, garbage."""
    r = rng.random()
    if r < 0.25:
        return truncate(raw, int(rng.integers(0, header_end + 1)))
    if r < 0.4:
        return truncate(raw, int(rng.integers(header_end, len(raw) + 1)))
    if r < 0.6:
        return flip_bytes(rng, raw, 0, header_end)
    if r < 0.75:
        return flip_bytes(rng, raw)
    if r < 0.85:
        i = int(rng.integers(0, len(raw) + 1))
        k = int(rng.integers(1, 9))
        if rng.random() < 0.5:
            return raw[:i] + rng.bytes(k) + raw[i:], f"{k} bytes inserted at {i}"
        return raw[:i] + raw[i + k :], f"{k} bytes deleted at {i}"
    if r < 0.9:
        return raw + rng.bytes(int(rng.integers(1, 64))), "garbage appended"
    return rng.bytes(int(rng.integers(0, 300))), "random bytes"


# npy ------------------------------------------------------------------------


def npy_split(raw):
    """(version, header text, data) of a valid npy file."""
    major, minor = raw[6], raw[7]
    if major == 1:
        (n,) = struct.unpack_from("<H", raw, 8)
        start = 10
    else:
        (n,) = struct.unpack_from("<I", raw, 8)
        start = 12
    return (major, minor), raw[start : start + n], raw[start + n :]


def npy_join(header, data, version=(1, 0), pad=True, length=None):
    if isinstance(header, str):
        header = header.encode("latin1" if version < (3, 0) else "utf8")
    fmt = "<H" if version[0] == 1 else "<I"
    pre = 8 + struct.calcsize(fmt)
    if pad:
        header = header + b" " * (-(pre + len(header) + 1) % 64) + b"\n"
    n = len(header) if length is None else length
    return b"\x93NUMPY" + bytes(version) + struct.pack(fmt, n) + header + data


def npy_dict(header):
    import ast

    return ast.literal_eval(header.decode("latin1"))


def npy_text(d):
    """A header dict as numpy writes it, values as repr (strings may be
    given raw through a '!' prefix)."""
    def rep(v):
        return v[1:] if isinstance(v, str) and v.startswith("!") else repr(v)
    return "{" + ", ".join(f"{rep(k)}: {rep(v)}" for k, v in d.items()) + ", }"


HUGE_DIMS = [2**31 - 1, 2**31, 2**32, 2**40, 2**62, 2**63 - 1, 2**63, 2**64,
             10**30, 10**12]
BAD_DESCRS = ["<x9", "foo", "", "<f3", "<f8", "<f4", "<f2", "<i2", "|b1", "<V2",
              "<V4", "|V0", "<c8", "<c16", "|O", "<U3", "|S5", "<M8[s]", "<m8",
              "(2,)<f4", "(1,)<f2", "f4,i4", "<V99999999999", "|V2147483648",
              ">f4", ">i8", ">V2", "|u8", "<u16", "b", "?", "e", "g", "<f16",
              "<b1", "bfloat16", "float32", "V2", "<q", "S0", "a", "<U0"]


def npy_shape_edit(rng, shape):
    s = list(shape)
    r = int(rng.integers(0, 12))
    if r == 0 and s:
        i = int(rng.integers(0, len(s)))
        s[i] = s[i] * 2 + 1
    elif r == 1:
        s.insert(int(rng.integers(0, len(s) + 1)), int(rng.integers(2, 5)))
    elif r == 2 and s:
        s.pop(int(rng.integers(0, len(s))))
    elif r == 3:
        s = [pick(rng, HUGE_DIMS)] + s
    elif r == 4:
        s = s + [-int(rng.integers(1, 3))] if rng.random() < 0.5 else [-(2**63)]
    elif r == 5:
        s = [2**32, 2**32] if rng.random() < 0.5 else [2**31, 2**31, 4]
    elif r == 6:
        s = [0, pick(rng, HUGE_DIMS)]
    elif r == 7:
        s = [1] * int(rng.integers(33, 100))
    elif r == 8:
        return pick(rng, [[3], (1.5,), ("3",), (True,), None, 3, (3, None), ((3,),)])
    elif r == 9:
        return tuple(s) + (pick(rng, HUGE_DIMS),)
    elif r == 10:
        s = [pick(rng, HUGE_DIMS), 0]
    else:
        s = [int(v) for v in rng.integers(0, 2**20, size=int(rng.integers(1, 4)))]
    return tuple(s)


def mutate_npy(rng, raw):
    version, header, data = npy_split(raw)
    header_end = len(raw) - len(data)
    r = rng.random()
    if r < 0.35:
        return generic(rng, raw, header_end)
    d = npy_dict(header)
    r = int(rng.integers(0, 16))
    if r <= 2:
        d["shape"] = npy_shape_edit(rng, d["shape"])
        return npy_join(npy_text(d), data, version), f"shape {d['shape']!r}"
    if r <= 4:
        d["descr"] = pick(rng, BAD_DESCRS) if rng.random() < 0.85 else pick(
            rng, [[("a", "<f4")], ("<f2", (1,)), 5, None, ["<f4"], ("<f4",)])
        return npy_join(npy_text(d), data, version), f"descr {d['descr']!r}"
    if r == 5:
        d["fortran_order"] = True if rng.random() < 0.7 else pick(rng, [1, "True", None, 0])
        return npy_join(npy_text(d), data, version), f"fortran_order {d['fortran_order']!r}"
    if r == 6:
        k = pick(rng, ["descr", "fortran_order", "shape"])
        if rng.random() < 0.5:
            del d[k]
            return npy_join(npy_text(d), data, version), f"no key {k}"
        d["extra"] = 1
        return npy_join(npy_text(d), data, version), "extra key"
    if r == 7:
        f4 = "{'descr': '<f4', 'fortran_order': False, 'shape': "
        text = pick(rng, ["[1, 2]", "3", "None",
                          "{'descr': f(), 'fortran_order': False, 'shape': (3,)}",
                          f4 + "(3,)",
                          "__import__('os').system('true')", "{1: 2}", "{**{}}", "",
                          f4 + "(" * 300 + ")" * 300 + "}",
                          f4 + "(" + "-" * 3000 + "1,)}",
                          f4 + "(" + "9" * 5000 + ",)}",
                          f4 + "(3,), 'shape': (2,)}",
                          "{'descr': b'<f4', 'fortran_order': False, 'shape': (3,)}"])
        return npy_join(text, data, version), f"header text {text[:40]!r}"
    if r == 8:
        # Non-UTF-8 / non-ASCII bytes in the header (version 3 is UTF-8).
        h = bytearray(header)
        i = int(rng.integers(0, len(h)))
        h[i] = int(rng.integers(128, 256))
        v = pick(rng, [(1, 0), (3, 0)])
        return (npy_join(bytes(h), data, v, pad=False),
                f"byte {h[i]:#x} at {i} of the header, version {v}")
    if r == 9:
        v = pick(rng, [(1, 0), (2, 0), (3, 0)])
        n = pick(rng, [0xFFFF, 0xFFFFFFFF, len(header) + 1, len(header) - 1, 0, 10001, 2**31]
                 if v[0] > 1 else [0xFFFF, len(header) + 1, len(header) - 1, 0, 10001])
        n = min(n, 0xFFFF if v[0] == 1 else 0xFFFFFFFF)
        return npy_join(header, data, v, pad=False, length=n), f"header length {n}, version {v}"
    if r == 10:
        v = (int(rng.integers(0, 256)), int(rng.integers(0, 256))) if rng.random() < 0.5 \
            else pick(rng, [(0, 0), (2, 0), (3, 0), (4, 0), (1, 1)])
        b = bytearray(raw)
        b[6:8] = bytes(v)
        return bytes(b), f"version bytes {v}"
    if r == 11:
        # A consistent header of another dtype or shape over the same data.
        d["descr"] = pick(rng, ["<f2", "<f4", "<f8", "|b1", "|u1", "<i8", ">f4", "<V2", ">u2"])
        n = len(data) // np.dtype(d["descr"]).itemsize
        d["shape"] = (n,) if rng.random() < 0.5 else ()
        return npy_join(npy_text(d), data, version), f"reinterpreted as {d['descr']} {d['shape']}"
    if r == 12:
        return npy_join(npy_text(d), data, pick(rng, [(2, 0), (3, 0)])), "version 2/3 rewrite"
    if r == 13:
        # Shape and fortran_order both edited, with data enough for them.
        s = tuple(int(v) for v in rng.integers(0, 4, size=int(rng.integers(0, 4))))
        d["shape"], d["fortran_order"] = s, bool(rng.random() < 0.5)
        return npy_join(npy_text(d), data, version), f"shape {s} fortran_order {d['fortran_order']}"
    if r == 14:
        b = bytearray(raw)
        b[int(rng.integers(0, 6))] ^= 0xFF
        return bytes(b), "magic corrupted"
    return truncate(raw, header_end + int(rng.integers(0, len(data) + 1)))


# npz ------------------------------------------------------------------------


def zip_members(raw):
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        return [(zi.filename, z.read(zi), zi.compress_type) for zi in z.infolist()]


def zip_build(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data, ctype in members:
            zi = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = ctype
            z.writestr(zi, data)
    return buf.getvalue()


def zip_records(raw):
    """Offsets of the local headers, central directory records and end
    records (by signature: mutations only)."""
    out = collections.defaultdict(list)
    for sig, name in [(b"PK\x03\x04", "local"), (b"PK\x01\x02", "central"),
                      (b"PK\x05\x06", "end"), (b"PK\x06\x06", "end64"),
                      (b"PK\x06\x07", "loc64")]:
        for m in re.finditer(re.escape(sig), raw):
            out[name].append(m.start())
    return out


# (record, field offset, struct format, description)
ZIP_FIELDS = [
    ("local", 6, "<H", "local flags"), ("local", 8, "<H", "local method"),
    ("local", 14, "<I", "local crc"), ("local", 18, "<I", "local compressed size"),
    ("local", 22, "<I", "local size"), ("local", 26, "<H", "local name length"),
    ("local", 28, "<H", "local extra length"),
    ("central", 8, "<H", "central flags"), ("central", 10, "<H", "central method"),
    ("central", 16, "<I", "central crc"), ("central", 20, "<I", "central compressed size"),
    ("central", 24, "<I", "central size"), ("central", 28, "<H", "central name length"),
    ("central", 30, "<H", "central extra length"), ("central", 42, "<I", "central local offset"),
    ("end", 8, "<H", "end entries on disk"), ("end", 10, "<H", "end entries"),
    ("end", 12, "<I", "end directory size"), ("end", 16, "<I", "end directory offset"),
    ("end", 20, "<H", "end comment length"),
    ("end64", 24, "<Q", "zip64 entries"), ("end64", 40, "<Q", "zip64 directory size"),
    ("end64", 48, "<Q", "zip64 directory offset"), ("loc64", 8, "<Q", "zip64 end offset"),
]


def zip_field_edit(rng, raw):
    recs = zip_records(raw)
    fields = [f for f in ZIP_FIELDS if recs.get(f[0])]
    rec, off, fmt, what = pick(rng, fields)
    pos = pick(rng, recs[rec]) + off
    size = struct.calcsize(fmt)
    if pos + size > len(raw):
        return flip_bytes(rng, raw)
    (old,) = struct.unpack_from(fmt, raw, pos)
    top = 2 ** (8 * size) - 1
    if "method" in what:
        new = pick(rng, [1, 6, 8, 9, 12, 14, 93, 95, 98, 99, 0xFFFF, 0])
    elif "flags" in what:
        new = old ^ pick(rng, [1, 8, 64, 0x800, 0x2000])
    else:
        new = pick(rng, [0, 1, top, top - 1, old + 1, max(old - 1, 0), old * 2,
                         old + int(rng.integers(1, 1000)), 2**31, 0xFFFFFFFF & top])
    new = min(max(new, 0), top)
    b = bytearray(raw)
    struct.pack_into(fmt, b, pos, new)
    return bytes(b), f"{what} {old} -> {new} at {pos}"


def mutate_npz(rng, raw, compressed):
    r = rng.random()
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        first_data = z.infolist()[0].header_offset + 30 + len(z.infolist()[0].filename)
        start_dir = z.start_dir
    if r < 0.3:
        if rng.random() < 0.4:
            # The directory at the end is where a zip is read from.
            return truncate(raw, int(rng.integers(start_dir, len(raw) + 1)))
        return generic(rng, raw, first_data + 64)
    if r < 0.55:
        return zip_field_edit(rng, raw)
    members = zip_members(raw)
    ctype = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
    i = int(rng.integers(0, len(members)))
    name, data, _ = members[i]
    r = int(rng.integers(0, 10))
    if r <= 3:
        # A member's npy mutated (headers asking for huge arrays included).
        new, what = mutate_npy(rng, data)
        members[i] = (name, new, ctype)
        return zip_build(members), f"member {name}: {what}"
    if r == 4:
        new = pick(rng, [name[:-4], name + ".bin", "", "a/../" + name, "/abs.npy",
                         "dir/" + name, "ü.npy", name.upper(), members[0][0]])
        members[i] = (new, data, ctype)
        return zip_build(members), f"member {name} renamed {new!r}"
    if r == 5:
        members[i] = (name, pick(rng, [b"", rng.bytes(int(rng.integers(1, 200))),
                                      b"\x93NUMPY", b"PK\x03\x04" + data]), ctype)
        return zip_build(members), f"member {name}: not npy data"
    if r == 6:
        members.append((pick(rng, ["extra.txt", "extra", name]), rng.bytes(20), ctype))
        return zip_build(members), "extra member"
    if r == 7:
        del members[i]
        return zip_build(members) if members else zip_build([]), f"member {name} removed"
    if r == 8:
        # Bytes of a member's data flipped (a deflate stream corrupted, or a
        # CRC mismatch).
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            zi = z.infolist()[i]
        lo = zi.header_offset + 30 + len(zi.filename)
        return flip_bytes(rng, raw, lo, min(lo + zi.compress_size + 30, len(raw)))
    new = zip_build([(n, d, zipfile.ZIP_STORED if compressed else zipfile.ZIP_DEFLATED)
                     for n, d, _ in members])
    return zip_field_edit(rng, new)


# safetensors ----------------------------------------------------------------


def st_split(raw):
    (n,) = struct.unpack_from("<Q", raw, 0)
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


def st_join(header, data, length=None, text=None):
    if text is None:
        text = json.dumps(header, separators=(",", ":")).encode()
    n = len(text) if length is None else length
    return struct.pack("<Q", n) + text + data


def mutate_safetensors(rng, raw):
    header, data = st_split(raw)
    header_end = len(raw) - len(data)
    if rng.random() < 0.3:
        return generic(rng, raw, header_end)
    names = [k for k in header if k != "__metadata__"]
    name = pick(rng, names)
    e = header[name]
    r = int(rng.integers(0, 14))
    if r <= 1:
        s = npy_shape_edit(rng, tuple(e["shape"]))
        e["shape"] = list(s) if isinstance(s, tuple) else s
        if rng.random() < 0.3:
            e["shape"] = pick(rng, [[1.0], [True], ["2"], [[2]], "3", 3, None, {}, [2.5e9]])
        return st_join(header, data), f"{name}: shape {e['shape']!r}"[:200]
    if r <= 3:
        e["dtype"] = pick(rng, list(ST_DTYPES) + ["F8_E4M3", "F128", "f32", "", "C64", "U4",
                                                 None, 4, ["F32"], {"a": 1}, True])
        return st_join(header, data), f"{name}: dtype {e['dtype']!r}"
    if r <= 6:
        b, end = e["data_offsets"]
        others = [header[k]["data_offsets"] for k in names if k != name]
        choices = [[b, len(data) + 1], [b, end + 8], [end, b], [b - 1, end], [-1, end - b - 1],
                   [b + 1, end + 1], [b, 2**64], [2**63, 2**63 + end - b],
                   [0, end - b], [b, end, end], [b], [], "0,4", None, [float(b), float(end)],
                   [True, end], [str(b), end], [b, end - 1],
                   [len(data), len(data) + end - b], [b + 10**30, end + 10**30]]
        if others:
            ob, oe = pick(rng, others)
            choices += [[ob, ob + end - b], [max(ob - 1, 0), max(ob - 1, 0) + end - b]]
        e["data_offsets"] = pick(rng, choices)
        return st_join(header, data), f"{name}: data_offsets {e['data_offsets']!r}"
    if r == 7:
        # Out of order in the buffer, consistently: a valid file.
        parts = sorted(((header[k]["data_offsets"], k) for k in names), key=lambda t: t[0])
        order = list(rng.permutation(len(parts)))
        blob, off = b"", 0
        for j in order:
            (b, end), k = parts[j]
            header[k]["data_offsets"] = [off, off + end - b]
            blob += data[b:end]
            off += end - b
        return st_join(header, blob), f"buffer reordered {order}"
    if r == 8:
        k = pick(rng, ["dtype", "shape", "data_offsets"])
        if rng.random() < 0.5:
            del e[k]
            return st_join(header, data), f"{name}: no {k}"
        header[name] = pick(rng, [[1, 2], "F32", 3, None, {}, {"extra": e}])
        return st_join(header, data), f"{name}: entry {header[name]!r}"[:200]
    if r == 9:
        header["__metadata__"] = pick(rng, [[], "x", 0, None, {"a": 1}, {"a": None},
                                            {"a": {"b": "c"}},
                                            {}, {"a": "b"}, [["a", "b"]], False])
        return st_join(header, data), f"__metadata__ {header['__metadata__']!r}"
    if r == 10:
        text = pick(rng, [b"[1,2]", b"3", b'"x"', b"null", b"{no", b"", b"{}",
                          b"[" * 100000 + b"]" * 100000, b'{"a":' * 50000 + b"1" + b"}" * 50000,
                          b'{"a":{"dtype":"F32","shape":[' + b"9" * 5000
                          + b'],"data_offsets":[0,4]}}',
                          b'{"a":{"dtype":"F32","shape":[NaN],"data_offsets":[0,4]}}',
                          b'{"a":{"dtype":"F32","shape":[Infinity],"data_offsets":[0,4]}}',
                          b"\xef\xbb\xbf{}", b'{"\xff":1}', b"{\"a\xed\xa0\x80\":{}}",
                          json.dumps(header).encode() + b"\x00garbage",
                          # A name twice (JSON takes the last).
                          json.dumps(header)[:-1].encode() + b', "' + name.encode() + b'": '
                          + json.dumps(e).encode() + b"}"])
        return st_join(header, data, text=text), f"header text {text[:40]!r}"
    if r == 11:
        text = json.dumps(header, separators=(",", ":")).encode()
        n = pick(rng, [2**64 - 1, 2**63, 2**32, MAX_ST_HEADER + 1, len(text) + 1,
                       len(text) - 1, len(text) + len(data), len(text) + len(data) + 1, 0, 7])
        return st_join(header, data, length=n), f"header length {n}"
    if r == 12:
        # Non-UTF-8 byte inside the JSON text.
        text = bytearray(json.dumps(header).encode())
        i = int(rng.integers(0, len(text)))
        text[i] = int(rng.integers(128, 256))
        return st_join(header, data, text=bytes(text)), f"byte {text[i]:#x} at {8 + i}"
    # Entries sharing bytes (a view of another's data), holes, trailing data.
    what = pick(rng, ["alias", "hole", "trailing"])
    if what == "alias" and len(names) > 1:
        other = pick(rng, [k for k in names if k != name])
        header[name] = dict(header[other])
        return st_join(header, data), f"{name}: the same entry as {other}"
    if what == "hole":
        for k in names:
            b, end = header[k]["data_offsets"]
            header[k]["data_offsets"] = [b + 8, end + 8]
        return st_join(header, rng.bytes(8) + data), "8-byte hole before the data"
    return st_join(header, data + rng.bytes(int(rng.integers(1, 16)))), "trailing data"


# --- the cases --------------------------------------------------------------


def header_end(fmt, raw):
    """Where the sweep of truncations stops: the end of the header (npy,
    safetensors), or for npz the first member's header."""
    if fmt == "npy":
        return len(raw) - len(npy_split(raw)[2])
    if fmt == "safetensors":
        return 8 + struct.unpack_from("<Q", raw, 0)[0]
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        zi = z.infolist()[0]
        return zi.header_offset + 30 + len(zi.filename) + len(zi.extra) + 128


_SWEEP = {}


def sweep(seed):
    """Truncations of one valid file of each format at every offset of its
    header (npz: of its first member's header and its whole directory)."""
    if seed not in _SWEEP:
        cases = []
        for k, fmt in enumerate(FORMATS):
            rng = np.random.default_rng([seed, 10**6 + k])
            raw, desc = base_file(rng, fmt)
            offsets = list(range(header_end(fmt, raw) + 1))
            if fmt.startswith("npz"):
                with zipfile.ZipFile(io.BytesIO(raw)) as z:
                    offsets += list(range(z.start_dir, len(raw)))
            cases += [(fmt, raw, desc, at) for at in offsets]
        _SWEEP[seed] = cases
    return _SWEEP[seed]


def make_case(seed, i):
    """Case i of a seed: (format, mutated bytes, description). Even cases
    walk through the sweep of truncations, the others are random."""
    s = sweep(seed)
    if i % 2 == 0 and i // 2 < len(s):
        fmt, raw, desc, at = s[i // 2]
        return fmt, raw[:at], f"{desc}: sweep, truncated at {at} of {len(raw)}"
    rng = np.random.default_rng([seed, i])
    fmt = FORMATS[int(rng.integers(0, len(FORMATS)))]
    raw, desc = base_file(rng, fmt)
    if fmt == "npy":
        new, what = mutate_npy(rng, raw)
    elif fmt.startswith("npz"):
        new, what = mutate_npz(rng, raw, fmt == "npz-compressed")
    else:
        new, what = mutate_safetensors(rng, raw)
    return fmt, new, f"{desc}: {what}"


# --- the worker: loads one file, classifies the outcome ---------------------


def spec_safetensors(raw):
    """The arrays of a safetensors file as numpy (BF16: its bits as uint16),
    read independently of runnel by the format's rules (those of the
    reference implementation): header size at most 100 MB, a UTF-8 JSON
    object, optional __metadata__ of str to str, every entry a known dtype,
    a shape of non-negative ints, offsets [begin, end] of the shape's size,
    and the entries covering the buffer without holes or overlaps."""
    if len(raw) < 8:
        raise ValueError("short")
    (n,) = struct.unpack_from("<Q", raw, 0)
    if n > MAX_ST_HEADER or 8 + n > len(raw):
        raise ValueError("header length")
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError("not an object")
    data = raw[8 + n :]
    meta = header.pop("__metadata__", None)  # null: none (serde's Option)
    if meta is not None and (not isinstance(meta, dict) or not all(
            isinstance(v, str) for v in meta.values())):
        raise ValueError("metadata")
    out, spans = {}, []
    for k, e in header.items():
        if not isinstance(e, dict) or not {"dtype", "shape", "data_offsets"} <= set(e):
            raise ValueError("entry")
        dt, shape, offs = e["dtype"], e["shape"], e["data_offsets"]
        if not isinstance(dt, str) or dt not in ST_DTYPES:
            raise ValueError("dtype")
        if not isinstance(shape, list) or not all(
                type(v) is int and 0 <= v < 2**64 for v in shape):
            raise ValueError("shape")
        if not isinstance(offs, list) or len(offs) != 2 or not all(
                type(v) is int and 0 <= v < 2**64 for v in offs):
            raise ValueError("offsets")
        count = 1
        for v in shape:
            count *= v
        nd = np.dtype(ST_DTYPES[dt])
        b, end = offs
        if end < b or end - b != count * nd.itemsize:
            raise ValueError("size")
        spans.append((b, end))
        out[k] = (dt, tuple(shape), (b, end))
    pos = 0
    for b, end in sorted(spans):
        if b != pos:
            raise ValueError("hole or overlap")
        pos = end
    if pos != len(data):
        raise ValueError("buffer not covered")
    arrays = {}
    for k, (dt, shape, (b, end)) in out.items():
        x = np.frombuffer(data[b:end], dtype=ST_DTYPES[dt])
        arrays[k] = x.view("V2") if dt == "BF16" else x.reshape(shape)
        if dt == "BF16":
            arrays[k] = arrays[k].reshape(shape)
    return arrays


def reference(fmt, path):
    """What the file holds by another reader: numpy for npy/npz, the spec
    reading above for safetensors. A single array or a dict."""
    if fmt == "safetensors":
        with open(path, "rb") as f:
            return spec_safetensors(f.read())
    got = np.load(path, allow_pickle=False)
    if isinstance(got, np.ndarray):
        return got
    with got:
        out = {k: got[k] for k in got.files}
    for k, v in out.items():
        if not isinstance(v, np.ndarray):
            raise ValueError(f"member {k!r} is not an npy array")
    return out


def bits(x):
    """Canonical bits of a numpy array: native order, bools as 0/1, the
    element size's unsigned ints."""
    x = np.asarray(x)
    if x.dtype.kind == "b":
        return (x.view(np.uint8) != 0).astype(np.uint8)
    if x.dtype.kind == "V" or x.dtype.name == "bfloat16":
        return x.view(np.uint16)
    x = x.astype(x.dtype.newbyteorder("="))
    return x.view(f"u{x.dtype.itemsize}")


RN_NAMES = {"b1": "bool_", "u1": "uint8", "u2": "uint16", "u4": "uint32", "u8": "uint64",
            "i1": "int8", "i2": "int16", "i4": "int32", "i8": "int64",
            "f2": "float16", "f4": "float32", "f8": "float64", "V2": "bfloat16"}


def compare(a, want, what):
    """None when runnel array a holds numpy array want's values, or what
    differs."""
    import runnel as rn

    wd = np.dtype(want.dtype)
    key = "V2" if wd.kind == "V" or wd.name == "bfloat16" else f"{wd.kind}{wd.itemsize}"
    if key not in RN_NAMES or wd.names is not None or wd.subdtype is not None:
        return f"{what}: loaded as {a.dtype} but the reference's dtype is {wd}"
    if a.dtype != getattr(rn, RN_NAMES[key]):
        return f"{what}: dtype {a.dtype}, the reference's {wd}"
    if tuple(a.shape) != want.shape:
        return f"{what}: shape {tuple(a.shape)}, the reference's {want.shape}"
    got = np.asarray(a)
    if a.dtype == rn.bool_:
        got_bits = got.view(np.uint8)
        if got_bits.size and got_bits.max() > 1:
            return f"{what}: bool bytes not 0/1: {sorted(set(got_bits.ravel().tolist()))[:8]}"
        # And as runnel computes with them.
        # (Through numpy: tolist of an empty array of shape (2**31 - 1, 0)
        # builds 2**31 lists.)
        if not np.array_equal(np.asarray(rn.logical_not(a)), ~(bits(want) != 0)):
            return f"{what}: logical_not differs"
    else:
        got_bits = bits(got)
    if not np.array_equal(got_bits, bits(want)):
        return f"{what}: values differ"
    return None


def check_values(got, ref):
    if isinstance(ref, np.ndarray):
        if isinstance(got, dict):
            return "a dict loaded, the reference reads an array"
        return compare(got, ref, "the array")
    if not isinstance(got, dict):
        return "an array loaded, the reference reads a dict"
    if set(got) != set(ref):
        return f"names {sorted(got)[:5]}, the reference's {sorted(ref)[:5]}"
    for k in ref:
        bad = compare(got[k], ref[k], repr(k))
        if bad:
            return bad
    return None


def run_one(req):
    """Loads one file as the fuzzer asks; the outcome as a dict."""
    import runnel as rn

    path, fmt, mode = req["path"], req["fmt"], req["mode"]
    try:
        if mode == "path":
            got = rn.load(path)
        else:
            with open(path, "rb") as f:
                got = rn.load(io.BytesIO(f.read()))  # recognised by its bytes
    except ValueError as e:
        msg = str(e)
        named = mode != "path" or path in msg
        if type(e) is ValueError and msg.startswith("[load]") and named:
            try:
                reference(fmt, path)
                ref_reads = True
            except Exception:
                ref_reads = False
            return {"outcome": "error", "ref": ref_reads, "msg": msg[:300]}
        why = "not naming the file" if msg.startswith("[load]") else "raw"
        return {"outcome": "defect", "cls": f"{type(e).__name__} {why}",
                "msg": msg[:300], "tb": traceback.format_exc()[-3000:]}
    except Exception as e:
        return {"outcome": "defect", "cls": type(e).__name__, "msg": str(e)[:300],
                "tb": traceback.format_exc()[-3000:]}
    try:
        ref = reference(fmt, path)
    except Exception as e:
        return {"outcome": "defect", "cls": "loaded, the reference refuses",
                "msg": f"{type(e).__name__}: {e}"[:300]}
    try:
        bad = check_values(got, ref)
    except Exception as e:
        bad = f"checking the values: {type(e).__name__}: {e}"
    if bad:
        return {"outcome": "defect", "cls": "wrong values", "msg": bad[:300]}
    return {"outcome": "loaded"}


def worker_main():
    import faulthandler
    import resource

    import runnel  # noqa: F401  (imported before the memory limit)

    # The protocol goes to the original stdout; anything printed goes to
    # stderr.
    proto = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    faulthandler.enable(all_threads=True)
    # A header asking for a huge allocation must fail, not take the
    # machine: 2 GiB of address space above what the worker has mapped.
    with open("/proc/self/status") as f:
        vm = int(re.search(r"VmSize:\s+(\d+)", f.read()).group(1)) * 1024
    limit = vm + (2 << 30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    for line in sys.stdin:
        req = json.loads(line)
        try:
            res = run_one(req)
        except MemoryError as e:
            res = {"outcome": "defect", "cls": "MemoryError", "msg": str(e)[:300],
                   "tb": traceback.format_exc()[-3000:]}
        proto.write(json.dumps(res) + "\n")
        proto.flush()


class Worker:
    """A worker process, restarted after a crash or a hang."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.proc = None
        self.log = None

    def start(self):
        self.log = open(os.path.join(self.tmp, "worker-stderr.txt"), "w+b")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log)

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc.stdin.close()
            self.proc.stdout.close()
            self.proc = None
        if self.log is not None:
            self.log.close()
            self.log = None

    def stderr_tail(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-3000:].decode("utf-8", "replace")

    def load(self, req, timeout):
        """The worker's outcome, or a crash or hang outcome."""
        if self.proc is None:
            self.start()
        self.proc.stdin.write((json.dumps(req) + "\n").encode())
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            tail = self.stderr_tail()
            self.stop()
            return {"outcome": "hang", "msg": f"no answer in {timeout} s", "tb": tail}
        line = self.proc.stdout.readline()
        if not line:
            rc = self.proc.wait()
            tail = self.stderr_tail()
            self.stop()
            return {"outcome": "crash", "msg": f"worker exit status {rc}", "tb": tail}
        return json.loads(line)


def load_case(worker, tmp, fmt, data, mode, timeout):
    path = os.path.join(tmp, "case" + EXT[fmt])
    with open(path, "wb") as f:
        f.write(data)
    req = {"path": path, "fmt": fmt, "mode": mode}
    res = worker.load(req, timeout)
    if res["outcome"] == "hang":
        # A loaded machine can be slow: a hang counts when a fresh worker
        # also takes ten times longer than the limit.
        again = worker.load(req, timeout * 10)
        if again["outcome"] != "hang":
            return again
    if res["outcome"] in ("hang", "crash"):
        res = dict(res, cls=res["outcome"], outcome="defect")
    return res


def case_mode(seed, i):
    """How case i is loaded: by its path (format from the extension), or one
    case in four from a file object with no name (format from its bytes)."""
    return "fileobj" if (seed + i) % 4 == 3 else "path"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=None, help="time budget (default 60)")
    ap.add_argument("--count", type=int, default=None, help="number of files instead")
    ap.add_argument("--seed", type=int, default=None, help="default: fresh")
    ap.add_argument("--case", type=int, default=None, help="run one case of the seed again")
    ap.add_argument("--write", default=None, help="with --case: write the mutated file here")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per file (default 10)")
    ap.add_argument("--keep", default=None, help="folder to copy the defects' files to")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker_main()
    seed = args.seed if args.seed is not None else int(np.random.SeedSequence().entropy % 2**31)

    tmp = tempfile.mkdtemp(prefix="fuzz-io-")
    worker = Worker(tmp)
    try:
        if args.case is not None:
            fmt, data, desc = make_case(seed, args.case)
            mode = case_mode(seed, args.case)
            print(f"seed {seed} case {args.case} [{fmt}, {mode}]: {desc}")
            if args.write:
                with open(args.write, "wb") as f:
                    f.write(data)
                print(f"written to {args.write} ({len(data)} bytes)")
            res = load_case(worker, tmp, fmt, data, mode, args.timeout)
            print(json.dumps({k: v for k, v in res.items() if k != "tb"}, indent=1))
            if res.get("tb"):
                print(res["tb"])
            return 1 if res["outcome"] == "defect" else 0
        return run_budget(args, seed, worker, tmp)
    finally:
        worker.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def stem(msg):
    """A defect's message reduced to its first words, for grouping: cut at
    the first quote, bracket or colon, numbers left out."""
    msg = re.split(r"[:'\"(\[{<]", msg.replace("[load] ", ""), maxsplit=1)[0]
    return " ".join(re.sub(r"\d+", "N", msg).split()[:4])


def run_budget(args, seed, worker, tmp):
    seconds = args.seconds if args.seconds is not None else (None if args.count else 60.0)
    start = time.monotonic()
    counts = collections.defaultdict(collections.Counter)
    defects = collections.OrderedDict()
    stricter = collections.OrderedDict()
    i = 0
    while True:
        if args.count is not None and i >= args.count:
            break
        if seconds is not None and time.monotonic() - start >= seconds:
            break
        fmt, data, desc = make_case(seed, i)
        mode = case_mode(seed, i)
        res = load_case(worker, tmp, fmt, data, mode, args.timeout)
        c = counts[fmt]
        c["files"] += 1
        if res["outcome"] == "loaded":
            c["loaded"] += 1
        elif res["outcome"] == "error":
            c["clean error"] += 1
            c["ref reads"] += res["ref"]
            if res["ref"]:
                key = (fmt, stem(res["msg"]))
                if key not in stricter:
                    stricter[key] = {"n": 0, "case": i, "msg": res["msg"], "desc": desc}
                stricter[key]["n"] += 1
        else:
            c["defect"] += 1
            key = (fmt, res["cls"], stem(res.get("msg", "")))
            if key not in defects:
                defects[key] = {"n": 0, "case": i, "mode": mode, "desc": desc,
                                "msg": res.get("msg", ""), "tb": res.get("tb", "")}
                if args.keep:
                    os.makedirs(args.keep, exist_ok=True)
                    with open(os.path.join(args.keep, f"seed{seed}-case{i}{EXT[fmt]}"), "wb") as f:
                        f.write(data)
            defects[key]["n"] += 1
        i += 1
    elapsed = time.monotonic() - start

    print(f"fuzz-io: seed {seed}, {i} files in {elapsed:.1f} s "
          f"({os.cpu_count()} CPUs), {len(sweep(seed))} sweep truncations in the plan")
    cols = ["files", "loaded", "clean error", "ref reads", "defect"]
    print(f"{'format':<16}" + "".join(f"{c:>13}" for c in cols))
    total = collections.Counter()
    for fmt in FORMATS:
        total.update(counts[fmt])
        print(f"{fmt:<16}" + "".join(f"{counts[fmt][c]:>13}" for c in cols))
    print(f"{'all':<16}" + "".join(f"{total[c]:>13}" for c in cols))
    print("(ref reads: clean errors on files that numpy (npy, npz) or the spec "
          "(safetensors) reads)")
    if stricter:
        print("\nclean errors on files the reference reads, by message (the first case):")
        for (fmt, _), d in stricter.items():
            print(f"- [{fmt}] x{d['n']}: {d['msg'][:160]}")
            print(f"    case {d['case']}: {d['desc'][:160]}")
    if defects:
        print(f"\n{sum(d['n'] for d in defects.values())} defects, {len(defects)} classes:")
        for (fmt, cls, _), d in defects.items():
            print(f"- [{fmt}] {cls} x{d['n']}: {d['msg'][:200]}")
            print(f"    reproduce: {sys.argv[0]} --seed {seed} --case {d['case']}"
                  f"   ({d['mode']}; {d['desc'][:160]})")
        if os.environ.get("FUZZ_IO_TRACEBACKS"):
            for d in defects.values():
                print("\n" + d["tb"])
    else:
        print("no defects")
    return 1 if defects else 0


if __name__ == "__main__":
    sys.exit(main())
