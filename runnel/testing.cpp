#include "runnel/testing.h"

#include <stdexcept>
#include <string>

#include "runnel/core/hooks.h"
#include "runnel/primitives/testing.h"
#include "runnel/scheduler/graph.h"
#include "runnel/scheduler/stream_state.h"

namespace runnel::testing {
namespace {

class NoWork final : public detail::Work {
 public:
  void run() override {}
};

class HostWork final : public detail::Work {
 public:
  HostWork(std::function<void()> fn, detail::StreamState* s)
      : fn_(std::move(fn)), stream_(s) {}
  void run() override {
    try {
      fn_();
    } catch (...) {
      stream_->errors.add(detail::ErrorRecord::current("in host task"));
    }
  }

 private:
  std::function<void()> fn_;
  detail::StreamState* stream_;
};

}  // namespace

struct Gate::State {
  std::shared_ptr<detail::Timeline> timeline =
      std::make_shared<detail::Timeline>();
};

Gate::Gate(Stream s) : state_(std::make_shared<State>()) {
  auto w = std::make_unique<NoWork>();
  w->deps.push_back(detail::Dep{state_->timeline, 1});
  s.state().submit(std::move(w));
}

Gate::~Gate() {
  if (state_) open();
}

void Gate::open() { state_->timeline->advance(1); }

Gate block(Stream s) { return Gate(std::move(s)); }

void enqueue(Stream s, std::function<void()> fn) {
  s.state().submit(std::make_unique<HostWork>(std::move(fn), &s.state()));
}

array delay(const array& a, int64_t microseconds, StreamOrDevice s) {
  if (microseconds < 0) {
    throw std::invalid_argument("[delay] microseconds must be >= 0.");
  }
  return array(a.shape(), a.dtype(), std::make_shared<Delay>(microseconds), {a},
               to_stream(s));
}

array trap(const array& a, StreamOrDevice s) {
  return array(a.shape(), a.dtype(), std::make_shared<Trap>(), {a},
               to_stream(s));
}

uint64_t execution_count(const std::string& op_name) {
  return detail::hooks::execution_count(op_name);
}

void set_max_batch(int n) { detail::hooks::set_max_batch(n); }
int max_batch() { return detail::hooks::max_batch(); }

void set_poison(bool on) { detail::hooks::set_poison(on); }
bool poison() { return detail::hooks::poison(); }

void set_fault(const std::string& spec) { detail::hooks::set_fault(spec); }

void set_claim_delay(int64_t us) { detail::hooks::set_claim_delay(us); }

}  // namespace runnel::testing
