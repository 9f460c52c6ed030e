// A short tour of runnel: devices, streams, lazy ops across streams, events.
#include <chrono>
#include <iostream>
#include <variant>

#include "runnel/runnel.h"

using namespace runnel;

int main() {
  std::cout << "devices:\n";
  for (DeviceType t : {cpu, gpu}) {
    for (int i = 0; i < device_count(t); ++i) {
      Device d(t, i);
      std::cout << "  " << d;
      for (auto& [k, v] : device_info(d)) {
        std::cout << "  " << k << "=";
        std::visit([](auto& x) { std::cout << x; }, v);
      }
      std::cout << "\n";
    }
  }
  std::cout << "default device: " << default_device() << "\n";

  // Two producer streams and a consumer: the consumer waits for both
  // automatically, without blocking this thread.
  Stream a = new_stream(cpu);
  Stream b = new_stream(cpu, /*priority=*/-1);
  Stream c = new_stream(cpu);
  const int n = 1 << 22;
  array x = exp(arange(0.0, 1.0, 1.0 / n, a), a);      // on a
  array y = multiply(arange(n, b), array(2), b);       // on b
  array z = sum(add(x, astype(y, float32, c), c), c);  // on c
  auto t0 = std::chrono::steady_clock::now();
  async_eval({z});
  std::cout << "submitted to " << a << ", " << b << " and " << c << " in "
            << std::chrono::duration<double, std::micro>(
                   std::chrono::steady_clock::now() - t0)
                   .count()
            << " us\n";
  Event e;
  e.record(c);
  e.synchronize();
  std::cout << "sum(exp(x) + 2*i) over " << n
            << " elements = " << z.item<float>() << " (ran on " << c << ")\n";

  // A stream context makes a stream the default for this thread only.
  {
    StreamContext ctx(b);
    std::cout << "inside the context the default stream is "
              << default_stream(default_device()) << "\n";
  }
  std::cout << "after it: " << default_stream(default_device()) << "\n";
  synchronize();
  std::cout << "active memory: " << get_active_memory(Device(cpu))
            << " bytes, peak " << get_peak_memory(Device(cpu)) << "\n";
  return 0;
}
