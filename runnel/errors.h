// The exceptions runnel raises beyond the standard ones. Bad arguments raise
// std::invalid_argument (std::out_of_range for an index), at the call;
// failures while work runs are raised at the next wait.
#pragma once

#include <stdexcept>

namespace runnel {

// Out of memory, from runnel's own accounting (Python MemoryError): a request
// above the device's memory limit, or one the system could not satisfy.
class out_of_memory : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace runnel
