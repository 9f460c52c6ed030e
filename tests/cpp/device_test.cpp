// Devices: the value type, counts, availability, info and the
// process-wide default device.
#include <gtest/gtest.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "runnel/runnel.h"
#include "tests/cpp/test_util.h"

using namespace runnel;
using runnel::test::random_int;

namespace {

std::vector<Device> available_devices() {
  std::vector<Device> out;
  for (DeviceType t : {cpu, gpu}) {
    for (int i = 0; i < device_count(t); ++i) out.emplace_back(t, i);
  }
  return out;
}

// Expects `fn` to throw std::invalid_argument whose message names `d`.
template <class F>
void expect_rejects(const Device& d, F&& fn) {
  try {
    fn();
    ADD_FAILURE() << "expected std::invalid_argument naming " << d;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(to_string(d)), std::string::npos)
        << e.what();
  }
}

}  // namespace

TEST(Device, TypeConvertsToDeviceIndexZero) {
  Device c = cpu;
  Device g = gpu;
  EXPECT_EQ(c, Device(cpu, 0));
  EXPECT_EQ(g, Device(gpu, 0));
  EXPECT_EQ(Device(gpu), Device(gpu, 0));
  EXPECT_EQ(c.type, DeviceType::cpu);
  EXPECT_EQ(c.index, 0);
}

TEST(Device, EqualityAndOrdering) {
  int i = random_int(1, 1000);
  EXPECT_EQ(Device(gpu, i), Device(gpu, i));
  EXPECT_NE(Device(gpu, i), Device(gpu, i + 1));
  EXPECT_NE(Device(cpu, 0), Device(gpu, 0));
  // Ordered by type, then index.
  EXPECT_LT(Device(cpu, 0), Device(gpu, 0));
  EXPECT_LT(Device(cpu, i), Device(gpu, 0));
  EXPECT_LT(Device(gpu, i), Device(gpu, i + 1));
  EXPECT_GT(Device(gpu, i + 1), Device(gpu, i));
  std::set<Device> s{Device(gpu, 2), Device(cpu, 0), Device(gpu, 1)};
  std::vector<Device> sorted(s.begin(), s.end());
  EXPECT_EQ(sorted, (std::vector<Device>{Device(cpu, 0), Device(gpu, 1),
                                         Device(gpu, 2)}));
}

TEST(Device, HashAgreesWithEquality) {
  int i = random_int(0, 1000);
  std::hash<Device> h;
  EXPECT_EQ(h(Device(gpu, i)), h(Device(gpu, i)));
  EXPECT_NE(h(Device(cpu, 0)), h(Device(gpu, 0)));
  std::unordered_set<Device> set;
  for (int k = 0; k < 8; ++k) {
    set.insert(Device(gpu, k));
    set.insert(Device(gpu, k));
    set.insert(Device(cpu, k));
  }
  EXPECT_EQ(set.size(), 16u);
  EXPECT_TRUE(set.count(Device(gpu, 7)));
  EXPECT_FALSE(set.count(Device(gpu, 8)));
}

TEST(Device, PrintsTypeAndIndex) {
  int i = random_int(0, 99);
  std::ostringstream os;
  os << Device(cpu, 0) << ' ' << Device(gpu, i) << ' ' << cpu << ' ' << gpu;
  EXPECT_EQ(os.str(),
            "Device(cpu, 0) Device(gpu, " + std::to_string(i) + ") cpu gpu");
  EXPECT_EQ(to_string(Device(gpu)), "Device(gpu, 0)");
  EXPECT_EQ(to_string(cpu), "Device(cpu, 0)");
}

TEST(Device, CountIsOneCpuAndNeverThrows) {
  EXPECT_EQ(device_count(cpu), 1);
  int n = -1;
  EXPECT_NO_THROW(n = device_count(gpu));
  EXPECT_GE(n, 0);
  EXPECT_EQ(device_count(gpu), n);  // stable
}

TEST(Device, AvailabilityFollowsCount) {
  EXPECT_TRUE(is_available(Device(cpu, 0)));
  EXPECT_TRUE(is_available(cpu));
  EXPECT_FALSE(is_available(Device(cpu, 1)));
  EXPECT_FALSE(is_available(Device(cpu, -1)));
  int n = device_count(gpu);
  for (int i = 0; i < n; ++i) EXPECT_TRUE(is_available(Device(gpu, i)));
  EXPECT_FALSE(is_available(Device(gpu, n)));
  EXPECT_FALSE(is_available(Device(gpu, -1)));
}

TEST(Device, CpuInfoHasNameArchitectureMemoryAndCores) {
  DeviceInfo info = device_info(Device(cpu, 0));
  for (const char* key :
       {"device_name", "architecture", "total_memory", "core_count"}) {
    EXPECT_TRUE(info.count(key)) << "missing key " << key;
  }
  ASSERT_TRUE(std::holds_alternative<std::string>(info["device_name"]));
  EXPECT_FALSE(std::get<std::string>(info["device_name"]).empty());

  ASSERT_TRUE(std::holds_alternative<std::string>(info["architecture"]));
  utsname u{};
  ASSERT_EQ(uname(&u), 0);
  EXPECT_EQ(std::get<std::string>(info["architecture"]), u.machine);

  ASSERT_TRUE(std::holds_alternative<int64_t>(info["total_memory"]));
  int64_t mem = std::get<int64_t>(info["total_memory"]);
  int64_t phys = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) *
                 static_cast<int64_t>(sysconf(_SC_PAGE_SIZE));
  EXPECT_GT(mem, int64_t{64} << 20);  // more than 64 MiB
  EXPECT_EQ(mem, phys);

  ASSERT_TRUE(std::holds_alternative<int64_t>(info["core_count"]));
  int64_t cores = std::get<int64_t>(info["core_count"]);
  EXPECT_GE(cores, 1);
  EXPECT_EQ(cores, static_cast<int64_t>(std::thread::hardware_concurrency()));
}

TEST(Device, InfoDefaultsToDefaultDevice) {
  if (default_device() != Device(cpu)) {
    GTEST_SKIP() << "the default device is not the CPU";
  }
  EXPECT_EQ(device_info(), device_info(Device(cpu)));
}

TEST(Device, InfoRejectsUnavailableDevice) {
  expect_rejects(Device(cpu, 1), [] { device_info(Device(cpu, 1)); });
  Device g(gpu, device_count(gpu));
  expect_rejects(g, [&] { device_info(g); });
}

TEST(Device, DefaultStartsAsGpuWhenAvailableElseCpu) {
  // Runs first thing in its own ctest process; in a shared process another
  // test may have set the default, which must still be an available device.
  Device d = default_device();
  EXPECT_TRUE(is_available(d)) << d;
  if (device_count(gpu) == 0) {
    EXPECT_EQ(d, Device(cpu, 0));
  }
}

TEST(Device, SetDefaultRejectsUnavailableAndKeepsOld) {
  Device before = default_device();
  for (Device bad : {Device(cpu, 1), Device(cpu, -1),
                     Device(gpu, device_count(gpu)), Device(gpu, 7)}) {
    expect_rejects(bad, [&] { set_default_device(bad); });
    EXPECT_EQ(default_device(), before);
  }
}

namespace {

// Every entry point that takes a device rejects an unavailable one, naming it,
// and leaves the defaults as they were.
void expect_rejected_everywhere(const Device& d) {
  Device before = default_device();
  Stream before_stream = default_stream(cpu);
  EXPECT_FALSE(is_available(d));
  expect_rejects(d, [&] { set_default_device(d); });
  expect_rejects(d, [&] { device_info(d); });
  expect_rejects(d, [&] { default_stream(d); });
  expect_rejects(d, [&] { new_stream(d); });
  expect_rejects(d, [&] { new_stream(d, -1); });
  expect_rejects(d, [&] { stream_priority_range(d); });
  expect_rejects(d, [&] { synchronize(d); });
  expect_rejects(d, [&] { StreamContext c(d); });
  expect_rejects(d, [&] { to_stream(d); });
  expect_rejects(d, [&] { arange(4, d); });
  expect_rejects(d, [&] { Event().record(d); });
  expect_rejects(d, [&] { Event().wait(d); });
  EXPECT_EQ(default_device(), before);
  EXPECT_EQ(default_stream(cpu), before_stream);
}

}  // namespace

TEST(Device, MissingCpuIndexRejectedEverywhere) {
  expect_rejected_everywhere(Device(cpu, 1));
}

TEST(Device, GpuZeroRejectedEverywhereWithoutGpu) {
  if (device_count(gpu) > 0) GTEST_SKIP() << "a GPU is present";
  expect_rejected_everywhere(Device(gpu, 0));
  expect_rejects(Device(gpu, 0), [] { set_default_device(gpu); });
  expect_rejects(Device(gpu, 0), [] { new_stream(gpu); });
  expect_rejects(Device(gpu, 0), [] { StreamContext c(gpu); });
  EXPECT_EQ(default_device(), Device(cpu, 0));
}

TEST(Device, SetDefaultCpuIsSeenByEveryThreadOutsideContexts) {
  set_default_device(cpu);
  EXPECT_EQ(default_device(), Device(cpu, 0));
  Device seen(gpu, 99);
  test::with_watchdog([&] { seen = default_device(); });
  EXPECT_EQ(seen, Device(cpu, 0));
}

// The default device is process-wide, read at call time: a change made in one
// thread is seen at once by another that has already read the old value.
TEST(Device, SetDefaultInOneThreadIsSeenInAnotherImmediately) {
  auto devs = available_devices();
  if (devs.size() < 2) {
    GTEST_SKIP() << "needs two available devices; this machine has "
                 << devs.size();
  }
  Device original = default_device();
  std::atomic<int> step{0};
  Device seen_before = cpu, seen_after = cpu;
  test::with_watchdog([&] {
    std::thread other([&] {
      seen_before = default_device();
      step = 1;
      while (step.load() != 2) std::this_thread::yield();
      seen_after = default_device();
    });
    while (step.load() != 1) std::this_thread::yield();
    Device next = seen_before == devs[0] ? devs[1] : devs[0];
    set_default_device(next);
    step = 2;
    other.join();
    EXPECT_EQ(seen_after, next);
    EXPECT_NE(seen_before, next);
  });
  set_default_device(original);
}

// Inside a context the context's device wins; a set_default_device made
// inside changes the process default, which is kept after the context.
TEST(Device, SetDefaultInsideContextIsKeptAfterIt) {
  auto devs = available_devices();
  Device original = default_device();
  Device ctx = devs.size() > 1 ? devs[1] : devs[0];
  Device other = devs[0];
  {
    StreamContext c(ctx);
    EXPECT_EQ(default_device(), ctx);
    set_default_device(other);
    EXPECT_EQ(default_device(), ctx);  // the context still decides here
  }
  EXPECT_EQ(default_device(), other);
  set_default_device(original);
}
