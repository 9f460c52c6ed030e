// Ops of several outputs (TESTING.md class 3): each output made on stream A
// and read on stream B carries its own dependency, and an output nobody
// holds any more is still written by the kernel.
#include <gtest/gtest.h>

#include "runnel/primitives/primitive.h"
#include "runnel/runnel.h"
#include "runnel/scheduler/graph.h"
#include "runnel/testing.h"
#include "tests/cpp/watchdog.h"

using namespace runnel;
namespace rt = runnel::testing;
using runnel::test::random_floats;
using runnel::test::watchdog_eval;

namespace {

// Two outputs of one float32 input: x + 1 and 2 x (CPU only).
class PlusOneAndDouble final : public Primitive {
 public:
  const char* name() const override { return "plus_one_and_double"; }
  void eval_cpu(const std::vector<array>& in,
                std::vector<array>& out) override {
    const float* x = in[0].data<float>();
    for (array& o : out) {
      o.node().data = detail::allocate(o.nbytes(), Device(cpu));
    }
    float* a = out[0].data<float>();
    float* b = out[1].data<float>();
    for (size_t i = 0; i < in[0].size(); ++i) {
      a[i] = x[i] + 1.0f;
      b[i] = 2.0f * x[i];
    }
  }
};

std::vector<array> plus_one_and_double(const array& x, Stream s) {
  return array::make_arrays({x.shape(), x.shape()}, {float32, float32},
                            std::make_shared<PlusOneAndDouble>(), {x}, s);
}

}  // namespace

TEST(MultiOutput, EachOutputReadOnAnotherStreamWaitsForTheOp) {
  watchdog_eval(30, [] {
    Stream a = new_stream(cpu), b = new_stream(cpu);
    auto xv = random_floats(257);
    array x(xv, Shape{257});
    auto gate = rt::block(a);
    auto outs = plus_one_and_double(x, a);
    // Consumers of the second output and of the first, on b.
    array second = multiply(outs[1], array(3.0f), b);
    array first = add(outs[0], array(0.5f), b);
    async_eval({second, first});
    EXPECT_FALSE(b.query());
    EXPECT_NE(second.status(), ArrayStatus::available);
    EXPECT_NE(first.status(), ArrayStatus::available);
    gate.open();
    eval({second, first});
    for (size_t i = 0; i < xv.size(); ++i) {
      ASSERT_FLOAT_EQ(second.data<float>()[i], 6.0f * xv[i]) << i;
      ASSERT_FLOAT_EQ(first.data<float>()[i], xv[i] + 1.5f) << i;
    }
    EXPECT_EQ(rt::execution_count("plus_one_and_double"), 1u);
  });
}

TEST(MultiOutput, AnOutputDroppedBeforeEvalIsStillWritten) {
  watchdog_eval(30, [] {
    Stream a = new_stream(cpu), b = new_stream(cpu);
    auto xv = random_floats(64);
    array x(xv, Shape{64});
    array kept = [&] {
      auto outs = plus_one_and_double(x, a);
      return outs[1];  // outs[0] is dropped here, unevaluated
    }();
    array y = add(kept, array(1.0f), b);
    eval(y);
    for (size_t i = 0; i < xv.size(); ++i) {
      ASSERT_FLOAT_EQ(y.data<float>()[i], 2.0f * xv[i] + 1.0f) << i;
    }
  });
}
