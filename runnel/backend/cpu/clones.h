#pragma once

// Compute-bound CPU kernels also get AVX2 and AVX-512 versions, picked when
// the library loads (the build targets baseline x86-64). Only an attribute
// can ask for that, hence a macro; elsewhere it is empty. Results are the
// same bits in every version: no FMA contraction (-std=c++20 turns it off)
// and the same lanes.
//
// Sanitizer builds keep the baseline only: the loader runs the clones'
// resolvers while relocating librunnel, before the sanitizer runtime is up,
// and an instrumented resolver crashes there.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define RUNNEL_CPU_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define RUNNEL_CPU_CLONES
#endif
