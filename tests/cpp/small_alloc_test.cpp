// The small-block lists behind array nodes: blocks made on one thread and
// freed on another, by many threads at once, keep their contents and are
// never handed out twice.
#include "runnel/core/small_alloc.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "tests/cpp/test_util.h"

using runnel::detail::small_alloc;
using runnel::detail::small_free;
using runnel::test::scaled;
using runnel::test::watchdog_eval;

namespace {

TEST(SmallAlloc, BlocksAreDistinctAndKeepTheirBytes) {
  for (size_t size : {1, 16, 17, 100, 240, 512, 513, 4096}) {
    std::vector<unsigned char*> live;
    for (int i = 0; i < 500; ++i) {
      auto* p = static_cast<unsigned char*>(small_alloc(size));
      std::memset(p, i & 0xff, size);
      live.push_back(p);
    }
    std::set<unsigned char*> unique(live.begin(), live.end());
    EXPECT_EQ(unique.size(), live.size()) << "size " << size;
    for (int i = 0; i < 500; ++i) {
      for (size_t j = 0; j < size; ++j) ASSERT_EQ(live[i][j], i & 0xff);
      small_free(live[i], size);
    }
  }
}

// Producers allocate and fill blocks, consumers check and free them: the
// pattern of nodes made on the user's thread and freed on a worker's.
TEST(SmallAlloc, MadeOnOneThreadFreedOnAnother) {
  const int rounds = static_cast<int>(scaled(20'000));
  constexpr int kPairs = 4;
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < kPairs; ++t) {
    auto queue = std::make_shared<std::vector<std::atomic<uint64_t*>>>(64);
    threads.emplace_back([=] {
      for (int i = 0; i < rounds; ++i) {
        auto* p = static_cast<uint64_t*>(small_alloc(48));
        for (int k = 0; k < 6; ++k) p[k] = static_cast<uint64_t>(i) * 7 + k;
        auto& slot = (*queue)[i % 64];
        uint64_t* expected = nullptr;
        while (!slot.compare_exchange_weak(expected, p)) {
          expected = nullptr;
          std::this_thread::yield();
        }
      }
    });
    threads.emplace_back([=, &bad] {
      for (int i = 0; i < rounds; ++i) {
        auto& slot = (*queue)[i % 64];
        uint64_t* p;
        while (!(p = slot.exchange(nullptr))) std::this_thread::yield();
        for (int k = 0; k < 6; ++k) {
          if (p[k] != static_cast<uint64_t>(i) * 7 + k) ++bad;
        }
        small_free(p, 48);
      }
    });
  }
  watchdog_eval(30, [&] {
    for (auto& th : threads) th.join();
  });
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
