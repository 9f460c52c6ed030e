"""rn.save / rn.load / rn.savez / rn.savez_compressed / rn.save_safetensors:
round trips in every dtype on fresh random data, files that numpy reads, and
safetensors files checked byte by byte against the format's spec."""

import io
import json
import struct

import numpy as np
import pytest

import runnel as rn
from conftest import ALL_DTYPES
from test_ops import random

NP_NAMES = {
    rn.bool_: "?", rn.uint8: "u1", rn.uint16: "<u2", rn.uint32: "<u4",
    rn.uint64: "<u8", rn.int8: "i1", rn.int16: "<i2", rn.int32: "<i4",
    rn.int64: "<i8", rn.float16: "<f2", rn.float32: "<f4", rn.float64: "<f8",
}
ST_NAMES = {
    rn.bool_: "BOOL", rn.uint8: "U8", rn.uint16: "U16", rn.uint32: "U32",
    rn.uint64: "U64", rn.int8: "I8", rn.int16: "I16", rn.int32: "I32",
    rn.int64: "I64", rn.float16: "F16", rn.bfloat16: "BF16", rn.float32: "F32",
    rn.float64: "F64",
}
SHAPES = [(3, 5), (), (0, 4), (2, 3, 4)]


def make(rng, d, shape):
    """A runnel array of dtype d with random values, and its values as
    numpy (bfloat16: as float32, which holds them exactly)."""
    if d == rn.bfloat16:
        x = rng.uniform(-10, 10, size=shape).astype(np.float32)
        a = rn.array(x).astype(rn.bfloat16, stream=rn.cpu)
        return a, np.asarray(a.astype(rn.float32, stream=rn.cpu))
    x = random(rng, d, shape)
    return rn.array(x, d), x


def values(a):
    if a.dtype == rn.bfloat16:
        return np.asarray(a.astype(rn.float32, stream=rn.cpu))
    return np.asarray(a)


def bf16_bits(f32):
    return (np.asarray(f32, np.float32, order="C").view(np.uint32) >> 16).astype(np.uint16)


def same(a, d, want):
    assert a.dtype == d
    assert a.shape == want.shape
    np.testing.assert_array_equal(values(a), want)


# --- npy ------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_npy_round_trip_every_dtype(d, shape, rng, tmp_path):
    a, want = make(rng, d, shape)
    rn.save(tmp_path / "x.npy", a)
    same(rn.load(tmp_path / "x.npy"), d, want)
    # numpy reads it: the values, or for bfloat16 its bits as V2 (as MLX).
    got = np.load(tmp_path / "x.npy")
    if d == rn.bfloat16:
        assert got.dtype == np.dtype("V2")
        np.testing.assert_array_equal(got.view(np.uint16), bf16_bits(want))
    else:
        assert got.dtype == np.dtype(NP_NAMES[d])
        np.testing.assert_array_equal(got, want)


def test_npy_of_views_and_lazy_arrays(rng, tmp_path):
    x = rng.standard_normal((6, 8)).astype(np.float32)
    with rn.stream(rn.cpu):
        a = rn.array(x)
        cases = {
            "t": (a.T, x.T),
            "flip": (a[::-1, 1::3], x[::-1, 1::3]),
            "lazy": (rn.exp(rn.add(a, 1)), np.exp(x + 1)),
            "bcast": (rn.broadcast_to(a[:1], (3, 8)), np.broadcast_to(x[:1], (3, 8))),
        }
    for name, (v, want) in cases.items():
        rn.save(tmp_path / name, v)  # .npy appended
        np.testing.assert_allclose(np.load(tmp_path / f"{name}.npy"), want, rtol=1e-6)
        np.testing.assert_allclose(np.asarray(rn.load(tmp_path / f"{name}.npy")), want,
                                   rtol=1e-6)


def test_npy_files_written_by_numpy(rng, tmp_path):
    x = rng.integers(-(2**31), 2**31 - 1, size=(4, 5)).astype(">i4")  # big-endian
    np.save(tmp_path / "be.npy", x)
    same(rn.load(str(tmp_path / "be.npy")), rn.int32, x.astype("<i4"))
    f = np.asfortranarray(rng.standard_normal((3, 7)))
    np.save(tmp_path / "f.npy", f)
    same(rn.load(tmp_path / "f.npy"), rn.float64, f)  # float64 kept
    import ml_dtypes

    b = rng.standard_normal(9).astype(ml_dtypes.bfloat16)
    np.save(tmp_path / "bf.npy", b)
    same(rn.load(tmp_path / "bf.npy"), rn.bfloat16, b.astype(np.float32))


def test_npy_to_and_from_file_objects(rng):
    a, want = make(rng, rn.int16, (4, 4))
    buf = io.BytesIO()
    rn.save(buf, a)
    buf.seek(0)
    np.testing.assert_array_equal(np.load(buf), want)
    buf.seek(0)
    same(rn.load(buf), rn.int16, want)  # no name: recognised by its bytes
    buf.seek(0)
    same(rn.load(buf, format="npy"), rn.int16, want)


def test_save_appends_the_extension_only_when_missing(rng, tmp_path):
    a, _ = make(rng, rn.float32, (3,))
    rn.save(str(tmp_path / "plain"), a)
    rn.save(str(tmp_path / "given.npy"), a)
    rn.savez(str(tmp_path / "z"), a)
    rn.save_safetensors(str(tmp_path / "s"), {"a": a})
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["given.npy", "plain.npy", "s.safetensors", "z.npz"]


# --- npz ------------------------------------------------------------------


@pytest.mark.parametrize("compressed", [False, True], ids=["savez", "savez_compressed"])
def test_npz_round_trip_every_dtype(compressed, rng, tmp_path):
    arrays, wants = {}, {}
    for i, d in enumerate(ALL_DTYPES):
        arrays[f"a{i}"], wants[f"a{i}"] = make(rng, d, SHAPES[i % len(SHAPES)])
    first, first_want = make(rng, rn.float32, (2, 2))
    save = rn.savez_compressed if compressed else rn.savez
    save(tmp_path / "z.npz", first, **arrays)
    got = rn.load(tmp_path / "z.npz")
    assert isinstance(got, dict) and set(got) == {"arr_0", *arrays}
    same(got["arr_0"], rn.float32, first_want)
    for k, a in arrays.items():
        same(got[k], a.dtype, wants[k])
    with np.load(tmp_path / "z.npz") as z:
        np.testing.assert_array_equal(z["arr_0"], first_want)
        for i, d in enumerate(ALL_DTYPES):
            v = z[f"a{i}"]
            if d == rn.bfloat16:
                np.testing.assert_array_equal(v.view(np.uint16), bf16_bits(wants[f"a{i}"]))
            else:
                np.testing.assert_array_equal(v, wants[f"a{i}"])


def test_npz_files_written_by_numpy_and_file_objects(rng, tmp_path):
    x = rng.standard_normal((3, 3)).astype(np.float16)
    y = rng.integers(0, 255, size=7).astype(np.uint8)
    np.savez(tmp_path / "n.npz", x=x, y=y)
    got = rn.load(tmp_path / "n.npz")
    same(got["x"], rn.float16, x)
    same(got["y"], rn.uint8, y)
    buf = io.BytesIO()
    rn.savez_compressed(buf, w=rn.array(y))
    buf.seek(0)
    same(rn.load(buf)["w"], rn.uint8, y)


# --- safetensors ----------------------------------------------------------


def parse_safetensors(raw):
    """The file split as the spec describes it: an 8-byte little-endian
    header size N, N bytes of JSON header, then the byte buffer."""
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    return n, header, raw[8 + n :]


def test_safetensors_round_trip_and_spec_layout(rng, tmp_path):
    arrays, wants = {}, {}
    for i, d in enumerate(ALL_DTYPES):
        arrays[f"t.{i}"], wants[f"t.{i}"] = make(rng, d, SHAPES[i % len(SHAPES)])
    meta = {"format": "mlx", "note": "héllo"}
    rn.save_safetensors(tmp_path / "m.safetensors", arrays, metadata=meta)
    raw = (tmp_path / "m.safetensors").read_bytes()
    n, header, data = parse_safetensors(raw)
    assert raw[8:9] == b"{" and (8 + n) % 8 == 0  # padded with spaces
    assert header.pop("__metadata__") == meta
    spans = []
    for name, a in arrays.items():
        info = header[name]
        assert info["dtype"] == ST_NAMES[a.dtype]
        assert info["shape"] == list(a.shape)
        begin, end = info["data_offsets"]
        spans.append((begin, end))
        want = wants[name]
        expect = (bf16_bits(want) if a.dtype == rn.bfloat16
                  else np.asarray(want, NP_NAMES[a.dtype], order="C")).tobytes()
        assert data[begin:end] == expect  # little-endian, row-major
    # The buffer is covered entirely, without holes or overlaps.
    spans.sort()
    assert spans[0][0] == 0 and spans[-1][1] == len(data)
    assert all(e == b for (_, e), (b, _) in zip(spans, spans[1:]))

    got, got_meta = rn.load(tmp_path / "m.safetensors", return_metadata=True)
    assert got_meta == meta
    for name, a in arrays.items():
        same(got[name], a.dtype, wants[name])
    assert set(rn.load(tmp_path / "m.safetensors")) == set(arrays)


def test_safetensors_written_by_hand(rng):
    # Tensors out of order in the buffer, and no metadata.
    x = rng.standard_normal((2, 3)).astype(np.float32)
    y = rng.integers(-5, 5, size=4).astype(np.int64)
    bf = rng.standard_normal(3).astype(np.float32)
    bits = bf16_bits(bf)
    blob = y.tobytes() + bits.tobytes() + x.tobytes()
    header = {
        "x": {"dtype": "F32", "shape": [2, 3], "data_offsets": [38, 62]},
        "y": {"dtype": "I64", "shape": [4], "data_offsets": [0, 32]},
        "b": {"dtype": "BF16", "shape": [3], "data_offsets": [32, 38]},
    }
    text = json.dumps(header).encode()
    raw = struct.pack("<Q", len(text)) + text + blob
    got, meta = rn.load(io.BytesIO(raw), format="safetensors", return_metadata=True)
    assert meta == {}
    same(got["x"], rn.float32, x)
    same(got["y"], rn.int64, y)
    same(got["b"], rn.bfloat16, (bits.astype(np.uint32) << 16).view(np.float32))


def test_safetensors_to_file_objects(rng):
    a, want = make(rng, rn.bfloat16, (5,))
    buf = io.BytesIO()
    rn.save_safetensors(buf, {"w": a})
    buf.seek(0)
    same(rn.load(buf)["w"], rn.bfloat16, want)  # recognised by its bytes


def corrupt(raw, **changes):
    n, header, data = parse_safetensors(raw)
    header["a"].update(changes)
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def test_load_errors(rng, tmp_path):
    a = rn.array([1.0, 2.0])
    rn.save_safetensors(tmp_path / "ok.safetensors", {"a": a})
    raw = (tmp_path / "ok.safetensors").read_bytes()
    bad = {
        "short": raw[:5],
        "header past the end": struct.pack("<Q", 10**6) + raw[8:],
        "not json": struct.pack("<Q", 3) + b"{no" + raw[11:],
        "offsets past the end": corrupt(raw, data_offsets=[0, 800]),
        "offsets not the size": corrupt(raw, data_offsets=[0, 4]),
        "unsupported dtype": corrupt(raw, dtype="F8_E4M3"),
        "bad shape": corrupt(raw, shape=[-1]),
    }
    for what, content in bad.items():
        with pytest.raises(ValueError, match=r"\[load\]"):
            rn.load(io.BytesIO(content), format="safetensors")
    np.save(tmp_path / "c.npy", np.ones(3, np.complex64))
    with pytest.raises(ValueError, match=r"\[load\] unsupported dtype complex64"):
        rn.load(tmp_path / "c.npy")
    (tmp_path / "x.bin").write_bytes(b"")
    with pytest.raises(ValueError, match=r"\[load\] cannot infer the format"):
        rn.load(tmp_path / "x.bin")
    with pytest.raises(ValueError, match=r"\[load\] unsupported format"):
        rn.load(tmp_path / "ok.safetensors", format="gguf")
    rn.save(tmp_path / "one.npy", a)
    with pytest.raises(ValueError, match=r"\[load\] metadata"):
        rn.load(tmp_path / "one.npy", return_metadata=True)
    with pytest.raises(TypeError, match=r"\[load\] stream"):
        rn.load(tmp_path / "one.npy", stream="bad")
    with pytest.raises(TypeError, match=r"\[load\] file"):
        rn.load(3)
    assert rn.load(tmp_path / "one.npy", stream=rn.cpu).tolist() == [1.0, 2.0]


def test_save_errors(tmp_path):
    a = rn.array([1, 2])
    with pytest.raises(TypeError, match=r"\[save\] arr"):
        rn.save(tmp_path / "x.npy", [1, 2])
    with pytest.raises(TypeError, match=r"\[save\] file"):
        rn.save(3, a)
    with pytest.raises(TypeError, match=r"\[savez\] array 'b'"):
        rn.savez(tmp_path / "z", a, b=np.ones(2))
    with pytest.raises(ValueError, match=r"\[savez\] the name arr_0"):
        rn.savez(tmp_path / "z", a, arr_0=a)
    with pytest.raises(TypeError, match=r"\[save_safetensors\] metadata"):
        rn.save_safetensors(tmp_path / "s", {"a": a}, metadata={"k": 1})
    with pytest.raises(TypeError, match=r"\[save_safetensors\] arrays"):
        rn.save_safetensors(tmp_path / "s", [a])
    with pytest.raises(TypeError, match=r"\[save_safetensors\] names"):
        rn.save_safetensors(tmp_path / "s", {1: a})
    with pytest.raises(ValueError, match=r"\[save_safetensors\] '__metadata__'"):
        rn.save_safetensors(tmp_path / "s", {"__metadata__": a})


def test_bfloat16_without_ml_dtypes(rng, tmp_path, monkeypatch):
    import sys

    a, want = make(rng, rn.bfloat16, (4, 5))
    monkeypatch.setitem(sys.modules, "ml_dtypes", None)  # import fails
    rn.save(tmp_path / "b.npy", a)
    rn.save_safetensors(tmp_path / "b.safetensors", {"b": a})
    rn.savez(tmp_path / "b.npz", b=a)
    same(rn.load(tmp_path / "b.npy"), rn.bfloat16, want)
    same(rn.load(tmp_path / "b.safetensors")["b"], rn.bfloat16, want)
    same(rn.load(tmp_path / "b.npz")["b"], rn.bfloat16, want)
    np.testing.assert_array_equal(np.load(tmp_path / "b.npy").view(np.uint16),
                                  bf16_bits(want))
