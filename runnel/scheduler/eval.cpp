// eval: walk the graph, claim its unscheduled ops, cut each stream's share
// into segments where streams wait on each other, and submit the segments in
// a topological order interleaved across streams.
#include <algorithm>
#include <chrono>
#include <random>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "runnel/core/hooks.h"
#include "runnel/memory/handoff.h"
#include "runnel/scheduler/graph.h"
#include "runnel/scheduler/pool.h"
#include "runnel/scheduler/stream_state.h"
#include "runnel/transforms.h"

namespace runnel {
namespace detail {
namespace {

// One op of a segment, with what it needs to run: its primitive and inputs
// moved out of the graph, and its outputs.
struct OpRun {
  std::shared_ptr<Primitive> primitive;
  Inputs inputs;
  SmallVector<array, 1> outputs;
};

// The vectors a kernel takes its inputs and outputs in, kept per thread so
// that running an op allocates nothing. `busy` while a kernel holds them: a
// kernel that runs other work on its thread (a GPU launch from a CPU
// worker) gets fresh ones.
struct KernelArgs {
  std::vector<array> in, out;
  bool busy = false;
};
thread_local KernelArgs tls_args;

class SegmentWork final : public Work {
 public:
  explicit SegmentWork(StreamState* stream) : stream_(stream) {}
  // One segment per eval and stream in the common case: from the per-thread
  // small-block lists, as the graph's nodes are.
  static void* operator new(size_t n) { return small_alloc(n); }
  static void operator delete(void* p, size_t n) { small_free(p, n); }

  // Mostly one op (a segment cut at a cross-stream edge) or many.
  SmallVector<OpRun, 1> ops;

  size_t op_names(const char** out, size_t max) const override {
    size_t n = 0;
    for (size_t i = 0; i < names_.size() && n < max; ++i) out[n++] = names_[i];
    return n;
  }

  void run() override {
    const bool on_cpu = stream_->device.type == DeviceType::cpu;
    for (; next_ < ops.size(); ++next_) {
      // An urgent strand ready now runs before our next op, not after the
      // whole segment.
      if (on_cpu && next_ > 0) yield_to_urgent();
      if (!run_one(ops[next_])) return;  // parked for memory: resume here
      ops[next_].primitive.reset();
    }
  }

 private:
  // False when the op must wait for memory and run again (resume_after).
  // The op's inputs and outputs are released once it has run.
  bool run_one(OpRun& op) {
    ErrorPtr err;
    for (const array& in : op.inputs) {
      if (in.node().error) {
        err = in.node().error;
        break;
      }
    }
    if (err) {
      for (array& out : op.outputs) out.node().error = err;
      stream_->errors.add(err);
      op.inputs.clear();
      op.outputs.clear();
      return true;
    }
    KernelArgs* mine = &tls_args;
    asm("" : "+r"(mine));  // one thread-local lookup (see small_alloc.cpp)
    std::unique_ptr<KernelArgs> spare;
    if (mine->busy) spare = std::make_unique<KernelArgs>();
    KernelArgs& args = spare ? *spare : *mine;
    args.busy = true;
    move_into(op.inputs, args.in);
    move_into(op.outputs, args.out);
    const char* name = op.primitive->name();
    if (names_.size() < kNames &&
        (names_.empty() || names_[names_.size() - 1] != name)) {
      names_.push_back(name);
    }
    try {
      if (hooks::fault_op(name)) {
        throw std::runtime_error(std::string("[") + name +
                                 "] injected failure (RUNNEL_FAULT)");
      }
      if (stream_->device.type == DeviceType::cpu) {
        op.primitive->eval_cpu(args.in, args.out);
      } else {
        op.primitive->eval_gpu(args.in, args.out);
      }
    } catch (MemoryWait& wait) {
      for (array& out : args.out) out.node().data.reset();
      // Back into the op, to run again.
      move_into(args.in, op.inputs);
      move_into(args.out, op.outputs);
      args.busy = false;
      resume_after = std::move(wait.retry_after);
      return false;
    } catch (...) {
      std::ostringstream where;
      where << "in " << name << " on Stream(" << stream_->device << ", "
            << stream_->index << ")";
      err = ErrorRecord::current(where.str());
    }
    if (name != counted_name_) {
      counter_ = hooks::execution_counter(name);
      counted_name_ = name;
    }
    counter_->fetch_add(1, std::memory_order_relaxed);
    if (err) {
      for (array& out : args.out) out.node().error = err;
      stream_->errors.add(err);
    }
    for (const array& in : args.in) {  // a later op may take them over
      reads_done(&in.node());
      reads_done(in.node().data.get());
    }
    args.in.clear();
    args.out.clear();
    args.busy = false;
    return true;
  }

  // Moves every element of `from` to `to` (empty); `from` ends empty.
  template <class From, class To>
  static void move_into(From& from, To& to) {
    for (array& a : from) to.push_back(std::move(a));
    from.clear();
  }

  StreamState* stream_;  // kept alive by the queue that runs us
  size_t next_ = 0;
  static constexpr size_t kNames = 4;
  SmallVector<const char*, kNames> names_;  // consecutive repeats once
  // The execution counter of the last op's name (most segments run one
  // primitive over and over).
  const char* counted_name_ = nullptr;
  std::atomic<uint64_t>* counter_ = nullptr;
};

struct Segment {
  StreamState* stream = nullptr;
  SmallVector<int, 2> ops;    // indices into the eval's order
  SmallVector<int, 2> after;  // segments of other streams it waits for
  uint64_t value = 0;
  bool submitted = false;
};

std::atomic<uint32_t> g_next_eval_id{1};

class Evaluator {
 public:
  explicit Evaluator(const std::vector<array>& outputs) : outputs_(outputs) {}

  // An eval that meets ops claimed by another eval (foreign ops) submits
  // everything it claimed that does not depend on them, releases the rest,
  // waits on the host until the foreign ops leave the claimed state, and
  // walks again. It so never waits while holding a claim: whoever holds a
  // claim another eval waits for is submitting it without waiting.
  void run(bool wait) {
    for (;;) {
      if (take_deferred_wake()) Pool::get().wake_one();
      walk();
      if (!order_.empty()) {
        if (int64_t us = hooks::claim_delay()) {
          thread_local std::minstd_rand rng(std::random_device{}());
          std::this_thread::sleep_for(
              std::chrono::microseconds(rng() % (us + 1)));
        }
        defer_foreign_dependent();
        try {
          cut();
          // An eval that waits may run its stream itself (wait_outputs).
          defer_wakes(wait);
          submit_all();
          defer_wakes(false);
        } catch (...) {
          defer_wakes(false);
          if (take_deferred_wake()) Pool::get().wake_one();
          release(order_);
          release(deferred_);
          throw;
        }
      }
      if (deferred_.empty()) {
        if (!wait || outputs_submitted()) break;
      } else {
        release(deferred_);
        for (auto& [op, keep] : foreign_) wait_not_claimed(*op);
      }
      reset();
    }
    if (wait) wait_outputs();
  }

 private:
  static uint64_t next_token() {
    static std::atomic<uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
  }
  bool mine(const OpNode* op) const {
    return op->owner.load(std::memory_order_relaxed) == token_;
  }

  // Claims `op` for this eval, or notes that another eval owns it.
  void consider(const std::shared_ptr<OpNode>& op,
                std::vector<std::pair<OpNode*, size_t>>& stack) {
    if (!op || mine(op.get())) return;
    uint8_t s = OpNode::kUnscheduled;
    if (op->status.compare_exchange_strong(s, OpNode::kClaimed,
                                           std::memory_order_acq_rel)) {
      op->owner.store(token_, std::memory_order_relaxed);
      keep_.push_back(op);
      stack.emplace_back(op.get(), 0);
    } else if (s == OpNode::kClaimed) {
      foreign_.emplace(op.get(), op);
    }
  }

  void walk() {
    std::vector<std::pair<OpNode*, size_t>> stack;
    for (const array& a : outputs_) {
      consider(a.node().op, stack);
      while (!stack.empty()) {
        auto& [op, next] = stack.back();
        if (next < op->inputs.size()) {
          consider(op->inputs[next++].node().op, stack);
          continue;
        }
        op->slot = static_cast<int32_t>(order_.size());
        order_.push_back(op);
        stack.pop_back();
      }
    }
  }

  // Moves the claimed ops that read a foreign op, directly or through other
  // claimed ops, from order_ to deferred_. What stays in order_ is still in
  // a topological order and needs nothing another eval holds.
  void defer_foreign_dependent() {
    if (foreign_.empty()) return;
    std::vector<char> tainted(order_.size(), 0);
    std::vector<OpNode*> kept;
    for (size_t i = 0; i < order_.size(); ++i) {
      OpNode* op = order_[i];
      for (const array& in : op->inputs) {
        OpNode* p = in.node().op.get();
        if (!p) continue;
        if (foreign_.count(p)) {
          tainted[i] = 1;
        } else if (mine(p) && tainted[p->slot]) {
          tainted[i] = 1;
        }
        if (tainted[i]) break;
      }
      if (tainted[i]) {
        deferred_.push_back(op);
      } else {
        kept.push_back(op);
      }
    }
    for (OpNode* op : deferred_) op->owner.store(0, std::memory_order_relaxed);
    order_ = std::move(kept);
    for (size_t i = 0; i < order_.size(); ++i) {
      order_[i]->slot = static_cast<int32_t>(i);
    }
  }

  // Hands claimed, unsubmitted ops back to any eval.
  static void release(const std::vector<OpNode*>& ops) {
    for (OpNode* op : ops) {
      uint8_t s = OpNode::kClaimed;
      if (op->status.compare_exchange_strong(s, OpNode::kUnscheduled)) {
        op->status.notify_all();
      }
    }
  }

  void reset() {
    token_ = next_token();
    foreign_.clear();
    keep_.clear();
    order_.clear();
    deferred_.clear();
    seg_of_.clear();
    read_across_.clear();
    segments_.clear();
    open_.clear();
    open_cached_ = nullptr;
    per_stream_.clear();
  }

  static void wait_not_claimed(OpNode& op) {
    for (uint8_t s = op.status.load(std::memory_order_acquire);
         s == OpNode::kClaimed; s = op.status.load(std::memory_order_acquire)) {
      op.status.wait(s, std::memory_order_acquire);
    }
  }

  // Waits until every output's op is submitted; false when one went back
  // to unscheduled (its claimer deferred it): walk again.
  bool outputs_submitted() {
    for (const array& a : outputs_) {
      OpNode* op = a.node().op.get();
      if (!op) continue;
      wait_not_claimed(*op);
      if (op->status.load(std::memory_order_acquire) != OpNode::kSubmitted) {
        return false;
      }
    }
    return true;
  }

  // The segment of `s` that ops may still join (-1: none). Consecutive ops
  // are mostly on one stream: its entry is kept at hand (references into an
  // unordered_map stay valid as it grows).
  int& open_of(StreamState* s) {
    if (s != open_cached_) {
      open_cached_ = s;
      open_cached_seg_ = &open_.try_emplace(s, -1).first->second;
    }
    return *open_cached_seg_;
  }

  int open_segment(StreamState* s) {
    segments_.emplace_back();
    segments_.back().stream = s;
    int id = static_cast<int>(segments_.size()) - 1;
    open_of(s) = id;
    per_stream_[s].push_back(id);
    return id;
  }

  // Marks the ops of this eval that an op on another stream of this eval
  // reads: their segment ends with them, so that the reader waits for them
  // and not for what their stream runs after them.
  void mark_read_across() {
    read_across_.assign(order_.size(), 0);
    for (OpNode* op : order_) {
      StreamState* s = &op->stream.state();
      for (const array& in : op->inputs) {
        OpNode* p = in.node().op.get();
        if (p && mine(p) && &p->stream.state() != s) read_across_[p->slot] = 1;
      }
    }
  }

  void cut() {
    const int cap = hooks::max_batch();
    mark_read_across();
    seg_of_.assign(order_.size(), -1);
    for (size_t i = 0; i < order_.size(); ++i) {
      OpNode* op = order_[i];
      StreamState* s = &op->stream.state();
      SmallVector<int, 4> after;
      bool cross = false;
      for (const array& in : op->inputs) {
        OpNode* p = in.node().op.get();
        if (!p) continue;
        if (mine(p)) {
          StreamState* ps = &p->stream.state();
          if (ps == s) continue;
          cross = true;
          after.push_back(seg_of_[p->slot]);  // ends with p (read_across_)
        } else if (&p->stream.state() != s && !in.node().done.seen_reached()) {
          cross = true;
        }
      }
      int seg = open_of(s);
      if (seg < 0 || cross ||
          (cap > 0 && static_cast<int>(segments_[seg].ops.size()) >= cap)) {
        seg = open_segment(s);
      }
      Segment& g = segments_[seg];
      g.ops.push_back(static_cast<int>(i));
      g.after.append(after.begin(), after.end());
      seg_of_[i] = seg;
      if (read_across_[i]) open_of(s) = -1;  // nothing later joins it
    }
  }

  bool ready(const Segment& g) const {
    for (int a : g.after) {
      if (!segments_[a].submitted) return false;
    }
    return true;
  }

  void submit_all() {
    std::vector<std::pair<StreamState*, size_t>> heads;  // stream, next index
    for (auto& [s, ids] : per_stream_) heads.emplace_back(s, 0);
    size_t remaining = segments_.size();
    while (remaining > 0) {
      bool progress = false;
      for (auto& [s, next] : heads) {
        auto& ids = per_stream_[s];
        if (next < ids.size() && ready(segments_[ids[next]])) {
          submit(segments_[ids[next]]);
          ++next;
          --remaining;
          progress = true;
        }
      }
      if (!progress) {
        // Segments wait only on earlier segments of this eval.
        throw std::logic_error("[eval] segments form a cycle");
      }
    }
  }

  void submit(Segment& g) {
    auto work = std::make_unique<SegmentWork>(g.stream);
    // Dependencies, one per timeline (the latest value).
    auto add_dep = [&](const Dep& d) {
      if (d.seen_reached()) return;
      for (Dep& e : work->deps) {
        if (e.timeline == d.timeline) {
          e.value = std::max(e.value, d.value);
          return;
        }
      }
      work->deps.push_back(d);
    };
    for (int a : g.after) {
      Segment& p = segments_[a];
      add_dep(Dep{p.stream->timeline_ptr(), p.value});
    }
    for (int i : g.ops) {
      OpNode* op = order_[i];
      for (const array& in : op->inputs) {
        OpNode* p = in.node().op.get();
        if (!p || mine(p)) continue;
        if (&p->stream.state() != g.stream) add_dep(in.node().done);
      }
    }
    work->ops.reserve(g.ops.size());
    for (int i : g.ops) {
      OpNode* op = order_[i];
      OpRun& r = work->ops.emplace_back();
      r.primitive = std::move(op->primitive);
      r.inputs = std::move(op->inputs);
      for (size_t k = 0; k < op->num_outputs(); ++k) {
        auto n = op->output_at(k).lock();
        if (!n) {
          // A sibling output nobody holds any more: the kernel still
          // writes it.
          auto& [shape, dtype] = op->dropped_meta[r.outputs.size()];
          n = std::make_shared<ArrayNode>();
          n->shape = shape;
          n->strides = contiguous_strides(shape);
          n->size = shape_size(shape);
          n->dtype = dtype;
        }
        r.outputs.emplace_back(std::move(n));
      }
    }
    auto tl = g.stream->timeline_ptr();
    g.value = g.stream->submit(std::move(work));
    // Mark the outputs once the value is known. The work may already have
    // run and released them: the op nodes (kept alive by keep_) reach them
    // weakly, as a node nobody holds is seen by nobody, and a strong
    // reference here would keep a kernel from taking over the buffer of an
    // intermediate that only it reads (donation).
    for (int i : g.ops) {
      OpNode* op = order_[i];
      for (size_t k = 0; k < op->num_outputs(); ++k) {
        if (auto n = op->output_at(k).lock()) n->done = Dep{tl, g.value};
      }
    }
    for (int i : g.ops) {
      order_[i]->status.store(OpNode::kSubmitted, std::memory_order_release);
      order_[i]->status.notify_all();
    }
    g.submitted = true;
  }

  void wait_outputs() {
    // Submission left idle workers asleep: the first output's strand runs
    // here, or a worker is woken after all.
    bool owe_wake = take_deferred_wake();
    for (const array& a : outputs_) {
      ArrayNode& n = a.node();
      if (!n.done.timeline) continue;
      const bool helped = n.done.timeline->help(n.done.value);
      if (std::exchange(owe_wake, false) && !helped) Pool::get().wake_one();
      n.done.timeline->wait(n.done.value);
    }
    if (owe_wake) Pool::get().wake_one();
    for (const array& a : outputs_) {
      if (a.node().error) a.node().error->raise_reported();
    }
  }

  const std::vector<array>& outputs_;
  // This round's claims: an op is ours when its owner is this token.
  uint64_t token_ = next_token();
  std::unordered_map<OpNode*, std::shared_ptr<OpNode>> foreign_;
  std::vector<std::shared_ptr<OpNode>> keep_;
  std::vector<OpNode*> order_;
  std::vector<OpNode*> deferred_;  // claimed, but reading foreign ops
  std::vector<int> seg_of_;
  std::vector<char> read_across_;
  std::vector<Segment> segments_;
  std::unordered_map<StreamState*, int> open_;
  StreamState* open_cached_ = nullptr;
  int* open_cached_seg_ = nullptr;
  std::unordered_map<StreamState*, std::vector<int>> per_stream_;
};

}  // namespace
}  // namespace detail

void eval(std::vector<array> outputs) { detail::Evaluator(outputs).run(true); }

void async_eval(std::vector<array> outputs) {
  detail::Evaluator(outputs).run(false);
}

}  // namespace runnel
