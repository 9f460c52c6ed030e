// Evaluation: schedule the work that computes arrays.
#pragma once

#include <vector>

#include "runnel/array.h"

namespace runnel {

// Schedules everything the arrays need and waits for them; raises the first
// error any of them holds.
void eval(std::vector<array> outputs);
// Schedules everything the arrays need and returns at once.
void async_eval(std::vector<array> outputs);

template <class... Arrays>
requires(std::is_same_v<std::decay_t<Arrays>, array>&&...) void eval(
    Arrays&&... a) {
  eval(std::vector<array>{std::forward<Arrays>(a)...});
}

}  // namespace runnel
