"""The CPU op library against its peers, measured in the same run.

    .venv/bin/python bench/ops_bench.py           # the full sizes
    .venv/bin/python bench/ops_bench.py --quick   # small sizes, a smoke run

Every op runs on the CPU in float32 on random inputs made once per op (made
and evaluated before timing starts). Each repetition builds the op and waits
for its result (eval for runnel and MLX; numpy is eager), after warm-up runs;
the table shows the median. Peers: MLX (`pip install "mlx[cpu]"`), then
numpy; a peer that is not installed is skipped with a message.

The last two rows are not times: the dispatch cost of a chain of 10,000 adds
of one element (built, then evaluated once), in ns per op, and the peak
memory of a 100-op elementwise chain evaluated once, in MiB.
"""

import argparse
import gc
import os
import platform
import statistics
import time

import numpy as np

import runnel as rn

try:
    import mlx.core as mx
except ImportError as e:
    mx = None
    print(f"MLX not available ({e}); its column is skipped. "
          'Install it with: pip install "mlx[cpu]"')


def median_time(run, reps, warmup):
    """Median seconds of run() over reps calls, after warmup calls."""
    for _ in range(warmup):
        run()
    times = []
    for _ in range(reps):
        gc.collect()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def random_inputs(rng, shapes):
    return [rng.standard_normal(s, dtype=np.float32) for s in shapes]


def np_softmax(x):
    m = x.max(axis=-1, keepdims=True)
    e = np.exp(x - m)
    return e / e.sum(axis=-1, keepdims=True)


# Each case: a name, the shapes of its inputs, and per library a function of
# the inputs that returns the (lazy, for runnel and MLX) result.
def cases(quick):
    k = 18 if quick else 24
    side = 512 if quick else 4096
    mm = 256 if quick else 2048
    return [
        (f"add 2^{k}", [(1 << k,), (1 << k,)],
         lambda a, b: rn.add(a, b),
         lambda a, b: mx.add(a, b),
         lambda a, b: np.add(a, b)),
        (f"exp 2^{k}", [(1 << k,)],
         lambda a: rn.exp(a),
         lambda a: mx.exp(a),
         lambda a: np.exp(a)),
        (f"sum 2^{k}", [(1 << k,)],
         lambda a: rn.sum(a),
         lambda a: mx.sum(a),
         lambda a: np.sum(a)),
        (f"sum axis 1 {side}x{side}", [(side, side)],
         lambda a: rn.sum(a, axis=1),
         lambda a: mx.sum(a, axis=1),
         lambda a: np.sum(a, axis=1)),
        (f"matmul {mm}^3", [(mm, mm), (mm, mm)],
         lambda a, b: rn.matmul(a, b),
         lambda a, b: mx.matmul(a, b),
         lambda a, b: np.matmul(a, b)),
        (f"softmax axis -1 {side}x{side}", [(side, side)],
         lambda a: rn.softmax(a, axis=-1),
         lambda a: mx.softmax(a, axis=-1),
         np_softmax),
    ]


def time_case(case, rng, reps, warmup):
    """Median seconds for runnel, MLX, numpy (None where skipped)."""
    _, shapes, rn_fn, mx_fn, np_fn = case
    host = random_inputs(rng, shapes)

    xs = [rn.array(h) for h in host]
    rn.eval(*xs)
    t_rn = median_time(lambda: rn.eval(rn_fn(*xs)), reps, warmup)
    del xs

    t_mx = None
    if mx is not None:
        ms = [mx.array(h) for h in host]
        mx.eval(*ms)
        t_mx = median_time(lambda: mx.eval(mx_fn(*ms)), reps, warmup)
        del ms

    t_np = median_time(lambda: np_fn(*host), reps, warmup)
    return t_rn, t_mx, t_np


def chain_of_adds(lib, ops):
    """Seconds to build `ops` dependent adds of one element and eval once."""
    x = lib.array(np.ones(1, dtype=np.float32))
    lib.eval(x)
    one = lib.array(np.ones(1, dtype=np.float32))
    lib.eval(one)
    start = time.perf_counter()
    y = x
    for _ in range(ops):
        y = lib.add(y, one)
    lib.eval(y)
    elapsed = time.perf_counter() - start
    assert abs(y.item() - (1 + ops)) < 1e-3 * ops
    return elapsed


def dispatch_ns(lib, ops, reps):
    chain_of_adds(lib, ops)  # warm-up
    return statistics.median(chain_of_adds(lib, ops) for _ in range(reps)) \
        / ops * 1e9


def chain_peak(lib, n, ops):
    """Peak bytes over evaluating `ops` elementwise ops on n floats once,
    counted from a reset taken once the input exists."""
    x = lib.array(np.random.default_rng(1).standard_normal(n, np.float32))
    lib.eval(x)
    gc.collect()
    lib.reset_peak_memory()
    y = x
    for i in range(ops):
        # A mix of unary and binary-with-scalar ops, values kept bounded.
        step = i % 4
        if step == 0:
            y = y * 0.5
        elif step == 1:
            y = y + 1.0
        elif step == 2:
            y = lib.tanh(y)
        else:
            y = lib.abs(y)
    lib.eval(y)
    peak = lib.get_peak_memory()
    del y
    return peak


def fmt_time(t):
    if t is None:
        return "—"
    if t >= 1:
        return f"{t:.2f} s"
    if t >= 1e-3:
        return f"{t * 1e3:.2f} ms"
    return f"{t * 1e6:.1f} µs"


def fmt_ratio(a, b):
    return "—" if a is None or b is None or b == 0 else f"{a / b:.2f}x"


def machine():
    model = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs, {model}"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="small sizes and few repetitions: a smoke run")
    p.add_argument("--reps", type=int, default=None,
                   help="timed repetitions per op (default 10, quick 3)")
    args = p.parse_args()
    reps = args.reps or (3 if args.quick else 10)
    warmup = 1 if args.quick else 2

    # Everything on the CPU, for every library.
    rn.set_default_device(rn.cpu)
    if mx is not None:
        mx.set_default_device(mx.cpu)

    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"machine: {machine()}; load average {load}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    versions = f"numpy {np.__version__}"
    if mx is not None:
        versions = f"mlx {mx.__version__}, " + versions
    print(f"runnel {rn.__version__}, {versions}; median of {reps} "
          f"after {warmup} warm-up")
    print()

    rows = []
    rng = np.random.default_rng(0)
    for case in cases(args.quick):
        t_rn, t_mx, t_np = time_case(case, rng, reps, warmup)
        rows.append((case[0], fmt_time(t_rn), fmt_time(t_mx), fmt_time(t_np),
                     fmt_ratio(t_rn, t_mx), fmt_ratio(t_rn, t_np)))
        print(f"  {case[0]}: done", flush=True)

    ops = 1000 if args.quick else 10_000
    d_rn = dispatch_ns(rn, ops, reps)
    d_mx = dispatch_ns(mx, ops, reps) if mx is not None else None
    rows.append((f"dispatch, {ops:,}-add chain, per op",
                 f"{d_rn:.0f} ns", "—" if d_mx is None else f"{d_mx:.0f} ns",
                 "—", fmt_ratio(d_rn, d_mx), "—"))

    k = 16 if args.quick else 26  # 256 MiB of float32, as the issue sets
    n = 1 << k
    p_rn = chain_peak(rn, n, 100)
    p_mx = chain_peak(mx, n, 100) if mx is not None else None
    mib = 1 << 20
    rows.append((f"peak memory, 100-op chain on 2^{k}",
                 f"{p_rn / mib:.1f} MiB",
                 "—" if p_mx is None else f"{p_mx / mib:.1f} MiB",
                 "—", fmt_ratio(p_rn, p_mx), "—"))

    header = ("op", "runnel", "MLX", "numpy", "runnel/MLX", "runnel/numpy")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(6)]
    print()
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths))
          + " |")
    print("|" + "|".join("-" * (w + 1) + ("-" if i == 0 else ":")
                         for i, w in enumerate(widths)) + "|")
    for r in rows:
        print("| " + " | ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths))) + " |")


if __name__ == "__main__":
    main()
