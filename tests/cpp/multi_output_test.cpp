// Ops of several outputs: each output made on stream A
// and read on stream B carries its own dependency, and an output nobody
// holds any more is still written by the kernel.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <thread>

#include "runnel/primitives/primitive.h"
#include "runnel/runnel.h"
#include "runnel/scheduler/graph.h"
#include "runnel/testing.h"
#include "tests/cpp/test_util.h"

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

// The same with a real multi-output op: random::split(key) makes two keys on
// stream A behind a gate; each key is read on a stream of its own (copied,
// and used to draw bits). Neither reader may run before the split, and both
// see what split and the draws give on one stream.
TEST(MultiOutput, SplitKeysReadOnOtherStreamsWaitForTheProducer) {
  watchdog_eval(30, [] {
    const test::KeySeed seed;
    SCOPED_TRACE(seed.trace());
    const array key = seed.key();
    const Shape n{257};
    Stream one = new_stream(cpu);
    auto [want0, want1] = random::split(key, one);
    array want_bits0 = random::bits(n, 4, want0, one);
    array want_bits1 = random::bits(n, 4, want1, one);
    eval({want0, want1, want_bits0, want_bits1});

    Stream a = new_stream(cpu), b = new_stream(cpu), c = new_stream(cpu);
    auto gate = rt::block(a);
    auto [k0, k1] = random::split(key, a);
    // The second output first, on b; the first on c.
    array copy1 = copy(k1, b);
    array bits1 = random::bits(n, 4, k1, b);
    array copy0 = copy(k0, c);
    array bits0 = random::bits(n, 4, k0, c);
    async_eval({copy1, bits1, copy0, bits0});
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_FALSE(b.query());
    EXPECT_FALSE(c.query());
    for (const array& x : {copy1, bits1, copy0, bits0}) {
      EXPECT_NE(x.status(), ArrayStatus::available);
    }
    gate.open();
    eval({copy1, bits1, copy0, bits0});
    auto same = [](const array& got, const array& want, const char* what) {
      ASSERT_EQ(got.dtype(), uint32) << what;
      ASSERT_EQ(got.shape(), want.shape()) << what;
      for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_EQ(got.data<uint32_t>()[i], want.data<uint32_t>()[i])
            << what << " element " << i;
      }
    };
    same(copy0, want0, "first key");
    same(copy1, want1, "second key");
    same(bits0, want_bits0, "bits from the first key");
    same(bits1, want_bits1, "bits from the second key");
    EXPECT_NE(want0.data<uint32_t>()[0], want1.data<uint32_t>()[0]);
  });
}
