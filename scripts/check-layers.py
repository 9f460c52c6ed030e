#!/usr/bin/env python3
"""Fails on an #include in runnel/ that points up a layer.

The layers, bottom to top (docs/architecture.md draws them). A file may
include files of its own layer or of a layer below, never above:

  0 base        core/ (containers, the timeline, test-hook switches), the
                small value types: half.h dtype.h device.h errors.h utils.h
                scatter_op.h, and primitives/list.h (the primitive classes'
                names and ids, which a GPU backend binds kernels by)
  1 values      the public value types over them: stream.h array.h event.h
                memory.h transforms.h
  2 memory      memory/ (buffers, the allocator), backend/gpu.h (what the
                core asks of a GPU backend)
  3 scheduler   scheduler/ (streams, strands, the graph, eval) and the
                primitive interface: primitives/primitive.h
  4 primitives  primitives/ (one class per op), backend/common/ (scalar
                functors and the work every device does alike)
  5 kernels     backend/cpu/, backend/cuda/, backend/no_gpu/, gpu_loader.cpp:
                plug-ins that implement the primitives; nothing outside
                backend/ includes them
  6 ops         ops/ and ops.h: the op constructors, which build graphs
                through array's constructors and know nothing of the
                scheduler (no scheduler/ include)
  7 model       the public model's implementation (array.cpp, stream.cpp,
                device.cpp, event.cpp, testing.*) and runnel.h

Usage: scripts/check-layers.py [ROOT]   (ROOT: the repository, default: .)
"""
import pathlib
import re
import sys

LAYERS = ["base", "values", "memory", "scheduler", "primitives", "kernels",
          "ops", "model"]

BASE_HEADERS = {"half.h", "dtype.h", "device.h", "errors.h", "utils.h",
                "scatter_op.h", "dtype.cpp", "utils.cpp"}
VALUE_HEADERS = {"stream.h", "array.h", "event.h", "memory.h", "transforms.h"}
PLUGINS = ("backend/cpu/", "backend/cuda/", "backend/no_gpu/")


def layer(rel: str) -> int:
    """The layer of a path relative to runnel/."""
    if (rel.startswith("core/") or rel in BASE_HEADERS
            or rel == "primitives/list.h"):
        return 0
    if rel in VALUE_HEADERS:
        return 1
    if rel.startswith("memory/") or rel == "backend/gpu.h":
        return 2
    if rel.startswith("scheduler/") or rel in (
            "primitives/primitive.h", "primitives/primitive.cpp"):
        return 3
    if rel.startswith("primitives/") or rel.startswith("backend/common/"):
        return 4
    if rel.startswith(PLUGINS) or rel == "backend/gpu_loader.cpp":
        return 5
    if rel.startswith("ops/") or rel == "ops.h":
        return 6
    if "/" not in rel:
        return 7
    raise SystemExit(f"check-layers: no layer for runnel/{rel}: add it here "
                     "and to docs/architecture.md")


INCLUDE = re.compile(r'^\s*#\s*include\s+"runnel/([^"]+)"', re.M)


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    src = root / "runnel"
    bad = []
    files = sorted(p for p in src.rglob("*")
                   if p.suffix in (".h", ".cpp", ".cu", ".cuh"))
    for path in files:
        rel = path.relative_to(src).as_posix()
        mine = layer(rel)
        for target in INCLUDE.findall(path.read_text()):
            theirs = layer(target)
            if theirs > mine:
                bad.append(f"runnel/{rel} ({LAYERS[mine]}) includes "
                           f"runnel/{target} ({LAYERS[theirs]}), a layer above")
            elif rel.startswith("ops/") and target.startswith("scheduler/"):
                bad.append(f"runnel/{rel} includes runnel/{target}: op "
                           "constructors build nodes through array, not the "
                           "scheduler's graph")
            elif target.startswith(PLUGINS) and not rel.startswith("backend/"):
                bad.append(f"runnel/{rel} includes runnel/{target}: backend "
                           "plug-ins are reached only through the primitives' "
                           "eval_cpu/eval_gpu and backend/gpu.h")
    for line in bad:
        print(line)
    print(f"check-layers: {len(files)} files, "
          f"{'no include points up' if not bad else f'{len(bad)} bad includes'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
