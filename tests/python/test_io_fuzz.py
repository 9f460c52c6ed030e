"""rn.load of truncated and corrupted .npy, .npz and .safetensors files: a
ValueError '[load] ... in <the file>.' for each kind of defect
scripts/fuzz-io.py found (raw exceptions of numpy, zipfile, json or struct,
allocations sized by a corrupt header, bool bytes other than 0 and 1 loaded
as they were, files the safetensors format forbids loaded), and a short run
of the fuzzer itself."""

import io
import json
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import runnel as rn

ROOT = Path(__file__).resolve().parents[2]


def npy(header, data, version=(1, 0)):
    """An npy file of a header (a dict, written as numpy does, or raw text)
    and data bytes."""
    if isinstance(header, dict):
        header = "{" + ", ".join(f"{k!r}: {v!r}" for k, v in header.items()) + ", }"
    if isinstance(header, str):
        header = header.encode("latin1" if version < (3, 0) else "utf-8")
    fmt = "<H" if version == (1, 0) else "<I"
    return b"\x93NUMPY" + bytes(version) + struct.pack(fmt, len(header)) + header + data


def npz(members, compress=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compress) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def safetensors(header, data):
    text = json.dumps(header).encode() if not isinstance(header, bytes) else header
    return struct.pack("<Q", len(text)) + text + data


def load_error(tmp_path, content, ext, match=None):
    """The message of the ValueError rn.load raises on a file of these
    bytes, checked to start with '[load]' and to name the file; and the same
    from a file object without a name."""
    path = tmp_path / f"bad{ext}"
    path.write_bytes(content)
    with pytest.raises(ValueError) as info:
        rn.load(path)
    msg = str(info.value)
    assert type(info.value) is ValueError, msg
    assert msg.startswith("[load] ") and repr(str(path)) in msg, msg
    if match is not None:
        assert match in msg, msg
    with pytest.raises(ValueError) as info:
        rn.load(io.BytesIO(content), format=ext[1:])
    assert type(info.value) is ValueError and str(info.value).startswith("[load] ")
    assert "in a file object." in str(info.value) or "of a file object." in str(info.value)
    return msg


def floats(rng, n=6):
    return rng.standard_normal(n).astype(np.float32)


def valid_npy(x):
    buf = io.BytesIO()
    np.save(buf, x)
    return buf.getvalue()


# --- npy ------------------------------------------------------------------


def test_npy_truncated_everywhere(rng, tmp_path):
    # Before: EOFError ('No data left in file') for an empty file, numpy's
    # ValueErrors without '[load]' or the file's name.
    raw = valid_npy(rng.standard_normal((3, 4)).astype(np.float32))
    for at in list(range(0, 130)) + [len(raw) - 1, len(raw) - 47]:
        load_error(tmp_path, raw[:at], ".npy")


@pytest.mark.parametrize("shape", [(2**31 - 1,), (2**20, 2**20), (10**5, 10**5, 10)],
                         ids=str)
def test_npy_header_asking_for_huge_arrays(shape, rng, tmp_path):
    # Before: numpy allocated the array the header declares before reading
    # it (MemoryError: 'Unable to allocate 16.0 GiB ...', or a huge
    # allocation that succeeds). The declared size is checked against the
    # file first.
    data = rng.integers(-100, 100, size=5).astype("<i8").tobytes()
    header = {"descr": "<i8", "fortran_order": False, "shape": shape}
    load_error(tmp_path, npy(header, data), ".npy", "truncated npy data")
    load_error(tmp_path, npz({"a.npy": npy(header, data)}), ".npz", "array 'a' of")


@pytest.mark.parametrize("shape, what", [
    ((0, 2**31), "larger than 2147483647"),     # before: '[array] Dimension ... too large'
    ((-1,), "negative"),                         # before: numpy's raw ValueError
    ((2**64,), "larger than"),                   # before: OverflowError
    ((10**30, 0), "larger than"),
    ((1,) * 65, "more than 64 dimensions"),      # before: numpy's raw ValueError
    ((0, 2**31 - 1, 2**31 - 1, 2**31 - 1), "too large"),  # before: 'array is too big'
    ((3.0,), "not a sequence of ints"),
    ([3], "not a tuple"),
    ((True,), "not a sequence of ints"),
], ids=str)
def test_npy_bad_shapes(shape, what, rng, tmp_path):
    data = floats(rng, 3).tobytes()
    header = {"descr": "<f4", "fortran_order": False, "shape": shape}
    load_error(tmp_path, npy(header, data), ".npy", what)


@pytest.mark.parametrize("descr", [
    "<x9", "", "<f3", "|O", "<U3", "|S0", "|V0", "<c8", "(2,)<f4", "(1,)<f2",
    "f4,i4", "<M8[s]", "<V99999999999", "<u16", "M8[9999999999999999999s]",
    5, None, [("a", "<f4")], ("<f2", (1,)),  # before: IndexError, TypeError
], ids=repr)
def test_npy_bad_descrs(descr, rng, tmp_path):
    data = floats(rng, 4).tobytes()
    header = {"descr": descr, "fortran_order": False, "shape": (2,)}
    load_error(tmp_path, npy(header, data), ".npy", "unsupported dtype")


@pytest.mark.parametrize("text", [
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)",  # before: TokenError
    "{'descr': '<f4', 'fortran_order': False, 'shape': " + "(" * 300 + ")" * 300 + "}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (" + "-" * 3000 + "1,)}",
    "{'descr': f(), 'fortran_order': False, 'shape': (2,)}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}",
    "{'descr': '<f4', 'shape': (2,)}",
    "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}",
    "[1, 2]", "", "{1: 2}",
], ids=lambda t: t[:40])
def test_npy_bad_header_texts(text, rng, tmp_path):
    load_error(tmp_path, npy(text, floats(rng, 2).tobytes()), ".npy", "bad npy")


def test_npy_bad_header_bytes_and_lengths(rng, tmp_path):
    data = floats(rng, 2).tobytes()
    good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"
    # Not UTF-8 in a version 3 header (before: UnicodeDecodeError).
    text = good.encode().replace(b"descr", b"d\xffscr")
    load_error(tmp_path, npy(text, data, (3, 0)), ".npy", "not UTF-8")
    # Header length fields past the end, or huge.
    for version, n in [((1, 0), 0xFFFF), ((2, 0), 0xFFFFFFFF), ((2, 0), 10**6)]:
        raw = bytearray(npy(good, data, version))
        struct.pack_into("<H" if version == (1, 0) else "<I", raw, 8, n)
        load_error(tmp_path, bytes(raw), ".npy", "header length")
    # Versions numpy never wrote.
    for version in [(0, 0), (4, 0), (1, 1), (255, 255)]:
        raw = bytearray(npy(good, data))
        raw[6:8] = bytes(version)
        load_error(tmp_path, bytes(raw), ".npy", "version")


def test_npy_headers_that_still_load(rng, tmp_path):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    # Fortran order, version 2 and 3 headers, trailing bytes (numpy ignores
    # them), and Python 2's long ints.
    f = np.asfortranarray(x)
    cases = {
        "fortran": npy({"descr": "<f4", "fortran_order": True, "shape": (3, 4)},
                       f.T.tobytes()),
        "v2": npy({"descr": "<f4", "fortran_order": False, "shape": (3, 4)}, x.tobytes(),
                  (2, 0)),
        "v3": npy({"descr": "<f4", "fortran_order": False, "shape": (3, 4)}, x.tobytes(),
                  (3, 0)),
        "trailing": valid_npy(x) + rng.bytes(7),
        "py2": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3L, 4L), }",
                   x.tobytes()),
    }
    b = rng.random(7) < 0.5
    got = rn.load(io.BytesIO(npy({"descr": "?", "fortran_order": False, "shape": (7,)},
                                 b.tobytes())))
    assert got.dtype == rn.bool_ and got.tolist() == b.tolist()
    for name, raw in cases.items():
        path = tmp_path / f"{name}.npy"
        path.write_bytes(raw)
        got = rn.load(path)
        assert got.dtype == rn.float32 and got.shape == (3, 4), name
        np.testing.assert_array_equal(np.asarray(got), x, err_msg=name)


def test_bool_bytes_other_than_0_and_1_load_as_true(rng, tmp_path):
    # Before: the bytes were copied as they were: logical_not of a 2 was
    # True and sum counted 2 for it.
    raw = rng.integers(0, 256, size=40, dtype=np.uint8)
    raw[:3] = [0, 1, 2]
    want = raw != 0
    header = {"descr": "|b1", "fortran_order": False, "shape": (5, 8)}
    files = {
        "b.npy": npy(header, raw.tobytes()),
        "b.npz": npz({"b.npy": npy(header, raw.tobytes())}),
        "b.safetensors": safetensors(
            {"b": {"dtype": "BOOL", "shape": [5, 8], "data_offsets": [0, 40]}},
            raw.tobytes()),
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
        got = rn.load(tmp_path / name)
        got = got if isinstance(got, rn.array) else got["b"]
        assert got.dtype == rn.bool_
        assert np.asarray(got).view(np.uint8).max() == 1, name
        np.testing.assert_array_equal(np.asarray(got), want.reshape(5, 8), err_msg=name)
        np.testing.assert_array_equal(np.asarray(rn.logical_not(got)),
                                      ~want.reshape(5, 8), err_msg=name)
        assert rn.sum(got).item() == int(want.sum()), name


# --- npz ------------------------------------------------------------------


def test_npz_truncated_everywhere(rng, tmp_path):
    # Before: zipfile.BadZipFile ('File is not a zip file', 'Truncated file
    # header', ...) and numpy's ValueErrors leaked.
    buf = io.BytesIO()
    rn.savez(buf, a=rn.array(floats(rng)), b=rn.array(rng.integers(0, 9, 5)))
    raw = buf.getvalue()
    for at in list(range(0, len(raw), 7)) + list(range(len(raw) - 120, len(raw))):
        load_error(tmp_path, raw[:at], ".npz")


def zip_field(raw, signature, offset, fmt, value):
    """raw with a field of every record of a signature set."""
    out = bytearray(raw)
    pos = out.find(signature)
    while pos >= 0:
        struct.pack_into(fmt, out, pos + offset, value)
        pos = out.find(signature, pos + 4)
    return bytes(out)


@pytest.mark.parametrize("compress", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED],
                         ids=["stored", "deflated"])
def test_npz_corrupt_archives(compress, rng, tmp_path):
    x = floats(rng, 16)
    raw = npz({"x.npy": valid_npy(x)}, compress)
    local, central = b"PK\x03\x04", b"PK\x01\x02"
    cases = {
        # NotImplementedError 'That compression method is not supported'
        "method 99": zip_field(zip_field(raw, local, 8, "<H", 99), central, 10, "<H", 99),
        # OSError 'Invalid data stream' (bzip2), lzma's errors
        "bzip2": zip_field(zip_field(raw, local, 8, "<H", 12), central, 10, "<H", 12),
        "lzma": zip_field(zip_field(raw, local, 8, "<H", 14), central, 10, "<H", 14),
        # RuntimeError 'File ... is encrypted, password required'
        "encrypted": zip_field(zip_field(raw, local, 6, "<H", 1), central, 8, "<H", 1),
        # BadZipFile 'Bad CRC-32'
        "crc": zip_field(zip_field(raw, local, 14, "<I", 1234), central, 16, "<I", 1234),
        # ValueError 'negative seek value', BadZipFile 'Bad offset'
        "directory offset": zip_field(raw, b"PK\x05\x06", 16, "<I", 0xFFFFFFF0),
        "local offset": zip_field(raw, central, 42, "<I", 0x7FFFFFFF),
        # A UTF-8 name that is not UTF-8 (UnicodeDecodeError)
        "name": zip_field(raw, central, 8, "<H", 0x800).replace(b"x.npy", b"\xff.npy"),
    }
    data_at = raw.find(b"x.npy") + 5
    flipped = bytearray(raw)
    for i in range(data_at + 2, data_at + 40, 3):
        flipped[i] ^= 0x5A
    cases["data"] = bytes(flipped)  # zlib.error, or a bad CRC or npy header
    # zipfile reads an archive after other bytes; numpy (and rn.load) not.
    cases["prefix"] = b"xyz" + raw
    for what, content in cases.items():
        msg = load_error(tmp_path, content, ".npz")
        assert "npz archive" in msg or "array 'x' of" in msg, (what, msg)


def test_npz_members_that_are_not_npy(rng, tmp_path):
    # Before: numpy gave such a member as bytes: AttributeError "'bytes'
    # object has no attribute 'dtype'".
    x = floats(rng)
    for members in [{"x.npy": valid_npy(x), "notes.txt": rng.bytes(20)},
                    {"x.npy": b""}, {"x.npy": b"\x93NUMPY"},
                    {"x.npy": valid_npy(x)[:-3]}]:
        load_error(tmp_path, npz(members), ".npz")
    # And member names other than NAME.npy load by their names, as numpy's.
    got = rn.load(io.BytesIO(npz({"dir/y.npy": valid_npy(x), "z": valid_npy(-x)})))
    assert sorted(got) == ["dir/y", "z"]
    np.testing.assert_array_equal(np.asarray(got["z"]), -x)


def test_npz_member_headers(rng, tmp_path):
    # The npy checks apply to every member, named in the message (before:
    # numpy's ValueErrors, UnicodeDecodeError, MemoryError leaked raw).
    data = floats(rng, 4).tobytes()
    for header, what in [
        ({"descr": "<f4", "fortran_order": False, "shape": (2**40,)}, "larger than"),
        ({"descr": "<f4", "fortran_order": False, "shape": (10**9,)}, "truncated npy data"),
        ({"descr": "|O", "fortran_order": False, "shape": (4,)}, "unsupported dtype"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (4,)", "bad npy header"),
    ]:
        good = valid_npy(rng.standard_normal(3))
        raw = npz({"ok.npy": good, "w.npy": npy(header, data)}, zipfile.ZIP_DEFLATED)
        msg = load_error(tmp_path, raw, ".npz", what)
        assert "array 'w' of" in msg, msg


# --- safetensors ----------------------------------------------------------


def st_file(rng):
    x = floats(rng, 6)
    y = rng.integers(-(2**31), 2**31 - 1, size=4).astype("<i4")
    header = {"x": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
              "y": {"dtype": "I32", "shape": [4], "data_offsets": [24, 40]}}
    return header, x.tobytes() + y.tobytes()


@pytest.mark.parametrize("change, what", [
    ({"dtype": ["F32"]}, "unsupported safetensors dtype"),   # before: TypeError unhashable
    ({"dtype": None}, "unsupported safetensors dtype"),
    ({"shape": [2**64, 2**64]}, "larger than"),              # before: OverflowError
    ({"shape": [2**31, 2**31, 0]}, "larger than"),           # before: numpy's ValueError
    ({"shape": [0, 2**31 - 1, 2**31 - 1, 2**31 - 1]}, "too large"),
    ({"shape": [1] * 65}, "more than 64"),                   # before: numpy's ValueError
    ({"shape": [True, 6]}, "not a sequence of ints"),
    ({"shape": 6}, "not a list"),
    ({"data_offsets": [True, 24]}, "bad data_offsets"),
    ({"data_offsets": [0, 24, 24]}, "bad data_offsets"),
    ({"data_offsets": [24, 48]}, "bad data_offsets"),
    ({"data_offsets": [16, 40]}, "leave a hole"),             # before: loaded
], ids=str)
def test_safetensors_bad_entries(change, what, rng, tmp_path):
    header, data = st_file(rng)
    header["x"].update(change)
    load_error(tmp_path, safetensors(header, data), ".safetensors", what)


def test_safetensors_buffer_covered_without_holes_or_overlaps(rng, tmp_path):
    # Before: holes, overlaps and trailing bytes loaded; the format (and its
    # reference implementation) refuses them.
    header, data = st_file(rng)
    alias = json.loads(json.dumps(header))
    alias["z"] = dict(alias["x"])
    hole = json.loads(json.dumps(header))
    hole["x"]["data_offsets"], hole["y"]["data_offsets"] = [8, 32], [32, 48]
    for h, d, what in [(alias, data, "overlap"), (hole, rng.bytes(8) + data, "hole"),
                       (header, data + rng.bytes(5), "ends at byte 40")]:
        load_error(tmp_path, safetensors(h, d), ".safetensors", what)
    # Out of order, without holes: loads.
    x, y = np.frombuffer(data[:24], "<f4"), np.frombuffer(data[24:], "<i4")
    header["y"]["data_offsets"], header["x"]["data_offsets"] = [0, 16], [16, 40]
    got = rn.load(io.BytesIO(safetensors(header, data[24:] + data[:24])))
    np.testing.assert_array_equal(np.asarray(got["x"]), x.reshape(2, 3))
    np.testing.assert_array_equal(np.asarray(got["y"]), y)


def test_safetensors_bad_headers(rng, tmp_path):
    header, data = st_file(rng)
    text = json.dumps(header).encode()
    for content, what in [
        # RecursionError before
        (safetensors(b"[" * 100000 + b"]" * 100000, data), "not JSON"),
        # ValueError 'Exceeds the limit (4300 digits)' before
        (safetensors(b'{"x":{"dtype":"F32","shape":[' + b"9" * 5000
                     + b'],"data_offsets":[0,4]}}', data), "not JSON"),
        (safetensors(text.replace(b'"x"', b'"\xff"'), data), "not UTF-8"),
        (safetensors(b"[1, 2]", data), "not a JSON object"),
        (struct.pack("<Q", 2**64 - 1) + text + data, "header length"),
        (struct.pack("<Q", len(text) + len(data) + 1) + text + data, "past the end"),
        (safetensors(dict(header, __metadata__=[]), data), "metadata"),   # loaded before
        (safetensors(dict(header, __metadata__={"a": 1}), data), "metadata"),
        (safetensors(dict(header, x=[1, 2]), data), "bad safetensors entry"),
        (safetensors(dict(header, x={"dtype": "F32", "shape": [6]}), data),
         "bad safetensors entry"),
    ]:
        load_error(tmp_path, content, ".safetensors", what)
    # null metadata is none, as the format's.
    got, meta = rn.load(io.BytesIO(safetensors(dict(header, __metadata__=None), data)),
                        return_metadata=True)
    assert meta == {} and sorted(got) == ["x", "y"]


def test_safetensors_truncated_everywhere(rng, tmp_path):
    header, data = st_file(rng)
    raw = safetensors(header, data)
    for at in range(len(raw)):
        load_error(tmp_path, raw[:at], ".safetensors")


# --- the fuzzer -----------------------------------------------------------


@pytest.mark.timeout(180)
def test_fuzz_io_short_run_finds_no_defect():
    """About 5 seconds of scripts/fuzz-io.py on a fixed seed: every mutated
    file loads (with numpy's values) or raises a clean '[load]' error; no
    crash, hang or other exception."""
    script = ROOT / "scripts" / "fuzz-io.py"
    out = subprocess.run(
        [sys.executable, str(script), "--seconds", "5", "--seed", "20240611"],
        capture_output=True, text=True, timeout=170,
        env=dict(os.environ, PYTHONWARNINGS="ignore"))
    report = out.stdout + out.stderr
    assert out.returncode == 0, report
    assert "no defects" in out.stdout, report
    files = int(out.stdout.split(" files in ")[0].rsplit(" ", 1)[1])
    assert files >= 100, report
