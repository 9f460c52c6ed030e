"""GPU-side timelines of small ops: runnel's against PyTorch's.

gpu_bench times the host side only. This script asks CUPTI (through
torch.profiler, which sees every kernel of the process, runnel's included)
when each kernel started and ended on the GPU and when the host called its
launch, for a cross-stream ping-pong and for a chain of 1 MiB abs on one
stream, and prints per hop (op):

  kernel   the kernel's duration on the GPU
  gap      from the end of hop i's kernel to the start of hop i+1's (on the
           other stream): the cross-stream wait as the GPU sees it
  queued   from the end of the launch call to the kernel's start: large when
           the GPU is behind the host, near zero when the host is behind
  launch   from one launch call's start to the next one's: the host's
           rate of issue

Run on the GPU machine with the package installed (scripts/gpu-check.sh
timeline); --hops sets the chain length, --json DIR writes runnel's raw
traces there.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

import runnel as rn


def runnel_pingpong(hops):
    g = rn.Device(rn.gpu, 0)
    s = [rn.new_stream(g), rn.new_stream(g)]
    one = rn.ones((1,), rn.float32, stream=s[0])
    x = rn.zeros((1,), rn.float32, stream=s[0])
    rn.eval(one, x)

    def run():
        y = x
        for i in range(hops):
            y = rn.add(y, one, stream=s[i & 1])
        rn.eval(y)
        assert float(np.asarray(y)[0]) == hops

    return run


def torch_pingpong(hops):
    s = [torch.cuda.Stream(), torch.cuda.Stream()]
    ev = [torch.cuda.Event(), torch.cuda.Event()]
    x = torch.zeros(1, device="cuda")
    torch.cuda.synchronize()

    def run():
        x.zero_()
        torch.cuda.synchronize()
        for i in range(hops):
            with torch.cuda.stream(s[i & 1]):
                x.add_(1.0)
                ev[i & 1].record()
            s[(i + 1) & 1].wait_event(ev[i & 1])
        torch.cuda.synchronize()
        assert float(x.item()) == hops

    return run


def runnel_abs(ops):
    g = rn.Device(rn.gpu, 0)
    s = rn.new_stream(g)
    src = rn.array(np.random.default_rng().random(1 << 18, dtype=np.float32))
    src = rn.abs(src, stream=s)
    rn.eval(src)

    def run():
        for _ in range(ops):
            rn.async_eval(rn.abs(src, stream=s))
        rn.synchronize(s)

    return run


def torch_abs(ops):
    s = torch.cuda.Stream()
    src = torch.rand(1 << 18, device="cuda")
    torch.cuda.synchronize()

    def run():
        with torch.cuda.stream(s):
            for _ in range(ops):
                torch.abs(src)
        torch.cuda.synchronize()

    return run


def trace(run, path):
    run()  # warm: kernels loaded, pools filled
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as p:
        run()
    p.export_chrome_trace(path)
    with open(path) as f:
        return json.load(f)["traceEvents"]


def summarise(name, events, hops):
    kernels = sorted(
        (e for e in events if e.get("cat") == "kernel"), key=lambda e: e["ts"]
    )
    launches = sorted(
        (
            e
            for e in events
            if e.get("cat") in ("cuda_runtime", "cuda_driver")
            and "aunch" in e.get("name", "")
        ),
        key=lambda e: e["ts"],
    )
    others = {}
    for e in events:
        if e.get("cat") in ("gpu_memcpy", "gpu_memset", "gpu_user_annotation"):
            others[e.get("name")] = others.get(e.get("name"), 0) + 1
    # The chain's kernels: the last `hops` of them (runnel's first eval may
    # add a copy or fill before them).
    ks = kernels[-hops:]
    by_corr = {e["args"].get("correlation"): e for e in launches if "args" in e}
    dur = [k["dur"] for k in ks]
    gap = [b["ts"] - (a["ts"] + a["dur"]) for a, b in zip(ks, ks[1:])]
    queued, issue = [], []
    prev = None
    for k in ks:
        l = by_corr.get(k["args"].get("correlation"))
        if l is None:
            continue
        queued.append(k["ts"] - (l["ts"] + l["dur"]))
        if prev is not None:
            issue.append(l["ts"] - prev["ts"])
        prev = l
    span = ks[-1]["ts"] + ks[-1]["dur"] - ks[0]["ts"] if ks else 0
    streams = sorted({k["args"].get("stream") for k in ks})
    med = lambda v: statistics.median(v) if v else float("nan")
    print(f"\n[{name}] {len(kernels)} kernels traced, {len(ks)} in the chain, "
          f"streams {streams}; {len(launches)} launch calls; other GPU "
          f"activity {others or 'none'}")
    print(f"  GPU span of the chain: {span:.0f} us, {span / max(len(ks), 1):.2f} "
          f"us per hop")
    print(f"  per hop (median us): kernel {med(dur):.2f}  gap {med(gap):.2f}  "
          f"queued {med(queued):.2f}  launch {med(issue):.2f}")
    for q in (10, 90):
        if gap:
            print(f"  p{q}: gap {np.percentile(gap, q):.2f}  queued "
                  f"{np.percentile(queued, q) if queued else float('nan'):.2f}  "
                  f"launch {np.percentile(issue, q) if issue else float('nan'):.2f}")
    names = {}
    for k in ks:
        names[k["name"][:60]] = names.get(k["name"][:60], 0) + 1
    print(f"  kernel names: {names}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hops", type=int, default=400)
    ap.add_argument("--json", help="directory for the raw traces")
    a = ap.parse_args()
    if not rn.is_available(rn.gpu) or not torch.cuda.is_available():
        print("no GPU: nothing to trace")
        return 0
    out = a.json or tempfile.mkdtemp()
    cases = (
        ("runnel ping-pong", "pingpong", runnel_pingpong),
        ("torch ping-pong", None, torch_pingpong),
        ("runnel abs 1 MiB, one stream", "abs", runnel_abs),
        ("torch abs 1 MiB, one stream", None, torch_abs),
    )
    for name, keep, make in cases:
        path = os.path.join(out if keep else tempfile.mkdtemp(),
                            f"timeline_{keep}.json")
        summarise(name, trace(make(a.hops), path), a.hops)
    return 0


if __name__ == "__main__":
    sys.exit(main())
