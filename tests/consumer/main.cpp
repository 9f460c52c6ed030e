#include <runnel/runnel.h>

#include <cstdio>

int main() {
  runnel::Stream s = runnel::new_stream(runnel::cpu);
  runnel::array x = runnel::sum(runnel::arange(100, s), s);
  int v = x.item<int>();
  std::printf("sum(arange(100)) = %d on %s\n", v,
              runnel::to_string(s.device()).c_str());
  return v == 4950 ? 0 : 1;
}
