// Several GPUs: every visible GPU is its own Device with its own streams and
// memory; arrays cross between GPUs (peer copies where the link allows,
// staged otherwise) with exact values, ordered by the GPU delay, never by
// timing. The tests skip below two GPUs; device-index validation runs with
// one GPU too.
#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "runnel/runnel.h"
#include "runnel/testing.h"
#include "tests/cpp/test_util.h"

using namespace runnel;
namespace rt = runnel::testing;
using runnel::test::rng;
using runnel::test::with_watchdog;

namespace {

using MultiGpu = test::NeedsGpus<2>;

Device g(int i) { return Device(gpu, i); }

// Small integers as float32: sums and products of them are exact.
array random_ints(int n, std::vector<double>* host) {
  std::uniform_int_distribution<int> d(-50, 50);
  host->resize(n);
  for (auto& x : *host) x = d(rng());
  return array(host->data(), float64, {n}, float32);
}

std::vector<double> values(const array& a) {
  return test::as_doubles(a, Device(cpu));
}

}  // namespace

// Indices past the GPU count are refused at the call, naming the device;
// with one GPU or none too.
TEST(MultiGpuIndex, DevicesPastTheCountAreRejected) {
  const int n = device_count(gpu);
  EXPECT_FALSE(is_available(Device(gpu, n)));
  EXPECT_FALSE(is_available(Device(cpu, 1)));
  try {
    new_stream(Device(gpu, n));
    ADD_FAILURE() << "new_stream on Device(gpu, " << n << ") did not throw";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("Device(gpu, " + std::to_string(n)),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(set_default_device(Device(gpu, n)), std::exception);
  EXPECT_THROW(device_info(Device(gpu, n)), std::exception);
  for (int i = 0; i < n; ++i) EXPECT_TRUE(is_available(Device(gpu, i)));
}

TEST_F(MultiGpu, EveryGpuIsADeviceWithItsOwnInfo) {
  const int n = device_count(gpu);
  std::set<std::string> uuids, buses;
  for (int i = 0; i < n; ++i) {
    auto info = device_info(g(i));
    uuids.insert(std::get<std::string>(info.at("uuid")));
    buses.insert(std::get<std::string>(info.at("pci_bus_id")));
  }
  EXPECT_EQ(uuids.size(), static_cast<size_t>(n));
  EXPECT_EQ(buses.size(), static_cast<size_t>(n));
}

TEST_F(MultiGpu, DefaultStreamsArePerDeviceAndThread) {
  Stream s0 = default_stream(g(0)), s1 = default_stream(g(1));
  EXPECT_EQ(s0.device(), g(0));
  EXPECT_EQ(s1.device(), g(1));
  EXPECT_NE(s0, s1);
  std::optional<Stream> other;
  std::thread t([&] { other = default_stream(g(1)); });
  t.join();
  EXPECT_EQ(other->device(), g(1));
  // A thread's own default for GPU 1 does not move GPU 0's.
  Stream mine = new_stream(g(1));
  set_default_stream(mine);
  EXPECT_EQ(default_stream(g(1)), mine);
  EXPECT_EQ(default_stream(g(0)), s0);
  set_default_stream(s1);
}

// Work on GPU 1 runs there: its memory figures move, GPU 0's do not.
TEST_F(MultiGpu, WorkOnGpuOneUsesGpuOne) {
  eval(zeros({1}, float32, g(0)), zeros({1}, float32, g(1)));
  synchronize(g(0));
  synchronize(g(1));
  const size_t before0 = get_active_memory(g(0));
  const size_t before1 = get_active_memory(g(1));
  std::vector<double> h;
  array x = random_ints(1 << 20, &h);
  array y = multiply(x, array(3.0f), g(1));
  eval(y);
  EXPECT_GE(get_active_memory(g(1)), before1 + (4u << 20));
  EXPECT_LT(get_active_memory(g(0)), before0 + (4u << 20));
  auto v = values(y);
  for (size_t i = 0; i < h.size(); ++i) ASSERT_EQ(v[i], 3 * h[i]) << i;
}

// An array made on GPU 0 and read on GPU 1 behind 300 ms of spinning on
// GPU 0: the reader waits for it, and the values are exact.
TEST_F(MultiGpu, ArraysMadeOnOneGpuAreReadOnTheOther) {
  with_watchdog([] {
    Stream a = new_stream(g(0)), b = new_stream(g(1));
    std::vector<double> h;
    array x = random_ints(1 << 16, &h);
    array y = add(rt::delay(x, 300'000, a), array(1.0f), a);
    array z = multiply(y, array(2.0f), b);
    async_eval({z});
    EXPECT_FALSE(b.query());
    auto v = values(z);
    for (size_t i = 0; i < h.size(); ++i) ASSERT_EQ(v[i], 2 * (h[i] + 1)) << i;
    // And back: GPU 1's result read on GPU 0.
    auto w = values(subtract(z, y, a));
    for (size_t i = 0; i < h.size(); ++i) ASSERT_EQ(w[i], h[i] + 1) << i;
  });
}

// A chain alternating a stream on GPU 0, one on GPU 1 and a CPU stream, in
// one eval and with an eval each step, exact at the end.
TEST_F(MultiGpu, ChainAlternatingTwoGpusAndTheCpu) {
  with_watchdog([] {
    Stream s[3] = {new_stream(g(0)), new_stream(g(1)), new_stream(cpu)};
    for (bool each : {false, true}) {
      std::vector<double> h;
      array x = random_ints(1000, &h);
      const int steps = 60;
      for (int i = 0; i < steps; ++i) {
        x = add(x, array(1.0f), s[i % 3]);
        if (each) eval(x);
      }
      auto v = values(x);
      for (size_t i = 0; i < h.size(); ++i) ASSERT_EQ(v[i], h[i] + steps) << i;
    }
  });
}

// An event recorded on GPU 0 and waited on a GPU 1 stream orders the two.
TEST_F(MultiGpu, EventsAreWaitedAcrossGpus) {
  with_watchdog([] {
    Stream a = new_stream(g(0)), b = new_stream(g(1));
    array y = rt::delay(array(1.0f), 300'000, a);
    async_eval({y});
    Event e;
    e.record(a);
    e.wait(b);
    array z = add(zeros({4}, float32, b), array(1.0f), b);
    async_eval({z});
    EXPECT_FALSE(e.query());
    EXPECT_FALSE(b.query());
    eval(z);
    EXPECT_TRUE(e.query());
    EXPECT_EQ(values(z), (std::vector<double>{1, 1, 1, 1}));
  });
}

// Buffers go back to the GPU they came from: once the arrays are dropped,
// each GPU's active memory returns to where it was.
TEST_F(MultiGpu, MemoryIsFreedOnTheRightDevice) {
  synchronize(g(0));
  synchronize(g(1));
  const size_t before0 = get_active_memory(g(0));
  const size_t before1 = get_active_memory(g(1));
  {
    std::vector<double> h;
    array x = random_ints(1 << 20, &h);
    array a = add(x, array(1.0f), g(0));
    array b = multiply(a, array(2.0f), g(1));  // a copied to GPU 1
    eval(b);
    EXPECT_GE(get_active_memory(g(0)), before0 + (4u << 20));
    EXPECT_GE(get_active_memory(g(1)), before1 + (8u << 20));
  }
  synchronize(g(0));
  synchronize(g(1));
  EXPECT_EQ(get_active_memory(g(0)), before0);
  EXPECT_EQ(get_active_memory(g(1)), before1);
}
