// How a scatter combines an update with the value already there: a value
// type of the indexing ops (runnel/ops/indexing.h) and of their primitives.
#pragma once

#include <cstdint>

namespace runnel {

enum class ScatterOp : uint8_t { none, add, prod, max, min };

}  // namespace runnel
