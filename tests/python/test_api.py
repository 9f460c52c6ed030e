"""The package as a whole: docstrings everywhere, generated type stubs
shipped, every op's stream= (accepted forms run, anything else a TypeError
naming the op), and no nanobind leak warnings at interpreter exit."""

import ast
import pathlib
import re
import subprocess
import sys
import threading
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


# Every op of the package, by name: the public callables of rn and rn.random
# that run work of the op library, and the array methods that do. Each must
# take a keyword stream=. A new public callable must be added here or to
# NOT_OPS (test_every_public_callable_is_classified), so that an op without
# stream= cannot slip through.
OP_NAMES = {
    "rn": """
        abs add addmm all any arange arctan2 argmax argmin astype
        broadcast_arrays broadcast_to ceil concatenate contiguous copy cos
        cumprod cumsum divide equal erf exp expand_dims expm1 eye flatten floor
        floor_divide full full_like gather greater greater_equal identity isinf
        isnan less less_equal linspace load log log1p logical_and logical_not
        logical_or logsumexp matmul max maximum mean min minimum moveaxis
        multiply negative nonzero not_equal ones ones_like pad power prod
        put_along_axis reciprocal remainder repeat reshape round rsqrt scatter
        scatter_add scatter_max scatter_min scatter_prod sigmoid sign sin
        softmax split sqrt square squeeze stack std subtract sum swapaxes take
        take_along_axis tan tanh tile transpose var where zeros zeros_like
    """.split(),
    "rn.random": "bernoulli bits normal randint split uniform".split(),
    "rn.array": """
        abs all any argmax argmin astype cos cumprod cumsum exp flatten log
        log1p logsumexp max mean min moveaxis prod reciprocal reshape round
        rsqrt sin split sqrt square squeeze std sum swapaxes transpose var
    """.split(),
}

# Public callables that are no op: the model's types and functions, waits,
# memory figures, I/O that writes, and the shims.
NOT_OPS = {
    "rn": """
        Device DeviceType Dtype Event Stream StreamContext ThreadLocalStream
        array async_eval clear_cache clear_streams default_device
        default_stream device_count device_info eval finfo from_dlpack
        get_active_memory get_cache_memory get_memory_limit get_peak_memory
        iinfo is_available new_stream new_thread_local_stream
        new_thread_unsafe_stream reset_peak_memory save save_safetensors savez
        savez_compressed set_default_device set_default_stream
        set_memory_limit stream stream_priority_range synchronize
    """.split(),
    # key(seed) builds a constant, as in MLX (no stream=); seed sets state.
    "rn.random": "key seed".split(),
    "rn.array": "item tolist".split(),
}

# Ops the generic calls below cannot make up arguments for: load reads a
# file (test_load_honours_stream covers it).
NOT_CALLED = {"rn.load"}


def module_of(prefix):
    return {"rn": rn, "rn.random": rn.random, "rn.array": rn.array}[prefix]


def public_names(prefix):
    """The public callables of rn or rn.random, or rn.array's methods."""
    obj = module_of(prefix)
    if prefix == "rn.array":
        return {n for n, v in vars(obj).items() if not n.startswith("_")
                and getattr(v, "__nb_signature__", None) is not None}
    return {n for n in dir(obj) if not n.startswith("_")
            and callable(getattr(obj, n))
            and not isinstance(getattr(obj, n), types.ModuleType)}


def signature_of(obj):
    sig = getattr(obj, "__nb_signature__", None)
    if sig is not None:
        return sig[0][0]
    import inspect

    return f"def f{inspect.signature(obj)}"


def takes_keyword_stream(sig):
    """Whether a parameter named stream (not positional-only) is there."""
    m = re.search(r"[(, ]stream(:[^,)=]*)?(\s*=\s*[^,)]*)?[,)]", sig)
    return m is not None and "/" not in sig[m.end():].split(")")[0]


def test_every_public_callable_is_classified():
    for prefix in OP_NAMES:
        ops, others = set(OP_NAMES[prefix]), set(NOT_OPS[prefix])
        assert not ops & others, ops & others
        found = public_names(prefix)
        assert found - ops - others == set(), (
            f"{prefix}: classify these in test_api.py (an op needs stream=)")
        assert ops | others <= found, (ops | others) - found


@pytest.mark.parametrize("label", [f"{p}.{n}" for p in OP_NAMES
                                   for n in OP_NAMES[p]])
def test_every_op_takes_a_keyword_stream(label):
    prefix, name = label.rsplit(".", 1)
    sig = signature_of(getattr(module_of(prefix), name))
    assert takes_keyword_stream(sig), f"{label} takes no keyword stream=: {sig}"


def op_functions():
    """The ops of OP_NAMES that the generic calls below can call."""
    found = []
    for prefix, names in OP_NAMES.items():
        obj = module_of(prefix)
        for name in names:
            label = f"{prefix}.{name}"
            if label in NOT_CALLED:
                continue
            fn = getattr(obj, name)
            found.append((label, name, fn, signature_of(fn)))
    return found


OPS = op_functions()


def call(name, fn, sig, stream):
    args, kwargs = arguments(name, sig)
    return fn(*args, **kwargs, stream=stream)


def test_every_op_is_covered():
    labels = {label for label, *_ in OPS}
    assert len(OPS) > 60
    for expected in ["rn.add", "rn.sum", "rn.reshape", "rn.matmul", "rn.take",
                     "rn.nonzero", "rn.broadcast_arrays", "rn.random.normal",
                     "rn.array.sum", "rn.array.astype", "rn.array.reshape",
                     "rn.array.exp"]:
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
def test_bad_arguments_name_the_op(entry):
    """Every required argument of every op, replaced by a value of no valid
    type, raises TypeError or ValueError naming the op (not nanobind's
    "incompatible function arguments")."""
    label, name, fn, sig = entry
    args, kwargs = arguments(name, sig)
    first = 1 if label.startswith("rn.array.") else 0  # self
    for i in range(first, len(args)):
        for bad in (None, object()):
            if bad is None and name in NONE_IS_VALID.get(i, ()):
                continue
            trial = list(args)
            trial[i] = bad
            with pytest.raises((TypeError, ValueError)) as e:
                rn.eval(fn(*trial, **kwargs))
            assert str(e.value).startswith(f"[{name}]"), (i, bad, str(e.value))


# Positions (after self) where None is a valid argument.
NONE_IS_VALID = {1: ("squeeze", "transpose")}


def stream_forms():
    return [None, rn.cpu, rn.Device(rn.cpu), rn.new_stream(rn.cpu),
            rn.new_thread_local_stream(rn.cpu)]


@pytest.mark.parametrize("entry", OPS, ids=[e[0] for e in OPS])
def test_stream_accepts_every_form(entry):
    label, name, fn, sig = entry
    results = []
    with rn.stream(rn.cpu):
        for form in stream_forms():
            out = call(name, fn, sig, form)
            rn.eval(out)
            parts = out if isinstance(out, (list, tuple)) else [out]
            results.append([np.asarray(x.astype(rn.float32)) for x in parts])
    # Every form computes the same values.
    for other in results[1:]:
        assert len(other) == len(results[0])
        for x, y in zip(results[0], other):
            np.testing.assert_array_equal(x, y)


# One op or more of each family, with inputs made (and evaluated) on another
# stream beforehand, and numpy's answer.
X = np.array([[1.0, -2.0, 3.0], [0.5, 0.0, -1.5]], np.float32)
Y = np.array([[2.0, 1.0, -1.0], [4.0, 0.25, 3.0]], np.float32)


def representative_ops():
    def inputs():
        aux = rn.new_stream(rn.cpu)
        x = rn.copy(rn.array(X), stream=aux)
        y = rn.copy(rn.array(Y), stream=aux)
        idx = rn.copy(rn.array([2, 0]), stream=aux)
        key = rn.random.key(5)
        rn.eval(x, y, idx, key)
        return x, y, idx, key

    def normal_ref():
        return np.array(rn.random.normal((3, 2), key=rn.random.key(5),
                                         stream=rn.cpu))

    return {
        "creation.arange": (lambda x, y, i, k, s: rn.arange(0, 6, stream=s),
                            lambda: np.arange(6)),
        "creation.full": (lambda x, y, i, k, s: rn.full((2, 2), 7.0, stream=s),
                          lambda: np.full((2, 2), 7.0)),
        "unary.exp": (lambda x, y, i, k, s: rn.exp(x, stream=s),
                      lambda: np.exp(X)),
        "unary.method.sqrt": (lambda x, y, i, k, s: rn.abs(x).sqrt(stream=s),
                              lambda: np.sqrt(np.abs(X))),
        "binary.add": (lambda x, y, i, k, s: rn.add(x, y, stream=s),
                       lambda: X + Y),
        "binary.where": (lambda x, y, i, k, s: rn.where(rn.greater(x, 0, stream=s), x, y, stream=s),
                         lambda: np.where(X > 0, X, Y)),
        "reduction.sum": (lambda x, y, i, k, s: rn.sum(x, axis=0, stream=s),
                          lambda: X.sum(axis=0)),
        "reduction.method.argmax": (lambda x, y, i, k, s: x.argmax(1, stream=s),
                                    lambda: X.argmax(1)),
        "shape.concatenate": (
            lambda x, y, i, k, s: rn.concatenate([x, y], 1, stream=s),
            lambda: np.concatenate([X, Y], 1)),
        "shape.reshape": (lambda x, y, i, k, s: rn.reshape(x, (3, 2), stream=s),
                          lambda: X.reshape(3, 2)),
        "indexing.take": (lambda x, y, i, k, s: rn.take(x, i, axis=1, stream=s),
                          lambda: X[:, [2, 0]]),
        "indexing.nonzero": (lambda x, y, i, k, s: rn.nonzero(x, stream=s),
                             lambda: np.nonzero(X)),
        "linalg.matmul": (lambda x, y, i, k, s: rn.matmul(x, y.T, stream=s),
                          lambda: X @ Y.T),
        "random.normal": (
            lambda x, y, i, k, s: rn.random.normal((3, 2), key=k, stream=s),
            normal_ref),
    }, inputs


REPRESENTATIVE, make_inputs = representative_ops()

# Each stream form, and the stream the work must land on.
BINDING_FORMS = {
    "stream": lambda: (lambda s: (s, s))(rn.new_stream(rn.cpu)),
    "device": lambda: (rn.Device(rn.cpu), rn.default_stream(rn.cpu)),
    "device_type": lambda: (rn.cpu, rn.default_stream(rn.cpu)),
    "thread_local": lambda: (lambda t: (t, t.__runnel_stream__()))(
        rn.new_thread_local_stream(rn.cpu)),
    "none_in_context": lambda: (None, rn.new_stream(rn.cpu)),
}


def assert_bound_to(target, make):
    """make() builds work that must run on `target`: while a gate holds
    `target`, evaluating the result does not finish; once it opens, it
    does."""
    gate = rn._testing.block(target)
    try:
        out = make()
        parts = list(out) if isinstance(out, (list, tuple)) else [out]
        done = threading.Event()
        t = threading.Thread(target=lambda: (rn.eval(parts), done.set()),
                             daemon=True)
        t.start()
        assert not done.wait(0.05), "the result did not wait for its stream"
    finally:
        gate.open()
    t.join(30)
    assert done.is_set()
    return parts


@pytest.mark.parametrize("form", BINDING_FORMS)
@pytest.mark.parametrize("op", REPRESENTATIVE)
def test_stream_forms_bind_the_work(op, form):
    """For one op or more of each family, every stream= form puts the work on
    the stream it names: a gate on that stream holds the result back."""
    build, want = REPRESENTATIVE[op]
    x, y, i, k = make_inputs()
    arg, target = BINDING_FORMS[form]()
    if form == "none_in_context":
        with rn.stream(target):
            parts = assert_bound_to(target, lambda: build(x, y, i, k, None))
    else:
        parts = assert_bound_to(target, lambda: build(x, y, i, k, arg))
    expected = want()
    expected = list(expected) if isinstance(expected, tuple) else [expected]
    assert len(parts) == len(expected)
    for got, e in zip(parts, expected):
        np.testing.assert_allclose(np.array(got), e, rtol=1e-6)


def test_load_honours_stream(tmp_path):
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.save(tmp_path / "x.npy", x)
    np.savez(tmp_path / "x.npz", a=x, b=x + 1)
    rn.save_safetensors(tmp_path / "x.safetensors", {"a": rn.array(x)})
    s = rn.new_stream(rn.cpu)
    got = assert_bound_to(s, lambda: rn.load(tmp_path / "x.npy", stream=s))
    np.testing.assert_array_equal(np.array(got[0]), x)
    d = assert_bound_to(
        s, lambda: list(rn.load(tmp_path / "x.npz", stream=s).values()))
    np.testing.assert_array_equal(np.array(d[1]), x + 1)
    tls = rn.new_thread_local_stream(rn.cpu)
    arrays, meta = rn.load(tmp_path / "x.safetensors", return_metadata=True,
                           stream=tls)
    np.testing.assert_array_equal(np.array(arrays["a"]), x)
    assert rn.load(tmp_path / "x.npy", stream=rn.cpu).shape == (2, 3)
    with pytest.raises(TypeError, match=r"\[load\] stream"):
        rn.load(tmp_path / "x.npy", stream=1.5)


# --- leaks at exit --------------------------------------------------------

LEAK_SCRIPT = r"""
import faulthandler
faulthandler.dump_traceback_later(45, exit=True)  # a hang shows where
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
