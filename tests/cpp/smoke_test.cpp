#include <gtest/gtest.h>

#include "runnel/runnel.h"

using namespace runnel;

TEST(Smoke, AddOnTwoStreams) {
  Stream a = new_stream(cpu), b = new_stream(cpu);
  array x = arange(10, a);
  array y = add(x, x, b);
  eval(y);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(y.data<int>()[i], 2 * i);
}
