"""Per-op cost of runnel's Python API beside MLX's and numpy's, in one run.

A chain of small adds (16 float32 elements, as in the issue) is built from
Python and evaluated, in two forms:

  once   10,000 adds built lazily, then one eval
  each   10,000 adds with an eval after every add (MLX takes about 35 µs
         per op there: 0.35 s a run, so every library runs the full chain)

numpy has no lazy form: its row is the eager add on the same 16 floats. The
figures are medians of interleaved runs (runnel, MLX, numpy, runnel, ...), so
that a slow phase of the machine hits every library alike. Each library's
chain also runs under callgrind at two lengths, and the difference gives
instructions per op (what the machine's noise does not move); runnel's is
printed beside its times. --no-callgrind skips that (it takes a minute or
two); without valgrind the column is left empty.

For a quick check that the script works: --runs 1 --ops 200.

Run from the repository root after scripts/test.sh (which makes .venv):

  .venv/bin/pip install "mlx[cpu]"      # the peer; skipped when missing
  .venv/bin/python bench/py_dispatch_bench.py [--runs 7] [--no-callgrind]
"""

import argparse
import importlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

OPS = 10_000
N = 16


def load(name):
    try:
        return importlib.import_module(name)
    except ImportError as e:
        print(f"({name} not installed: {e}; its column is left empty)")
        return None


rn = load("runnel")
mx = load("mlx.core")


def lazy_chain(lib, ops, n, every):
    """Seconds per op of `ops` adds on an n-element float32 array."""
    x = lib.array(np.random.default_rng().random(n, dtype=np.float32))
    one = lib.array(np.float32(1.0))
    lib.eval(x)
    t0 = time.perf_counter()
    for _ in range(ops):
        x = x + one
        if every:
            lib.eval(x)
    lib.eval(x)
    return (time.perf_counter() - t0) / ops


def numpy_chain(ops, n):
    x = np.random.default_rng().random(n, dtype=np.float32)
    one = np.float32(1.0)
    t0 = time.perf_counter()
    for _ in range(ops):
        x = x + one
    return (time.perf_counter() - t0) / ops


def check_values():
    """The chain's value against numpy, once per library (not timed)."""
    start = np.random.default_rng().random(N, dtype=np.float32)
    want = start.copy()
    for _ in range(100):
        want = want + np.float32(1.0)
    for name, lib in (("runnel", rn), ("mlx", mx)):
        if lib is None:
            continue
        x = lib.array(start)
        for _ in range(100):
            x = x + lib.array(np.float32(1.0))
        if not np.array_equal(np.array(x), want):
            raise AssertionError(f"{name}: chain value differs from numpy")


CALLGRIND_CHILD = """
import sys, numpy as np
lib_name, ops, every = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
if lib_name == "numpy":
    x = np.ones(16, np.float32)
    for _ in range(ops):
        x = x + np.float32(1.0)
    sys.exit(0)
import importlib
lib = importlib.import_module("runnel" if lib_name == "runnel" else "mlx.core")
x = lib.array(np.ones(16, np.float32)); one = lib.array(np.float32(1.0))
lib.eval(x)
for _ in range(ops):
    x = x + one
    if every:
        lib.eval(x)
lib.eval(x)
"""


def callgrind_per_op(lib_name, every, k):
    """Instructions per op: (I(2k ops) - I(k ops)) / k, every thread. The
    start-up must cost the same in both runs: a fixed hash seed, and OpenBLAS
    (numpy's) on one thread, whose spinning threads moved the count by
    millions from run to run."""
    env = dict(os.environ, PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1")
    counts = []
    with tempfile.TemporaryDirectory() as d:
        for ops in (k, 2 * k):
            out = os.path.join(d, f"cg.{ops}")
            subprocess.run(
                ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                 sys.executable, "-c", CALLGRIND_CHILD, lib_name, str(ops),
                 "1" if every else "0"],
                check=True, capture_output=True, env=env)
            with open(out) as f:
                summary = [ln for ln in f if ln.startswith("summary:")]
            counts.append(int(summary[0].split()[1]))
    return (counts[1] - counts[0]) / k


def fmt_us(s):
    return "" if s is None else f"{s * 1e6:.2f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--ops", type=int, default=OPS,
                    help="chain length of both forms (default 10,000)")
    ap.add_argument("--callgrind", dest="callgrind", action="store_true",
                    default=True, help="instructions per op (the default)")
    ap.add_argument("--no-callgrind", dest="callgrind", action="store_false")
    args = ap.parse_args()
    ops = args.ops

    check_values()
    libs = [("runnel", rn), ("mlx", mx)]
    once = {name: [] for name, _ in libs}
    each = {name: [] for name, _ in libs}
    eager = []
    for _ in range(2):  # warm-up: imports, first allocations, thread pools
        for name, lib in libs:
            if lib is not None:
                lazy_chain(lib, 1000, N, False)
                lazy_chain(lib, 200, N, True)
    for _ in range(args.runs):
        for name, lib in libs:
            if lib is None:
                continue
            once[name].append(lazy_chain(lib, ops, N, False))
            each[name].append(lazy_chain(lib, ops, N, True))
        eager.append(numpy_chain(ops, N))

    med = {}
    for name, _ in libs:
        med[name] = (statistics.median(once[name]) if once[name] else None,
                     statistics.median(each[name]) if each[name] else None)
    np_med = statistics.median(eager)

    # Instructions per op, after the timed runs (valgrind would slow them).
    cg = {}
    cg_note = ""
    if not args.callgrind:
        cg_note = "(--no-callgrind: no instruction counts)"
    elif shutil.which("valgrind") is None:
        cg_note = "(valgrind not found: no instruction counts)"
    else:
        k_once, k_each = min(4000, ops), min(1000, ops)
        for name, lib in libs + [("numpy", np)]:
            if lib is None:
                continue
            cg[name] = (callgrind_per_op(name, False, k_once),
                        callgrind_per_op(name, True, k_each)
                        if name != "numpy" else None)

    def fmt_cg(v):
        return "" if v is None else f"{v:,.0f}"

    print(f"\nmachine: {os.cpu_count()} CPUs, {platform.processor() or ''}"
          f" {platform.platform()}; python {platform.python_version()}")
    print(f"versions: runnel {getattr(rn, '__version__', '?')}, "
          f"mlx {getattr(mx, '__version__', '-') if mx else '-'}, "
          f"numpy {np.__version__}; median of {args.runs} interleaved runs\n")
    print("| chain of 16-float adds | runnel µs/op | runnel instr/op | "
          "MLX µs/op | numpy eager µs/op | runnel/MLX | runnel/numpy | "
          "target |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for i, form in enumerate((f"{ops:,} built, one eval",
                              f"{ops:,}, eval after every op")):
        r, m = med["runnel"][i], med["mlx"][i]
        ratio_m = f"{r / m:.2f}x" if r and m else ""
        ratio_n = f"{r / np_med:.2f}x" if r and i == 0 else ""
        target = "≤ 0.25x MLX, ≤ 3x numpy" if i == 0 else "≤ 0.25x MLX"
        instr = fmt_cg(cg["runnel"][i]) if "runnel" in cg else ""
        print(f"| {form} | {fmt_us(r)} | {instr} | {fmt_us(m)} | "
              f"{fmt_us(np_med) if i == 0 else ''} | {ratio_m} | {ratio_n} | "
              f"{target} |")

    if not cg:
        print(f"\n{cg_note}")
        return
    print("\n| callgrind instructions per op | once | each |")
    print("|---|---:|---:|")
    for name, (a, b) in cg.items():
        print(f"| {name} | {fmt_cg(a)} | {fmt_cg(b)} |")


if __name__ == "__main__":
    main()
