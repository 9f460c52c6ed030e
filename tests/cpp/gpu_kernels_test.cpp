// Which primitives of runnel/primitives/list.h the CUDA backend has no
// kernel for. The expected gaps are listed below, and the list only shrinks:
// a primitive without a kernel that is not listed fails, and so does a
// listed one that has a kernel now. Needs the CUDA backend library (loading
// it needs no driver nor GPU); skipped in a build without it.
#include <cxxabi.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <vector>

#include "runnel/backend/gpu.h"
#include "runnel/primitives/creation.h"
#include "runnel/primitives/elementwise.h"
#include "runnel/primitives/indexing.h"
#include "runnel/primitives/linalg.h"
#include "runnel/primitives/list.h"
#include "runnel/primitives/random.h"
#include "runnel/primitives/reduce.h"
#include "runnel/primitives/shape.h"
#include "runnel/primitives/testing.h"
#include "runnel/runnel.h"

using namespace runnel;

namespace {

// The primitives still without a GPU kernel, by class name.
const std::set<std::string> kStillWithoutKernel = {
    // creation.h
    "Linspace", "Eye",
    // elementwise.h
    "Subtract", "Divide", "FloorDivide", "Remainder", "Power", "Maximum",
    "Minimum", "ArcTan2", "Equal", "NotEqual", "Less", "LessEqual", "Greater",
    "GreaterEqual", "LogicalAnd", "LogicalOr", "Select", "Negative", "Sign",
    "Expm1", "Log", "Log1p", "Sqrt", "Rsqrt", "Square", "Reciprocal", "Sin",
    "Cos", "Tan", "Tanh", "Sigmoid", "Erf", "Floor", "Ceil", "Round", "IsNan",
    "IsInf", "LogicalNot",
    // indexing.h
    "Gather", "Scatter",
    // linalg.h
    "Matmul", "AddMM",
    // random.h
    "RandomBits", "RandomUniform", "RandomNormal", "RandomInt",
    "RandomBernoulli",
    // reduce.h
    "Reduce", "ArgReduce", "Scan", "Softmax",
    // shape.h
    "Concatenate", "Stack", "Pad", "Tile", "Repeat"};

template <class P>
std::string class_name() {
  int status = 0;
  char* d = abi::__cxa_demangle(typeid(P).name(), nullptr, nullptr, &status);
  std::string s = status == 0 && d ? d : typeid(P).name();
  std::free(d);
  if (s.rfind("runnel::", 0) == 0) s.erase(0, 8);
  return s;
}

// Whether P runs something of its own on the GPU (the views, Adopt) instead
// of the kernel the backend bound to it: it overrides PrimitiveOf's eval_gpu.
template <class P>
constexpr bool runs_its_own =
    !std::is_same_v<decltype(&P::eval_gpu),
                    void (PrimitiveOf<P>::*)(const std::vector<array>&,
                                             std::vector<array>&)>;

std::string joined(const std::set<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

class GpuKernels : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string path = detail::gpu::backend_path();
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) {
      GTEST_SKIP() << "this build has no CUDA backend library (" << path << ")";
    }
    backend_ = &detail::gpu::backend("gpu_kernels_test");
    // The library is there: the backend must be it, not backend/no_gpu.
    ASSERT_EQ(backend_->stand_in_reason(), "")
        << "the CUDA backend library " << path << " is there but not loaded";
  }
  detail::gpu::Backend* backend_ = nullptr;
};

TEST_F(GpuKernels, OnlyTheListedPrimitivesLackAKernel) {
  std::set<std::string> without, all;
  for_each_primitive([&]<class P>(std::type_identity<P>) {
    all.insert(class_name<P>());
    if (!runs_its_own<P> && !backend_->has_kernel(kPrimitiveId<P>)) {
      without.insert(class_name<P>());
    }
  });
  ASSERT_EQ(all.size(), kPrimitiveCount);
  std::set<std::string> unlisted, now_bound, unknown;
  for (const auto& n : without) {
    if (!kStillWithoutKernel.count(n)) unlisted.insert(n);
  }
  for (const auto& n : kStillWithoutKernel) {
    if (!all.count(n)) {
      unknown.insert(n);
    } else if (!without.count(n)) {
      now_bound.insert(n);
    }
  }
  EXPECT_TRUE(unlisted.empty())
      << "without a GPU kernel, and not in kStillWithoutKernel: "
      << joined(unlisted);
  EXPECT_TRUE(now_bound.empty())
      << "have a GPU kernel now: remove them from kStillWithoutKernel: "
      << joined(now_bound);
  EXPECT_TRUE(unknown.empty())
      << "in kStillWithoutKernel but not in runnel/primitives/list.h: "
      << joined(unknown);
}

TEST_F(GpuKernels, NoKernelIsBoundToAPrimitiveThatRunsItsOwn) {
  std::set<std::string> bound;
  size_t own = 0;
  for_each_primitive([&]<class P>(std::type_identity<P>) {
    if (!runs_its_own<P>) return;
    ++own;
    if (backend_->has_kernel(kPrimitiveId<P>)) bound.insert(class_name<P>());
  });
  EXPECT_EQ(own, 7u);  // the six views and Adopt
  EXPECT_TRUE(bound.empty()) << "bound, but never run: " << joined(bound);
}

TEST(GpuKernelsDefault, APrimitiveOutsideTheListHasNoGpuKernel) {
  struct Local final : Primitive {
    const char* name() const override { return "local"; }
    void eval_cpu(const std::vector<array>&, std::vector<array>&) override {}
  } p;
  std::vector<array> in, out;
  try {
    p.eval_gpu(in, out);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "[local] has no GPU kernel yet.");
  }
}

}  // namespace
