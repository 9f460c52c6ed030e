"""The package as a whole: docstrings everywhere, generated type stubs
shipped, every op's stream= (accepted forms run, anything else a TypeError
naming the op), and no nanobind leak warnings at interpreter exit."""

import ast
import pathlib
import re
import subprocess
import sys
import types

import numpy as np
import pytest

import runnel as rn

MODULES = {"runnel": rn, "runnel.random": rn.random, "runnel.cuda": rn.cuda,
           "runnel.metal": rn.metal, "runnel.io": rn.io}


def docs(f):
    """The docstrings of a callable: one per overload for nanobind functions
    (whose __doc__ always holds the signature), else __doc__."""
    sig = getattr(f, "__nb_signature__", None)
    if sig is not None:
        return [entry[1] for entry in sig]
    return [f.__doc__]


def documented(f):
    return all(d and d.strip() for d in docs(f))


def public_callables():
    out = []
    for label, mod in MODULES.items():
        for name in dir(mod):
            obj = getattr(mod, name)
            if name.startswith("_") or isinstance(obj, types.ModuleType):
                continue
            if callable(obj):
                out.append((f"{label}.{name}", obj))
    return out


def class_members(cls):
    """What a class defines itself: nanobind methods and properties, and
    functions of runnel's Python classes (not inherited ones)."""
    for name, v in vars(cls).items():
        kind = type(v).__name__
        if kind in ("nb_method", "nb_func"):
            yield name, v
        elif isinstance(v, types.FunctionType) and v.__module__.startswith("runnel"):
            yield name, v
        elif isinstance(v, property) or "property" in kind:
            yield name, v


def test_every_public_callable_has_a_docstring():
    missing = []
    names = set()
    for name, obj in public_callables():
        names.add(name)
        if not documented(obj):
            missing.append(name)
        if isinstance(obj, type):
            for m, v in class_members(obj):
                doc = v.__doc__ if "property" in type(v).__name__ or isinstance(
                    v, property) else None
                ok = (doc and doc.strip()) if doc is not None else documented(v)
                if not ok:
                    missing.append(f"{name}.{m}")
    assert not missing, f"no docstring: {missing}"
    # The walk saw the API, not an empty module.
    for expected in ["runnel.add", "runnel.array", "runnel.Stream", "runnel.finfo",
                     "runnel.from_dlpack", "runnel.load", "runnel.random.normal"]:
        assert expected in names


def test_module_docstrings():
    for mod in [*MODULES.values(), rn._testing]:
        assert mod.__doc__ and mod.__doc__.strip(), mod.__name__


# --- stubs ----------------------------------------------------------------


def test_generated_stubs_are_shipped():
    pkg = pathlib.Path(rn._core.__file__).parent
    core = pkg / "_core.pyi"
    random = pkg / "random.pyi"
    assert core.is_file() and random.is_file() and (pkg / "py.typed").is_file()
    text = core.read_text()
    ast.parse(text)
    ast.parse(random.read_text())
    assert "def add(" in text and "class array:" in text
    assert "def normal(" in random.read_text()
    # Generated from the extension: every public function of _core is there.
    for name in dir(rn._core):
        obj = getattr(rn._core, name)
        if not name.startswith("_") and type(obj).__name__ == "nb_func":
            assert f"def {name}(" in text, name


# --- stream= --------------------------------------------------------------

A = [[1.0, 2.0], [3.0, 4.0]]


def arg_for(fn_name, param):
    """A valid argument for a required parameter, by its name."""
    a = rn.array(A)
    table = {
        "a": a, "b": a, "c": a, "x": a, "y": a, "array": a,
        "condition": rn.array([[True, False], [False, True]]),
        "arrays": [a, a],
        "shape": (2, 2), "vals": 1.5, "start": 0.0, "stop": 4.0, "n": 2,
        "dtype": rn.float16, "axis": 0, "source": 0, "destination": 1,
        "axis1": 0, "axis2": 1, "indices_or_sections": 2, "reps": (2, 1),
        "pad_width": 1, "repeats": 2, "low": 0, "high": 10,
        "key": rn.random.key(7),
        "indices": rn.array([3, 0]) if fn_name.endswith("along_axis") else rn.array([1, 0]),
        "values": rn.array([9.0, 8.0]), "updates": rn.ones((2, 1, 2)),
        "axes": [0], "slice_sizes": [1, 2],
    }
    if param not in table:
        pytest.fail(f"test_api.py: add an argument for {fn_name}({param}=...)")
    return table[param]


# Arguments for *args parameters, by name.
VARARGS = {"arrays": lambda: [rn.array(A), rn.array(A)], "shape": lambda: [4],
           "axes": lambda: []}


def arguments(name, sig):
    """Valid positional arguments (and a key= for random ops, so that every
    stream form draws the same numbers) from a nanobind signature such as
    'def f(a: object, b: object = \\0, *, stream: ...)'."""
    inside = sig[sig.index("(") + 1 : sig.rindex(")")]
    args, kwargs = [], {}
    if "key: " in inside:
        kwargs["key"] = rn.random.key(11)
    for p in inside.split(", "):
        if p == "self":
            args.append(rn.array(A))
            continue
        if p in ("*", "/") or "=" in p:
            break
        if p.startswith("*"):
            args += VARARGS[p[1:]]()
            break
        pname = p.split(":")[0]
        if pname == "key":
            kwargs.pop("key")
        args.append(arg_for(name, pname))
    return args, kwargs


def op_functions():
    """Every op: module functions of rn and rn.random taking a keyword-only
    stream=, and array methods taking stream=."""
    found = []
    for mod, prefix in [(rn, "rn"), (rn.random, "rn.random")]:
        for name in sorted(dir(mod)):
            obj = getattr(mod, name)
            sig = getattr(obj, "__nb_signature__", None)
            if sig and re.search(r"\*[a-z_]*, [^)]*\bstream: ", sig[0][0]):
                found.append((f"{prefix}.{name}", name, obj, sig[0][0]))
    for name, v in sorted(vars(rn.array).items()):
        sig = getattr(v, "__nb_signature__", None)
        if sig and "stream:" in sig[0][0] and not name.startswith("__"):
            found.append((f"rn.array.{name}", name, v, sig[0][0]))
    return found


OPS = op_functions()


def call(name, fn, sig, stream):
    args, kwargs = arguments(name, sig)
    return fn(*args, **kwargs, stream=stream)


def test_every_op_is_covered():
    labels = {label for label, *_ in OPS}
    assert len(OPS) > 60
    for expected in ["rn.add", "rn.sum", "rn.reshape", "rn.matmul", "rn.take",
                     "rn.broadcast_arrays", "rn.random.normal", "rn.array.sum",
                     "rn.array.astype", "rn.array.reshape"]:
        assert expected in labels, expected
    for skipped in ["rn.synchronize", "rn.new_stream", "rn.default_stream"]:
        assert skipped not in labels  # they take a stream, they run no op


@pytest.mark.parametrize("entry", OPS, ids=[e[0] for e in OPS])
def test_stream_rejects_other_types(entry):
    label, name, fn, sig = entry
    for bad in ["bad", 0, 1.5, [rn.cpu], object()]:
        with pytest.raises(TypeError) as e:
            call(name, fn, sig, bad)
        msg = str(e.value)
        assert f"[{name}]" in msg and "stream" in msg, msg


@pytest.mark.parametrize("entry", OPS, ids=[e[0] for e in OPS])
def test_stream_accepts_every_form(entry):
    label, name, fn, sig = entry
    forms = [None, rn.cpu, rn.Device(rn.cpu), rn.new_stream(rn.cpu),
             rn.new_thread_local_stream(rn.cpu)]
    results = []
    with rn.stream(rn.cpu):
        for form in forms:
            out = call(name, fn, sig, form)
            rn.eval(out)
            parts = out if isinstance(out, (list, tuple)) else [out]
            results.append([np.asarray(x.astype(rn.float32)) for x in parts])
    # Every form computes the same values.
    for other in results[1:]:
        assert len(other) == len(results[0])
        for x, y in zip(results[0], other):
            np.testing.assert_array_equal(x, y)


# --- leaks at exit --------------------------------------------------------

LEAK_SCRIPT = r"""
import numpy as np
import runnel as rn
a = rn.arange(0.0, 64.0, 1.0, stream=rn.cpu).reshape(8, 8)
s = rn.new_stream(rn.cpu)
t = rn.new_thread_local_stream(rn.cpu)
b = rn.sum(rn.exp(rn.multiply(a, 0.01, stream=s), stream=s), axis=0, stream=t)
rn.eval(b)
c = rn.add(b, 1)
rn.async_eval(c)
e = rn.Event()
e.record(s)
e.synchronize()
with rn.stream(s):
    d = rn.matmul(a, a.T) + rn.random.normal((8, 8), key=rn.random.key(1))
rn.synchronize(s)
n = np.asarray(a)
f = rn.from_dlpack(np.ones(4))
g = rn.from_dlpack(n)
h = np.from_dlpack(a)
dev = rn.default_device()
gs = rn.new_stream(rn.cpu)
gate = rn._testing.block(gs)
pending = rn.add(a, f[0], stream=gs)
rn.async_eval(pending)
fi = rn.finfo(rn.bfloat16)
print(float(np.asarray(d).sum()) != 0.0, b.shape)
"""


def test_no_leak_warnings_at_exit():
    r = subprocess.run([sys.executable, "-c", LEAK_SCRIPT], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "True (8,)"
    assert "leaked" not in r.stderr, r.stderr


def test_no_leak_warnings_with_work_pending_at_exit():
    script = r"""
import runnel as rn
s = rn.new_stream(rn.cpu)
gate = rn._testing.block(s)
x = rn.exp(rn.ones((256, 256)), stream=s)
rn.async_eval(x)
keep = [rn.Device(rn.cpu), rn.cpu, s, rn.new_thread_local_stream(rn.cpu), x]
"""
    r = subprocess.run([sys.executable, "-c", script], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "leaked" not in r.stderr, r.stderr
