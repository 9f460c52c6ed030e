#!/usr/bin/env python3
"""The bad-input table: every public Python entry point of runnel given wrong
types, shapes, dtypes, axes, devices, streams and sizes, and what it raised.

    python scripts/bad-input.py [--markdown PATH] [--only NAME,...]
                                [--sample N] [--jobs N] [--json PATH]

Every public callable is enumerated (``dir(rn)`` not starting with ``_``,
``rn.random.*``, ``rn.linalg.*`` when present, array methods and operators,
``Stream``/``Device``/``Event``/``StreamContext`` constructors and methods).
Each is given a good call (checked: the baseline must pass) and then bad
variants derived from its parameters' names. Calls run in child processes
with a timeout per call, many per child; when a child dies or hangs, the call
it was running is rerun alone to name the culprit, and the batch goes on in a
fresh child.

Outcomes (the contract: bad arguments fail at the call with ValueError for a
wrong shape, dtype, axis, device or stream, TypeError for a wrong Python
type, IndexError for an index out of range, MemoryError / ValueError for a
size too large, OverflowError for an integer too large for its dtype; the
message starts with ``[name]``):

    ok          the expected exception, message "[name] ..."
    ok-lazy     a size or index error raised by the eval that follows the
                call (lazy ops: by design), expected type and "[name]"
    nb-dump     nanobind's "incompatible function arguments" TypeError
    no-bracket  the expected type, but the message lacks "[name]"
    wrong-type  another exception type than the contract's
    returned    no error at all (judged case by case: see ACCEPTED)
    crash       the child process died (signal or abort)
    hang        no answer within the timeout
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

# ---------------------------------------------------------------------------
# What runs in the child before the calls: good operands.
PRELUDE = r"""
import os, sys, json, traceback
import numpy as np
import operator as op
import runnel as rn
rn.set_memory_limit(LIMIT)
A = rn.ones((2, 3))                     # float32 (2, 3)
A2 = rn.full((2, 3), 2.0)
B = rn.ones((3, 4))                     # matmul partner of A
S = rn.ones((3, 3))                     # square
V = rn.arange(3.0)                      # float32 (3,)
I = rn.array([0, 1])                    # int32 indices
IA = rn.array([[0, 1, 0], [1, 0, 1]])   # int32 (2, 3), take_along_axis
BOOL = rn.array([[True, False, True], [False, True, False]])
K = rn.random.key(0)
ST = rn.new_stream(rn.cpu)
EV = rn.Event()
EVT = rn.Event(enable_timing=True)
EVT2 = rn.Event(enable_timing=True)
EVT.record(ST)
EVT2.record(ST)
NPOBJ = np.array([object(), object()], dtype=object)
DEAD = 2**30                            # a stream index no stream has
"""

# Bad values by kind: (label, expression, expected exception types).
TYPE_BAD = [
    ("type:str", "'x'"),
    ("type:None", "None"),
    ("type:list-str", "['a', 'b']"),
    ("type:object", "object()"),
    ("type:np-object", "NPOBJ"),
]
SIZE_EXC = ("MemoryError", "ValueError", "OverflowError")
SHAPE_BAD = [
    ("shape:negative", "(2, -3)", ("ValueError",)),
    ("shape:float-dim", "(2.5, 3)", ("TypeError",)),
    ("size:dim>int32", "(2**31, 2**31)", SIZE_EXC),
    ("size:2**62-elems", "(2**31 - 1, 2**31 - 1)", SIZE_EXC),
    ("size:overflow64", "(2**31 - 1,) * 3", SIZE_EXC),
    ("size:2**40-bytes", "(2**20, 2**18)", SIZE_EXC),
    ("size:dim>int64", "(2**70,)", SIZE_EXC),
]
DTYPE_BAD = [
    ("dtype:numpy", "np.float32", ("TypeError",)),
    ("dtype:str", "'float32'", ("TypeError",)),
]
AXIS_BAD = [
    ("axis:out-of-range", "5", ("ValueError",)),
    ("axis:negative-oor", "-5", ("ValueError",)),
    ("axis:float", "1.0", ("TypeError",)),
    ("axis:huge", "2**40", ("ValueError",)),
]
AXES_BAD = [
    ("axis:repeated", "(0, 0)", ("ValueError",)),
    ("axis:out-of-range", "(0, 5)", ("ValueError",)),
]
DEVICE_BAD = [
    ("device:gpu7", "rn.Device(rn.gpu, 7)", ("ValueError",)),
    ("device:gpu", "rn.gpu", ("ValueError",)),
    ("device:cpu3", "rn.Device(rn.cpu, 3)", ("ValueError",)),
    ("device:negative", "rn.Device(rn.cpu, -1)", ("ValueError",)),
]
STREAM_BAD = [
    ("stream:str", "'cpu'", ("TypeError",)),
    ("stream:int-dead", "DEAD", ("TypeError",)),
    ("stream:gpu7", "rn.Device(rn.gpu, 7)", ("ValueError",)),
    ("stream:gpu", "rn.gpu", ("ValueError",)),
    ("stream:cpu3", "rn.Device(rn.cpu, 3)", ("ValueError",)),
]
COUNT_BAD = [
    ("count:negative", "-1", ("ValueError",)),
    ("count:2**40", "2**40", SIZE_EXC),
    ("count:2**70", "2**70", SIZE_EXC),
    ("count:float", "2.5", ("TypeError",)),
]

# Parameter names and their roles.
ARRAY_PARAMS = {"a", "b", "c", "x", "y", "condition", "indices", "values",
                "updates", "array", "p", "self_", "arg", "end", "vals",
                "low", "high", "loc", "scale", "val"}
AXIS_PARAMS = {"axis", "axis1", "axis2", "start_axis", "end_axis", "source",
               "destination"}
AXES_PARAMS = {"axes"}
COUNT_PARAMS = {"n", "m", "num", "ddof", "decimals", "width", "repeats",
                "priority", "k"}

# ---------------------------------------------------------------------------
# The good calls: target (an expression that gives the callable) and its
# arguments as {name: expr}; positional ones in signature order. Names the
# signature has but the dict lacks keep their defaults (and get no bad
# variants); 'stream' is added for every callable that takes it.
UNARY = ["abs", "ceil", "cos", "erf", "exp", "expm1", "floor", "isinf",
         "isnan", "log", "log1p", "logical_not", "negative", "reciprocal",
         "rsqrt", "sigmoid", "sign", "sin", "sqrt", "square", "tan", "tanh",
         "copy", "zeros_like", "ones_like", "nonzero"]
BINARY = ["add", "subtract", "multiply", "divide", "floor_divide",
          "remainder", "power", "maximum", "minimum", "arctan2", "equal",
          "not_equal", "greater", "greater_equal", "less", "less_equal",
          "logical_and", "logical_or"]
REDUCE = ["all", "any", "argmax", "argmin", "logsumexp", "max", "mean",
          "min", "prod", "sum", "std", "var"]

GOOD = {}
for f in UNARY:
    GOOD[f] = {"a": "A"}
for f in BINARY:
    GOOD[f] = {"a": "A", "b": "A2"}
for f in REDUCE:
    GOOD[f] = {"a": "A", "axis": "1"}
for f in ("scatter_add", "scatter_max", "scatter_min", "scatter_prod"):
    GOOD[f] = None  # below
GOOD["std"] = GOOD["var"] = {"a": "A", "axis": "1", "ddof": "1"}
GOOD.update({
    "addmm": {"c": "rn.zeros((2, 4))", "a": "A", "b": "B"},
    "arange": {"start": "0", "stop": "10", "step": "2"},
    "astype": {"a": "A", "dtype": "rn.int32"},
    "broadcast_to": {"a": "V", "shape": "(2, 3)"},
    "concatenate": {"arrays": "[A, A2]", "axis": "1"},
    "contiguous": {"a": "A"},
    "cumprod": {"a": "A", "axis": "1"},
    "cumsum": {"a": "A", "axis": "1"},
    "expand_dims": {"a": "A", "axis": "0"},
    "eye": {"n": "3", "m": "4", "k": "1", "dtype": "rn.float32"},
    "flatten": {"a": "A", "start_axis": "0", "end_axis": "1"},
    "full": {"shape": "(2, 3)", "vals": "1.5", "dtype": "rn.float32"},
    "full_like": {"a": "A", "vals": "2"},
    "scatter": {"a": "A", "indices": "[I]", "updates": "rn.ones((2, 1, 3))",
                "axes": "[0]"},
    "gather": {"a": "A", "indices": "[I]", "axes": "[0]",
               "slice_sizes": "[1, 3]"},
    "identity": {"n": "3", "dtype": "rn.float32"},
    "linspace": {"start": "0.0", "stop": "1.0", "num": "5",
                 "dtype": "rn.float32"},
    "matmul": {"a": "A", "b": "B"},
    "moveaxis": {"a": "A", "source": "0", "destination": "1"},
    "ones": {"shape": "(2, 3)", "dtype": "rn.float32"},
    "zeros": {"shape": "(2, 3)", "dtype": "rn.float32"},
    "pad": {"a": "A", "pad_width": "1"},
    "put_along_axis": {"a": "A", "indices": "IA", "values": "A2",
                       "axis": "1"},
    "repeat": {"array": "A", "repeats": "2", "axis": "0"},
    "reshape": {"a": "A", "shape": "(3, 2)"},
    "round": {"a": "A", "decimals": "1"},
    "softmax": {"a": "A", "axis": "1"},
    "split": {"a": "A", "indices_or_sections": "3", "axis": "1"},
    "squeeze": {"a": "rn.ones((1, 3))", "axis": "0"},
    "stack": {"arrays": "[A, A2]", "axis": "0"},
    "swapaxes": {"a": "A", "axis1": "0", "axis2": "1"},
    "take": {"a": "A", "indices": "I", "axis": "1"},
    "take_along_axis": {"a": "A", "indices": "IA", "axis": "1"},
    "tile": {"a": "A", "reps": "(2, 1)"},
    "transpose": {"a": "A", "axes": "(1, 0)"},
    "where": {"condition": "BOOL", "x": "A", "y": "A2"},
    "broadcast_arrays": {"*": "A, V"},
    "eval": {"*": "A, A2"},
    "async_eval": {"*": "A, A2"},
    "from_dlpack": {"x": "np.ones(3, dtype=np.float32)"},
    # devices, streams, memory
    "device_count": {"type": "rn.cpu"},
    "is_available": {"device": "rn.cpu"},
    "set_default_device": {"device": "rn.cpu"},
    "device_info": {"device": "rn.cpu"},
    "default_stream": {"device": "rn.cpu"},
    "new_stream": {"device": "rn.cpu", "priority": "0"},
    "stream_priority_range": {"device": "rn.cpu"},
    "set_default_stream": {"stream": "ST"},
    "synchronize": {"stream": "ST"},
    "stream": {"s": "ST"},
    "clear_cache": {"device": "rn.cpu"},
    "get_active_memory": {"device": "rn.cpu"},
    "get_cache_memory": {"device": "rn.cpu"},
    "get_memory_limit": {"device": "rn.cpu"},
    "get_peak_memory": {"device": "rn.cpu"},
    "reset_peak_memory": {"device": "rn.cpu"},
    "set_memory_limit": {"limit": "LIMIT", "device": "rn.cpu"},
    "new_thread_local_stream": {"device": "rn.cpu"},
    "new_thread_unsafe_stream": {"device": "rn.cpu", "priority": "0"},
    "ThreadLocalStream": {"device": "rn.cpu"},
    "finfo": {"dtype": "rn.float32"},
    "iinfo": {"dtype": "rn.int32"},
    "StreamContext": {"s": "ST"},
    "Device": {"type": "rn.cpu", "index": "0"},
    "Stream": {"index": "ST.index"},
    "Event": {"enable_timing": "False"},
    "array": {"val": "[1, 2, 3]", "dtype": "rn.float32"},
    "save": {"file": "TMP + '.npy'", "arr": "A"},
    "load": {"file": "GOODFILE"},
    "savez": {"file": "TMP + '.npz'", "*": "A", "**": "b=A2"},
    "savez_compressed": {"file": "TMP + '.npz'", "*": "A"},
    "save_safetensors": {"file": "TMP + '.safetensors'",
                         "arrays": "{'a': A}"},
    # rn.random
    "random.bernoulli": {"p": "0.5", "shape": "(2, 3)", "key": "K"},
    "random.bits": {"shape": "(2, 3)", "width": "4", "key": "K"},
    "random.key": {"seed": "3"},
    "random.normal": {"shape": "(2, 3)", "dtype": "rn.float32",
                      "loc": "0.0", "scale": "1.0", "key": "K"},
    "random.randint": {"low": "0", "high": "10", "shape": "(2, 3)",
                       "dtype": "rn.int32", "key": "K"},
    "random.seed": {"seed": "3"},
    "random.split": {"key": "K", "num": "3"},
    "random.uniform": {"low": "0.0", "high": "1.0", "shape": "(2, 3)",
                       "dtype": "rn.float32", "key": "K"},
})

for f in ("scatter_add", "scatter_max", "scatter_min", "scatter_prod"):
    GOOD[f] = GOOD["scatter"]

# Array methods: the same good arguments as the function, without `a`.
METHOD_GOOD = {
    "astype": {"dtype": "rn.int32"},
    "reshape": {"*": "3, 2"},
    "transpose": {"*": "1, 0"},
    "moveaxis": {"source": "0", "destination": "1"},
    "swapaxes": {"axis1": "0", "axis2": "1"},
    "split": {"indices_or_sections": "3", "axis": "1"},
    "squeeze": {},
    "flatten": {"start_axis": "0", "end_axis": "1"},
    "round": {"decimals": "1"},
    "item": {}, "tolist": {}, "__invert__": {},
    "__getitem__": {"key": "(0, 1)"},
    "__setitem__": {"key": "(0, 1)", "value": "5.0"},
    "__array__": {"dtype": "None"},
    "__dlpack__": {},
    "__init__": None,  # the constructor is "array"
}
OPNAMES = {"add": "add", "sub": "sub", "mul": "mul", "truediv": "truediv",
           "floordiv": "floordiv", "mod": "mod", "pow": "pow",
           "matmul": "matmul", "eq": "eq", "ne": "ne", "lt": "lt",
           "le": "le", "gt": "gt", "ge": "ge", "and": "and_", "or": "or_",
           "xor": "xor", "lshift": "lshift", "rshift": "rshift"}
OPERATORS = ["__add__", "__sub__", "__mul__", "__truediv__",
             "__floordiv__", "__mod__", "__pow__", "__matmul__", "__eq__",
             "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__radd__",
             "__rsub__", "__rmul__", "__rtruediv__", "__rfloordiv__",
             "__rmod__", "__rpow__", "__rmatmul__", "__iadd__", "__isub__",
             "__imul__", "__itruediv__", "__ifloordiv__", "__imod__",
             "__ipow__", "__and__", "__or__", "__xor__", "__rand__",
             "__ror__", "__lshift__", "__rshift__"]

# Methods of the other classes: target expression, good args.
CLASS_METHODS = {
    "Stream.synchronize": ("ST.synchronize", {}),
    "Stream.query": ("ST.query", {}),
    "Event.record": ("EV.record", {"stream": "ST"}),
    "Event.wait": ("EV.wait", {"stream": "ST"}),
    "Event.synchronize": ("EV.synchronize", {}),
    "Event.query": ("EV.query", {}),
    "Event.elapsed_time": ("EVT.elapsed_time", {"end": "EVT2"}),
    "array.at.add": ("A.at[I].add", {"*": "1.0"}),
    "array.at.multiply": ("A.at[I].multiply", {"*": "2.0"}),
}

# Extra bad calls no parameter rule derives: (function, kind, code,
# expected exception types).
EXTRA = [
    ("matmul", "shape:mismatch", "rn.matmul(A, A2)", ("ValueError",)),
    ("matmul", "shape:0-d", "rn.matmul(rn.array(1.0), A)", ("ValueError",)),
    ("matmul", "dtype:bool", "rn.matmul(BOOL, rn.ones((3, 2), rn.bool_))",
     ("ValueError",)),
    ("addmm", "shape:mismatch", "rn.addmm(rn.zeros((5, 5)), A, B)",
     ("ValueError",)),
    ("add", "shape:mismatch", "rn.add(A, B)", ("ValueError",)),
    ("where", "shape:mismatch", "rn.where(BOOL, A, B)", ("ValueError",)),
    ("concatenate", "shape:mismatch", "rn.concatenate([A, B], axis=0)",
     ("ValueError",)),
    ("concatenate", "shape:empty", "rn.concatenate([])", ("ValueError",)),
    ("stack", "shape:mismatch", "rn.stack([A, B])", ("ValueError",)),
    ("stack", "shape:empty", "rn.stack([])", ("ValueError",)),
    ("reshape", "shape:mismatch", "rn.reshape(A, (4, 2))", ("ValueError",)),
    ("reshape", "shape:two-minus-1", "rn.reshape(A, (-1, -1))",
     ("ValueError",)),
    ("broadcast_to", "shape:mismatch", "rn.broadcast_to(A, (4, 3))",
     ("ValueError",)),
    ("broadcast_arrays", "shape:mismatch", "rn.broadcast_arrays(A, B)",
     ("ValueError",)),
    ("split", "count:uneven", "rn.split(A, 2, axis=1)", ("ValueError",)),
    ("split", "count:zero", "rn.split(A, 0, axis=1)", ("ValueError",)),
    ("take", "index:out-of-range", "rn.take(A, rn.array([7]), axis=1)",
     ("IndexError",)),
    ("take", "dtype:float-indices", "rn.take(A, V, axis=1)",
     ("ValueError",)),
    ("take_along_axis", "shape:mismatch",
     "rn.take_along_axis(A, rn.array([[0, 1]] * 5), axis=1)",
     ("ValueError",)),
    ("take_along_axis", "index:out-of-range",
     "rn.take_along_axis(A, IA * 9, axis=1)", ("IndexError",)),
    ("put_along_axis", "index:out-of-range",
     "rn.put_along_axis(A, IA * 9, A2, axis=1)", ("IndexError",)),
    ("gather", "index:out-of-range",
     "rn.gather(A, [rn.array([9])], [0], [1, 3])", ("IndexError",)),
    ("gather", "shape:slice-too-big",
     "rn.gather(A, [I], [0], [1, 9])", ("ValueError",)),
    ("scatter", "index:out-of-range",
     "rn.scatter(A, [rn.array([9])], rn.ones((1, 1, 3)), [0])",
     ("IndexError",)),
    ("scatter", "shape:mismatch",
     "rn.scatter(A, [I], rn.ones((7, 7)), [0])", ("ValueError",)),
    ("scatter_add", "shape:mismatch",
     "rn.scatter_add(A, [I], rn.ones((7, 7)), [0])", ("ValueError",)),
    ("squeeze", "shape:not-one", "rn.squeeze(A, 0)", ("ValueError",)),
    ("transpose", "axis:repeated", "rn.transpose(A, (0, 0))",
     ("ValueError",)),
    ("transpose", "axis:too-few", "rn.transpose(A, (0,))", ("ValueError",)),
    ("pad", "shape:negative", "rn.pad(A, -2)", ("ValueError",)),
    ("pad", "mode:unknown", "rn.pad(A, 1, mode='nope')", ("ValueError",)),
    ("tile", "shape:negative", "rn.tile(A, (-1, 2))", ("ValueError",)),
    ("tile", "size:2**62-elems", "rn.tile(A, (2**30, 2**30))", SIZE_EXC),
    ("repeat", "size:2**62-elems", "rn.repeat(rn.ones(2**20), 2**31 - 1)",
     SIZE_EXC),
    ("broadcast_to", "size:2**62-elems",
     "rn.broadcast_to(A, (2**31 - 1, 2**31 - 1, 3))", SIZE_EXC),
    ("full", "overflow:int8", "rn.full((2,), 300, rn.int8)",
     ("OverflowError", "ValueError")),
    ("array", "overflow:uint8", "rn.array(300, rn.uint8)",
     ("OverflowError", "ValueError")),
    ("array", "overflow:2**64", "rn.array(2**64)",
     ("OverflowError", "ValueError")),
    ("array", "overflow:list-2**64", "rn.array([1, 2**64])",
     ("OverflowError", "ValueError")),
    ("array", "shape:ragged", "rn.array([[1, 2], [3]])", ("ValueError",)),
    ("array", "type:list-mixed", "rn.array([1, 'a'])", ("TypeError",)),
    ("array", "type:np-str", "rn.array(np.array(['a', 'b']))",
     ("TypeError",)),
    ("array", "shape:too-many-dims", "rn.array(np.ones((1,) * 64))",
     ("ValueError",)),
    ("add", "overflow:int8-scalar", "rn.array([1], rn.int8) + 1000",
     ("OverflowError", "ValueError")),
    ("arange", "size:huge", "rn.arange(0, 2**40)", SIZE_EXC),
    ("arange", "size:huge-float", "rn.arange(0.0, 1e12, 0.5)", SIZE_EXC),
    ("arange", "size:2**31-1", "rn.arange(2**31 - 1, dtype=rn.float64)",
     SIZE_EXC),
    ("arange", "step:zero", "rn.arange(0, 10, 0)", ("ValueError",)),
    ("arange", "dtype:bool", "rn.arange(10, dtype=rn.bool_)",
     ("ValueError",)),
    ("arange", "value:nan", "rn.arange(float('nan'))", ("ValueError",)),
    ("linspace", "size:2**31-1", "rn.linspace(0.0, 1.0, 2**31 - 1)",
     SIZE_EXC),
    ("eye", "size:2**62-elems", "rn.eye(2**31 - 1)", SIZE_EXC),
    ("zeros", "size:bytes-over-limit", "rn.zeros((2**16, 2**15))",
     SIZE_EXC),
    ("zeros", "shape:too-many-dims", "rn.zeros((1,) * 1000)",
     ("ValueError",)),
    ("add", "shape:too-many-dims", "rn.zeros((1,) * 199 + (2,)) + "
     "rn.ones((3,) + (1,) * 199)", ("ValueError",)),
    ("sum", "shape:too-many-dims", "rn.sum(rn.ones((2,) + (1,) * 199), "
     "axis=(0, 50, 199))", ("ValueError",)),
    ("transpose", "shape:too-many-dims", "rn.transpose(rn.ones((1,) * 150 "
     "+ (2, 3)))", ("ValueError",)),
    ("reshape", "shape:too-many-dims", "rn.reshape(rn.ones((1,) * 150 + "
     "(6,)), (2,) + (1,) * 150 + (3,))[1]", ("ValueError",)),
    # Ops with nothing to do return their input: the stream is still
    # checked.
    ("astype", "stream:gpu-noop", "rn.astype(A, rn.float32, stream=rn.gpu)",
     ("ValueError",)),
    ("contiguous", "stream:gpu-noop", "rn.contiguous(A, stream=rn.gpu)",
     ("ValueError",)),
    ("reshape", "stream:gpu-noop", "rn.reshape(A, (2, 3), stream=rn.gpu)",
     ("ValueError",)),
    ("transpose", "stream:gpu-noop",
     "rn.transpose(A, (0, 1), stream=rn.gpu)", ("ValueError",)),
    ("broadcast_to", "stream:gpu-noop",
     "rn.broadcast_to(A, (2, 3), stream=rn.gpu)", ("ValueError",)),
    ("squeeze", "stream:gpu-noop", "rn.squeeze(A, stream=rn.gpu)",
     ("ValueError",)),
    ("expand_dims", "stream:gpu-noop",
     "rn.expand_dims(A, (), stream=rn.gpu)", ("ValueError",)),
    ("max", "stream:gpu-noop", "rn.max(A, axis=(), stream=rn.gpu)",
     ("ValueError",)),
    ("sum", "stream:gpu-noop", "rn.sum(A, axis=(), stream=rn.gpu)",
     ("ValueError",)),
    ("all", "stream:gpu-noop", "rn.all(A, axis=(), stream=rn.gpu)",
     ("ValueError",)),
    ("flatten", "stream:gpu-noop", "rn.flatten(V, stream=rn.gpu)",
     ("ValueError",)),
    ("moveaxis", "stream:gpu-noop", "rn.moveaxis(A, 0, 0, stream=rn.gpu)",
     ("ValueError",)),
    ("swapaxes", "stream:gpu-noop", "rn.swapaxes(A, 0, 0, stream=rn.gpu)",
     ("ValueError",)),
    ("copy", "stream:gpu-noop", "rn.copy(A, stream=rn.gpu)",
     ("ValueError",)),
    ("array.__getitem__", "stream:gpu-ctx",
     "(rn.stream(rn.gpu).__enter__(), A[:])", ("ValueError",)),
    ("full", "overflow:int8-list", "rn.full((2,), [1, 300], rn.int8)",
     ("OverflowError",)),
    ("full_like", "overflow:int8", "rn.full_like(rn.zeros((2,), rn.int8), "
     "300)", ("OverflowError",)),
    ("array", "overflow:list-uint8", "rn.array([1, 300], rn.uint8)",
     ("OverflowError",)),
    ("array", "overflow:list-negative-uint32", "rn.array([-1], rn.uint32)",
     ("OverflowError",)),
    ("array", "overflow:list-2**63-int64", "rn.array([2**63], rn.int64)",
     ("OverflowError",)),
    ("add", "size:broadcast-2**62", "rn.zeros((2**31 - 1, 1)) + "
     "rn.zeros((1, 2**31 - 1))", SIZE_EXC),
    ("concatenate", "size:dim-overflow", "rn.concatenate([rn.broadcast_to("
     "rn.zeros((1,), rn.uint8), (2**31 - 1,))] * 2)", SIZE_EXC),
    ("pad", "size:dim-overflow", "rn.pad(rn.zeros((2,), rn.uint8), "
     "2**30)", SIZE_EXC),
    ("tile", "size:dim-overflow", "rn.tile(rn.zeros((2**20,), rn.uint8), "
     "2**12)", SIZE_EXC),
    ("repeat", "size:dim-overflow", "rn.repeat(rn.zeros((2**20,), "
     "rn.uint8), 2**12)", SIZE_EXC),
    ("array.__array__", "shape:too-many-dims", "np.array(rn.zeros((1,) * "
     "70))", ("ValueError",)),
    ("split", "size:many-pieces", "rn.split(V, 2**31 - 1)",
     ("ValueError",)),
    ("random.split", "size:2**31-keys", "rn.random.split(K, 2**31 - 1)",
     SIZE_EXC),
    ("Event.synchronize", "state:unrecorded", "rn.Event().synchronize()",
     ("ValueError",)),
    ("Event.wait", "state:unrecorded", "rn.Event().wait(ST)",
     ("ValueError",)),
    ("Stream.from_external", "type:str", "rn.Stream.from_external('x')",
     ("TypeError",)),
    ("Stream.from_external", "type:object",
     "rn.Stream.from_external(object())", ("TypeError",)),
    ("Stream.from_external", "device:gpu7",
     "rn.Stream.from_external(1234, rn.Device(rn.gpu, 7))",
     ("ValueError",)),
    ("Stream.from_external", "type:device-str",
     "rn.Stream.from_external(1234, 'gpu')", ("TypeError",)),
    ("zeros", "size:many-dims-overflow", "rn.zeros((2**20,) * 8)",
     SIZE_EXC),
    ("ones", "size:float64-2**61", "rn.ones((2**31 - 1, 2**30), rn.float64)",
     SIZE_EXC),
    ("random.normal", "dtype:int", "rn.random.normal((2,), rn.int32)",
     ("ValueError",)),
    ("random.normal", "dtype:bool", "rn.random.normal((2,), rn.bool_)",
     ("ValueError",)),
    ("random.uniform", "dtype:int", "rn.random.uniform(shape=(2,), "
     "dtype=rn.int32)", ("ValueError",)),
    ("random.uniform", "shape:mismatch",
     "rn.random.uniform(rn.zeros((3,)), 1.0, (2,))", ("ValueError",)),
    ("random.randint", "dtype:float", "rn.random.randint(0, 5, (2,), "
     "rn.float32)", ("ValueError",)),
    ("random.split", "key:wrong-shape", "rn.random.split(rn.array([1, 2, 3],"
     " rn.uint32))", ("ValueError",)),
    ("random.split", "key:wrong-dtype", "rn.random.split(V)",
     ("ValueError",)),
    ("random.normal", "key:wrong-dtype", "rn.random.normal((2,), key=V)",
     ("ValueError",)),
    ("random.bits", "width:bad", "rn.random.bits((2,), width=3)",
     ("ValueError",)),
    ("random.bits", "size:2**62-elems",
     "rn.random.bits((2**31 - 1, 2**31 - 1))", SIZE_EXC),
    ("random.key", "overflow:seed", "rn.random.key(2**70)",
     ("OverflowError", "ValueError")),
    ("random.key", "seed:negative", "rn.random.key(-1)",
     ("OverflowError", "ValueError")),
    ("Stream", "stream:dead-index", "rn.Stream(DEAD)", ("ValueError",)),
    ("Stream", "stream:negative-index", "rn.Stream(-1)", ("ValueError",)),
    ("new_stream", "stream:gpu", "rn.new_stream(rn.gpu)", ("ValueError",)),
    ("stream", "stream:gpu-ctx", "rn.stream(rn.gpu).__enter__()",
     ("ValueError",)),
    ("synchronize", "stream:int-dead", "rn.synchronize(DEAD)",
     ("TypeError",)),
    ("Event.record", "stream:gpu", "EV.record(rn.gpu)", ("ValueError",)),
    ("Event.elapsed_time", "state:unrecorded",
     "rn.Event(True).elapsed_time(rn.Event(True))", ("ValueError",)),
    ("Event.elapsed_time", "state:untimed",
     "(EV.record(), EV.elapsed_time(EV))", ("ValueError",)),
    ("Stream.cuda_stream", "stream:cpu", "ST.cuda_stream", ("ValueError",)),
    ("Stream.from_external", "device:cpu",
     "rn.Stream.from_external(0, rn.cpu)", ("ValueError",)),
    ("set_memory_limit", "count:negative", "rn.set_memory_limit(-1)",
     ("ValueError", "OverflowError")),
    ("array.item", "shape:many", "A.item()", ("ValueError",)),
    ("array.__float__", "shape:many", "float(A)", ("ValueError",)),
    ("array.__int__", "shape:many", "int(A)", ("ValueError",)),
    ("array.__bool__", "shape:many", "bool(A)", ("ValueError",)),
    ("array.__len__", "shape:0-d", "len(rn.array(1.0))", ("TypeError",)),
    ("array.__iter__", "shape:0-d", "iter(rn.array(1.0))", ("TypeError",)),
    ("array.__getitem__", "index:out-of-range", "A[5]", ("IndexError",)),
    ("array.__getitem__", "index:too-many", "A[0, 0, 0]", ("IndexError",)),
    ("array.__getitem__", "index:array-oor", "A[rn.array([9])]",
     ("IndexError",)),
    ("array.__getitem__", "index:str", "A['x']", ("IndexError", "TypeError")),
    ("array.__getitem__", "index:float", "A[1.5]",
     ("IndexError", "TypeError")),
    ("array.__getitem__", "index:mask-shape", "A[rn.array([True, False, "
     "True])]", ("IndexError", "ValueError")),
    ("array.__setitem__", "index:out-of-range", "A.__setitem__(5, 1.0)",
     ("IndexError",)),
    ("array.__setitem__", "shape:mismatch",
     "A.__setitem__(0, rn.ones((7,)))", ("ValueError",)),
    ("array.__setitem__", "type:str-value", "A.__setitem__(0, 'x')",
     ("TypeError",)),
    ("array.at.add", "index:out-of-range", "A.at[rn.array([9])].add(1.0)",
     ("IndexError",)),
    ("array.reshape", "shape:mismatch", "A.reshape(4, 2)", ("ValueError",)),
    ("array.reshape", "size:dim>int32", "A.reshape(2**31, 2**31)", SIZE_EXC),
    ("array.transpose", "axis:repeated", "A.transpose(0, 0)",
     ("ValueError",)),
    ("array.__matmul__", "shape:mismatch", "A @ A2", ("ValueError",)),
    ("array.__add__", "shape:mismatch", "A + B", ("ValueError",)),
    ("array.__dlpack__", "type:stream-str", "A.__dlpack__(stream='x')",
     ("TypeError",)),
    ("array.__array__", "dtype:object", "np.asarray(A, dtype=object)",
     ("TypeError", "ValueError")),
    ("save", "type:file-int", "rn.save(12345678, A)", ("TypeError",)),
    ("load", "file:missing", "rn.load('/nonexistent/x.npy')",
     ("FileNotFoundError", "OSError", "ValueError")),
    ("load", "file:garbage", "(open(TMP + '.npy', 'wb').write(b'junk'), "
     "rn.load(TMP + '.npy'))", ("ValueError",)),
    ("finfo", "dtype:int", "rn.finfo(rn.int32)", ("ValueError",)),
    ("iinfo", "dtype:float", "rn.iinfo(rn.float32)", ("ValueError",)),
    ("from_dlpack", "type:no-dlpack", "rn.from_dlpack(object())",
     ("TypeError",)),
    ("softmax", "dtype:int", "rn.softmax(IA, axis=1)", ("ValueError",)),
    ("mean", "axis:repeated", "rn.mean(A, axis=(0, 0))", ("ValueError",)),
    ("sum", "axis:repeated", "rn.sum(A, axis=(1, 1))", ("ValueError",)),
    ("std", "count:ddof-huge", "rn.std(A, ddof=2**40)", ("ValueError",)),
    ("logical_not", "shape:too-many-dims", "rn.logical_not(rn.zeros((1,) * "
     "200))", ("ValueError",)),
    ("eval", "type:nested-str", "rn.eval([A, ['x']])", ("TypeError",)),
    ("device_count", "type:int", "rn.device_count(0)", ("TypeError",)),
    ("Device", "type:str", "rn.Device('gpu')", ("TypeError",)),
    ("Device", "count:2**40", "rn.Device(rn.cpu, 2**40)",
     ("ValueError", "OverflowError", "TypeError")),
]

# Calls where no error is the right answer although the input looks bad
# (numpy's or MLX's behaviour): (function, kind) -> why.
ACCEPTED = {}
for _k in TYPE_BAD + [("type:nested-str", "")]:
    ACCEPTED[("eval", _k[0])] = "MLX's eval skips leaves that are no arrays"
    ACCEPTED[("async_eval", _k[0])] = ACCEPTED[("eval", _k[0])]
for _k in DEVICE_BAD:
    ACCEPTED[("is_available", _k[0])] = "a query: False is the answer"
for _f in ("std", "var", "array.std", "array.var"):
    ACCEPTED[(_f, "count:negative")] = "numpy takes a negative ddof"
ACCEPTED[("full", "overflow:int8-list")] = \
    "numpy's full casts a list's values unsafely (wraps) too"
ACCEPTED[("matmul", "dtype:bool")] = "numpy's bool matmul (same values)"
ACCEPTED[("softmax", "dtype:int")] = "MLX's softmax promotes to float"
ACCEPTED[("Event.synchronize", "state:unrecorded")] = \
    "documented: a no-op before any record (CUDA's rule)"
ACCEPTED[("Event.wait", "state:unrecorded")] = \
    ACCEPTED[("Event.synchronize", "state:unrecorded")]
ACCEPTED[("array.__rmod__", "type:str")] = "'x' % a is str formatting"
ACCEPTED[("array.__array__", "dtype:object")] = "numpy's object conversion"
for _f in ("zeros", "logical_not", "add", "sum", "transpose", "reshape",
           "array"):
    ACCEPTED[(_f, "shape:too-many-dims")] = \
        "no dimension limit (numpy's is 64); runs correctly"

# Functions that change process state: one child per call.
ISOLATE_KINDS = {"stream:gpu-ctx"}
ISOLATE = {"set_default_device", "set_default_stream", "set_memory_limit",
           "clear_streams", "random.seed", "stream", "StreamContext",
           "clear_cache", "reset_peak_memory"}


def signature_params(obj):
    """[(name, kind)] from a nanobind signature or inspect; kind is 'pos',
    'kw', 'star' (*args) or 'starstar'."""
    sig = getattr(obj, "__nb_signature__", None)
    text = None
    if sig:
        text = sig[0][0]
    else:
        import inspect
        try:
            s = inspect.signature(obj)
        except (TypeError, ValueError):
            return None
        out = []
        for p in s.parameters.values():
            if p.name == "self":
                continue
            k = {p.VAR_POSITIONAL: "star", p.VAR_KEYWORD: "starstar",
                 p.KEYWORD_ONLY: "kw"}.get(p.kind, "pos")
            out.append((p.name, k))
        return out
    m = re.match(r"def \w+\((.*)\)", text)
    if not m:
        return None
    out, kw = [], False
    depth, cur, parts = 0, "", []
    for ch in m.group(1):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    for p in parts:
        if p == "*":
            kw = True
            continue
        if p == "/":
            continue
        name = p.split(":")[0].split("=")[0].strip()
        if name == "self":
            continue
        if name.startswith("**"):
            out.append((name[2:], "starstar"))
        elif name.startswith("*"):
            out.append((name[1:], "star"))
            kw = True
        else:
            out.append((name, "kw" if kw else "pos"))
    return out


def enumerate_callables(rn):
    """[(label, target_expr, obj)] for every public callable."""
    out = []
    for n in sorted(dir(rn)):
        if n.startswith("_"):
            continue
        o = getattr(rn, n)
        if isinstance(o, type(rn)) or not callable(o):
            continue
        if isinstance(o, (rn.Dtype, rn.DeviceType)):
            continue
        if n in ("Dtype", "DeviceType"):
            continue
        out.append((n, f"rn.{n}", o))
    for sub in ("random", "linalg", "cuda", "metal"):
        mod = getattr(rn, sub, None)
        if mod is None:
            continue
        for n in sorted(dir(mod)):
            if n.startswith("_"):
                continue
            o = getattr(mod, n)
            if callable(o) and not isinstance(o, type(rn)) and \
                    getattr(o, "__module__", "").startswith("runnel"):
                out.append((f"{sub}.{n}", f"rn.{sub}.{n}", o))
            elif callable(o) and sig_is_nb(o):
                out.append((f"{sub}.{n}", f"rn.{sub}.{n}", o))
    for n in sorted(dir(rn.array)):
        if n.startswith("_") and n not in METHOD_GOOD and n not in OPERATORS \
                and n not in ("__abs__", "__neg__", "__invert__"):
            continue
        o = getattr(rn.array, n, None)
        if o is None or not callable(o) or n == "__init__":
            continue
        out.append((f"array.{n}", f"A.{n}", o))
    for label, (target, _) in CLASS_METHODS.items():
        out.append((label, target, None))
    return out


def sig_is_nb(o):
    return hasattr(o, "__nb_signature__")


def render_call(target, params, good, override=None):
    """The call's source; override: (name, expr) replacing one argument.
    Positional parameters are passed by position while every earlier one
    has a value, then by keyword."""
    vals = dict(good)
    if override:
        vals[override[0]] = override[1]
    args, kwargs, by_pos = [], [], True
    for name, kind in params:
        if kind == "star":
            if vals.get("*"):
                args.append(vals["*"])
            by_pos = False
            continue
        if kind == "starstar":
            if vals.get("**"):
                kwargs.append(vals["**"])
            continue
        v = vals.get(name)
        if v is None:
            if kind == "pos":
                by_pos = False
            continue
        if kind == "pos" and by_pos:
            args.append(v)
        else:
            kwargs.append(f"{name}={v}")
    return f"{target}({', '.join(args + kwargs)})"


def build_cases(rn, only=None):
    """[(label, kind, code, expected)]; kind 'baseline' expects success."""
    cases = []
    for label, target, obj in enumerate_callables(rn):
        if only and label not in only:
            continue
        if label in CLASS_METHODS:
            target, good = CLASS_METHODS[label]
            params = [(k, "pos") for k in good if k not in ("*", "**")]
            if "*" in good:
                params = [("*", "star")] + params
            if label in ("Event.record", "Event.wait"):
                params = [("stream", "pos")]
        elif label.startswith("array."):
            meth = label[len("array."):]
            params = signature_params(obj) or []
            if meth in OPERATORS:
                # Through the operator, as Python calls it: a dunder's
                # NotImplemented becomes Python's own TypeError.
                base = meth.strip("_")
                refl = base.startswith("r") and base[1:] in OPNAMES
                inpl = base.startswith("i") and base[1:] in OPNAMES
                name = base[1:] if refl or inpl else base
                fn = OPNAMES[name]
                lhs = {"matmul": "A", "and": "IA", "or": "IA", "xor": "IA",
                       "lshift": "IA", "rshift": "IA"}.get(name, "A")
                good_rhs = {"matmul": "rn.ones((3, 2))"}.get(
                    name, "IA" if lhs == "IA" else "A2")
                if refl:
                    good_rhs = {"matmul": "A"}.get(name, good_rhs)
                    lhs, tmpl = lhs, f"op.{fn}({{arg}}, {lhs})"
                    if name == "matmul":
                        tmpl = "op.matmul({arg}, B)"
                elif inpl:
                    tmpl = f"op.i{fn}({lhs} + 0, {{arg}})"
                else:
                    tmpl = f"op.{fn}({lhs}, {{arg}})"
                good = {"arg": good_rhs}
                cases.append((label, "baseline",
                              tmpl.format(arg=good_rhs), None))
                for klabel, expr in TYPE_BAD:
                    if refl and klabel == "type:np-object":
                        continue  # numpy's own operator runs first
                    cases.append((label, f"{klabel}@arg",
                                  tmpl.format(arg=expr), ("TypeError",)))
                if name not in ("eq", "ne"):
                    cases.append((label, "shape:mismatch",
                                  tmpl.format(arg="rn.ones((4, 5))"),
                                  ("ValueError",)))
                continue
            elif meth in METHOD_GOOD:
                good = METHOD_GOOD[meth]
                if good is None:
                    continue
            elif meth in GOOD:
                good = {k: v for k, v in GOOD[meth].items() if k != "a"}
            else:
                good = {}
            target = {"squeeze": "rn.ones((1, 3)).squeeze",
                      "item": "rn.array(1.5).item",
                      "__invert__": "BOOL.__invert__"}.get(meth, target)
        else:
            params = signature_params(obj)
            good = GOOD.get(label)
            if good is None:
                good = {}
        if params is None:
            params = [(k, "pos") for k in good if k not in ("*", "**")]
        pnames = {p for p, _ in params}
        cases.append((label, "baseline", render_call(target, params, good),
                      None))
        # Type variants for every argument the good call gives.
        for name, kind in params:
            if kind in ("starstar",):
                continue
            key = "*" if kind == "star" else name
            if good.get(key) is None and name not in ("stream",):
                continue
            if name == "stream":
                continue  # below
            for klabel, expr in TYPE_BAD:
                if klabel == "type:None" and name in NONE_OK:
                    continue
                if klabel == "type:str" and name in ("file", "mode",
                                                     "format"):
                    continue  # a str is the right type there
                if name in ("key",) and label.startswith("array."):
                    exp = ("TypeError", "IndexError")  # numpy: IndexError
                else:
                    exp = ("TypeError",)
                cases.append((label, f"{klabel}@{name}",
                              render_call(target, params, good,
                                          (key, expr)), exp))
            role_bad = []
            if name == "shape" or name == "reps" or name == "*" and \
                    label in ("array.reshape",):
                role_bad = SHAPE_BAD
            elif name == "dtype" and label != "array.__array__":
                role_bad = DTYPE_BAD  # __array__ takes numpy's dtypes
            elif name in AXIS_PARAMS:
                role_bad = AXIS_BAD
            elif name in AXES_PARAMS:
                role_bad = AXES_BAD if label != "gather" else []
            elif name == "device" and "Stream." not in label:
                role_bad = DEVICE_BAD
            elif name in COUNT_PARAMS:
                role_bad = COUNT_BAD
                if name in ("k", "priority", "decimals"):
                    role_bad = [b for b in COUNT_BAD
                                if b[0] != "count:negative"]
            for klabel, expr, exp in role_bad:
                cases.append((label, f"{klabel}@{name}",
                              render_call(target, params, good,
                                          (key, expr)), exp))
            if label.startswith("array.reshape") or \
                    label == "array.transpose":
                pass
        if "stream" in pnames and label not in ("set_default_stream",
                                               "synchronize", "stream",
                                               "StreamContext",
                                               "array.__dlpack__",
                                               "Event.record",
                                               "Event.wait"):
            for klabel, expr, exp in STREAM_BAD:
                cases.append((label, klabel,
                              render_call(target, params, good,
                                          ("stream", expr)), exp))
        elif label in ("set_default_stream", "synchronize", "stream",
                       "StreamContext", "Event.record", "Event.wait"):
            for klabel, expr, exp in STREAM_BAD:
                if label == "set_default_stream" and klabel != "stream:str":
                    exp = ("TypeError",)  # a Stream is required
                cases.append((label, klabel,
                              render_call(target, params, good,
                                          ("stream" if "stream" in pnames
                                           else "s", expr)), exp))
    # Array methods of the reshape/transpose kind take *shape / *axes.
    for label in ("array.reshape",):
        if only and label not in only:
            continue
        for klabel, expr, exp in SHAPE_BAD:
            cases.append((label, f"{klabel}@shape", f"A.reshape({expr})",
                          exp))
    for fn, kind, code, exp in EXTRA:
        if only and fn not in only:
            continue
        cases.append((fn, kind, code, exp))
    return cases


# Parameters where None is a meaningful value (the default, or "all").
NONE_OK = {"dtype", "axis", "axes", "m", "key", "device", "stream",
           "keepdims", "start", "stop", "step", "loc", "scale", "low",
           "high", "p", "shape", "priority", "reverse", "inclusive",
           "precise", "constant_values", "mode", "width", "ddof", "num",
           "decimals", "allow_col_major", "index", "copy", "max_version",
           "dl_device", "enable_timing"}


# ---------------------------------------------------------------------------
CHILD = r"""
import json, sys, time
LIMIT = int(sys.argv[1])
TMP = sys.argv[2]
exec(compile(PRELUDE, "<prelude>", "exec"))
np.save(TMP + "_good.npy", np.ones(3, np.float32))
GOODFILE = TMP + "_good.npy"

def arrays_in(v, out):
    if isinstance(v, rn.array):
        out.append(v)
    elif isinstance(v, (list, tuple)):
        for x in v:
            arrays_in(x, out)
    return out

for line in sys.stdin:
    i, code = json.loads(line)
    r = {"i": i}
    print(json.dumps({"i": i, "start": True}), flush=True)
    try:
        v = eval(code)
        try:
            rn.eval(*arrays_in(v, []))
            if hasattr(v, "__exit__") and hasattr(v, "__enter__") and \
                    type(v).__name__ == "StreamContext":
                pass
            r["ret"] = type(v).__name__
        except BaseException as e:
            r["late"] = [type(e).__name__, str(e)[:300],
                         [c.__name__ for c in type(e).__mro__]]
    except BaseException as e:
        r["exc"] = [type(e).__name__, str(e)[:300],
                    [c.__name__ for c in type(e).__mro__]]
    print(json.dumps(r), flush=True)
"""


def run_batch(cases_idx, cases, args, results):
    """Runs the cases (indices) in children; fills results[i]."""
    pending = list(cases_idx)
    while pending:
        proc = subprocess.Popen(
            [sys.executable, "-c", "PRELUDE = " + repr(PRELUDE) + "\n" +
             CHILD, str(args.memory_limit), args.tmp],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, bufsize=1,
            cwd=os.path.dirname(args.tmp))
        for i in pending:
            proc.stdin.write(json.dumps([i, cases[i][2]]) + "\n")
        proc.stdin.close()
        done_here = []
        current = None
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + args.timeout + 20  # import + prelude
        failed = None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                failed = "hang"
                break
            if not sel.select(timeout=left):
                continue
            line = proc.stdout.readline()
            if not line:
                failed = "crash"
                break
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if msg.get("start"):
                current = msg["i"]
                deadline = time.monotonic() + args.timeout
                continue
            results[msg["i"]] = msg
            done_here.append(msg["i"])
            current = None
            if len(done_here) == len(pending):
                break
        if failed:
            proc.kill()
        proc.wait()
        err = proc.stderr.read()
        sel.close()
        if not failed:
            return
        if current is None:
            # died before the first call or between calls: the prelude
            for i in pending:
                if i not in results:
                    results[i] = {"i": i, "child": failed,
                                  "stderr": err[-400:]}
            return
        rest = [i for i in pending if i not in results and i != current]
        if len(pending) > 1:
            # Rerun the culprit alone to confirm it.
            run_batch([current], cases, args, results)
            if "child" not in results[current]:
                results[current]["batch_only"] = failed
        else:
            results[current] = {"i": current, "child": failed,
                                "rc": proc.returncode,
                                "stderr": err[-600:]}
        pending = rest


BRACKET = re.compile(r"^\[[\w.]+\] ")


def classify(case, r):
    label, kind, code, expected = case
    if "child" in r:
        return r["child"], r.get("stderr", "").strip().splitlines()[-1:] \
            and r["stderr"].strip().splitlines()[-1][:160] or \
            f"rc {r.get('rc')}"
    if kind == "baseline":
        if "exc" in r or "late" in r:
            t, m = (r.get("exc") or r.get("late"))[:2]
            return "baseline-failed", f"{t}: {m}"
        return "baseline-ok", r.get("ret", "")
    if "exc" in r or "late" in r:
        late = "late" in r
        t, m, *mro = r.get("late") or r.get("exc")
        mro = mro[0] if mro else [t]
        detail = f"{t}: {m}"
        if t == "TypeError" and "incompatible function arguments" in m:
            return "nb-dump", detail
        if t == "TypeError" and not BRACKET.match(m) and (
                code.startswith("op.") or label == "array.__array__"):
            # The dunder returned NotImplemented and Python (or numpy, for
            # __array__'s dtype) wrote the message.
            return "ok", "Python's protocol: " + detail
        if label == "from_dlpack" and t == "BufferError":
            # The producer's __dlpack__ refuses: the array API's error.
            return "ok", "the array API's BufferError: " + detail
        if not set(mro) & set(expected):
            return "wrong-type", detail
        if not BRACKET.match(m) and t not in ("FileNotFoundError",
                                              "OSError"):
            return "no-bracket", detail
        if not late and not name_matches(label, m):
            return "name-differs", detail
        if late:
            if t in ("MemoryError", "IndexError") or \
                    kind.startswith(("index:", "size:")):
                return "ok-lazy", detail
            return "late", detail
        return "ok", detail
    if label in ("array.__eq__", "array.__ne__") and \
            kind.startswith("type:"):
        return "ok", "Python's == protocol: " + str(r.get("ret"))
    if (label, kind.split("@")[0]) in ACCEPTED:
        return "ok", "accepted: " + ACCEPTED[(label, kind.split("@")[0])]
    return "returned", f"returned {r.get('ret')}"


SEVERITY = ["crash", "hang", "wrong-type", "late", "returned", "no-bracket",
            "nb-dump", "baseline-failed", "name-differs", "ok-lazy", "ok",
            "baseline-ok"]

# Names a message may carry for a callable besides its own.
ALIASES = {
    "StreamContext": {"stream"},
    "ThreadLocalStream": {"new_thread_local_stream"},
    "array": {"array"},
    "array.__getitem__": {"getitem"},
    "array.__setitem__": {"setitem"},
    "array.__truediv__": {"divide"}, "array.__rtruediv__": {"divide"},
    "array.__itruediv__": {"divide"},
    "array.__sub__": {"subtract"}, "array.__rsub__": {"subtract"},
    "array.__isub__": {"subtract"},
    "array.__mul__": {"multiply"}, "array.__rmul__": {"multiply"},
    "array.__imul__": {"multiply"},
    "array.__mod__": {"remainder"}, "array.__rmod__": {"remainder"},
    "array.__imod__": {"remainder"},
    "array.__pow__": {"power"}, "array.__rpow__": {"power"},
    "array.__ipow__": {"power"},
    "array.__neg__": {"negative"},
    "array.__floordiv__": {"floor_divide"},
    "array.__rfloordiv__": {"floor_divide"},
    "array.__ifloordiv__": {"floor_divide"},
    "array.__dlpack__": {"__dlpack__"},
    "array.__iter__": {"array"}, "array.__len__": {"array"},
    "array.__bool__": {"array"},
    "array.__eq__": {"equal"}, "array.__ne__": {"not_equal"},
    "array.__lt__": {"less"}, "array.__le__": {"less_equal"},
    "array.__gt__": {"greater"}, "array.__ge__": {"greater_equal"},
    "array.__float__": {"float", "item"}, "array.__int__": {"int", "item"},
}


def name_matches(label, msg):
    """Whether the message's [name] is the callable's (or an alias)."""
    m = BRACKET.match(msg)
    if not m:
        return True  # judged elsewhere
    name = m.group(0)[1:-2]
    own = label.split(".")[-1].strip("_")
    for pre in ("r", "i"):  # __radd__, __iadd__
        if label.startswith("array.__" + pre) and own[1:] == name:
            return True
    return (name == own or name.endswith("." + own) or name.endswith(own)
            or name in ALIASES.get(label, ()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--markdown", help="write the table as Markdown here")
    ap.add_argument("--json", help="write every case and outcome here")
    ap.add_argument("--only", help="comma-separated function labels")
    ap.add_argument("--sample", type=int, default=0,
                    help="run only every N-th case (a quick sample)")
    ap.add_argument("--batch", type=int, default=150,
                    help="calls per child process")
    ap.add_argument("--jobs", type=int, default=2,
                    help="child processes at once")
    ap.add_argument("--timeout", type=float, default=20.0,
                    help="seconds one call may take before it is a hang")
    ap.add_argument("--memory-limit", type=int, default=1 << 30,
                    help="runnel memory limit in the children (bytes)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    import tempfile
    tmpdir = tempfile.mkdtemp(prefix="bad-input-")
    args.tmp = os.path.join(tmpdir, "f")

    import runnel as rn
    only = set(args.only.split(",")) if args.only else None
    cases = build_cases(rn, only)
    if args.sample > 1:
        cases = [c for j, c in enumerate(cases)
                 if j % args.sample == 0 or c[1] == "baseline"]
    results = {}
    groups, cur = [], []
    for i, c in enumerate(cases):
        if (c[0] in ISOLATE and c[1] != "baseline") or \
                c[1] in ISOLATE_KINDS:
            groups.append([i])
            continue
        cur.append(i)
        if len(cur) >= args.batch:
            groups.append(cur)
            cur = []
    if cur:
        groups.append(cur)
    # ISOLATE cases are many tiny groups: pack them into a child each but
    # run them after the big batches.
    from concurrent.futures import ThreadPoolExecutor
    t0 = time.monotonic()
    with ThreadPoolExecutor(args.jobs) as ex:
        list(ex.map(lambda g: run_batch(g, cases, args, results), groups))
    elapsed = time.monotonic() - t0

    rows = []
    for i, c in enumerate(cases):
        r = results.get(i, {"child": "hang", "stderr": "no result"})
        outcome, detail = classify(c, r)
        if r.get("batch_only"):
            detail = f"({r['batch_only']} in batch only) " + detail
        rows.append((c[0], c[1], outcome, detail, c[2],
                     "/".join(c[3]) if c[3] else ""))
    counts = {}
    for row in rows:
        counts[row[2]] = counts.get(row[2], 0) + 1
    order = {k: j for j, k in enumerate(SEVERITY)}
    rows_sorted = sorted(rows, key=lambda r: (order.get(r[2], 0), r[0],
                                              r[1]))
    if not args.quiet:
        w = max(len(r[0]) for r in rows) if rows else 10
        for fn, kind, outcome, detail, code, exp in rows_sorted:
            if outcome in ("ok", "baseline-ok", "ok-lazy"):
                continue
            print(f"{outcome:<15} {fn:<{w}} {kind:<28} {code[:70]:<70} "
                  f"-> {detail[:140]}")
    print()
    print(f"{len(rows)} calls, {len({r[0] for r in rows})} callables, "
          f"{elapsed:.1f} s")
    for k in SEVERITY:
        if k in counts:
            print(f"  {k:<16} {counts[k]}")
    if args.markdown:
        write_markdown(args.markdown, rows, rows_sorted, counts)
    if args.json:
        with open(args.json, "w") as f:
            json.dump([dict(zip(("function", "kind", "outcome", "detail",
                                 "code", "expected"), r)) for r in rows],
                      f, indent=1)
    bad = sum(counts.get(k, 0) for k in ("crash", "hang"))
    return 1 if bad else 0


def md(s):
    return s.replace("|", "\\|").replace("\n", " ")


def write_markdown(path, rows, rows_sorted, counts):
    kinds = sorted({r[1].split("@")[0].split(":")[0] for r in rows})
    with open(path, "w") as f:
        f.write("# runnel bad-input table\n\n")
        f.write("Generated by `scripts/bad-input.py`. Outcomes: "
                + ", ".join(SEVERITY) + ".\n\n")
        f.write("## Summary\n\n| outcome | calls |\n| --- | --- |\n")
        for k in SEVERITY:
            if k in counts:
                f.write(f"| {k} | {counts[k]} |\n")
        f.write(f"| total | {len(rows)} |\n\n")
        # function x kind-family -> worst outcome (count)
        f.write("## Function x kind of bad input (worst outcome, calls)\n\n")
        f.write("| function | " + " | ".join(kinds) + " |\n")
        f.write("| --- |" + " --- |" * len(kinds) + "\n")
        order = {k: j for j, k in enumerate(SEVERITY)}
        by_fn = {}
        for fn, kind, outcome, *_ in rows:
            fam = kind.split("@")[0].split(":")[0]
            by_fn.setdefault(fn, {}).setdefault(fam, []).append(outcome)
        for fn in sorted(by_fn):
            cells = []
            for fam in kinds:
                outs = by_fn[fn].get(fam)
                if not outs:
                    cells.append("")
                    continue
                worst = min(outs, key=lambda o: order.get(o, 0))
                cells.append(f"{worst} ({len(outs)})")
            f.write(f"| {fn} | " + " | ".join(cells) + " |\n")
        f.write("\n## Every call that is not ok\n\n")
        f.write("| outcome | function | kind | call | expected | got |\n")
        f.write("| --- | --- | --- | --- | --- | --- |\n")
        for fn, kind, outcome, detail, code, exp in rows_sorted:
            if outcome in ("ok", "baseline-ok", "ok-lazy"):
                continue
            f.write(f"| {outcome} | {md(fn)} | {md(kind)} | `{md(code)}` | "
                    f"{md(exp)} | {md(detail[:200])} |\n")


if __name__ == "__main__":
    sys.exit(main())
