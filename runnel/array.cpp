#include "runnel/array.h"

#include <cstring>
#include <stdexcept>
#include <string>

#include "runnel/backend/common/ops.h"
#include "runnel/backend/gpu.h"
#include "runnel/core/small_alloc.h"
#include "runnel/scheduler/graph.h"
#include "runnel/transforms.h"

namespace runnel {
namespace detail {

namespace {

// `fn` names the op in messages.
std::shared_ptr<ArrayNode> make_node(Shape shape, Dtype dtype,
                                     const char* fn = "array") {
  // As numpy's "array is too big": elements and bytes must fit in int64, or
  // sizes and strides wrap and a kernel writes past a small buffer.
  bool empty = false, over = false;
  uint64_t count = 1;
  for (int d : shape) {
    if (d < 0) {
      throw std::invalid_argument(std::string("[") + fn +
                                  "] Negative dimension " + std::to_string(d) +
                                  " in shape.");
    }
    empty = empty || d == 0;
    over =
        over || __builtin_mul_overflow(count, static_cast<uint64_t>(d), &count);
  }
  uint64_t bytes = 0;
  if (!empty &&
      (over || __builtin_mul_overflow(count, size_of(dtype), &bytes) ||
       bytes > static_cast<uint64_t>(INT64_MAX))) {
    throw std::invalid_argument(
        std::string("[") + fn + "] An array of shape " + shape_str(shape) +
        " and dtype " + std::string(dtype_name(dtype)) +
        " is too big: its size in bytes does not fit in 64 bits.");
  }
  auto n = std::allocate_shared<ArrayNode>(SmallAllocator<ArrayNode>{});
  n->size = shape_size(shape);
  n->strides = contiguous_strides(shape);
  n->shape = std::move(shape);
  n->dtype = dtype;
  return n;
}

}  // namespace

void convert_elements(const void* src, Dtype from, void* dst, Dtype to,
                      size_t n) {
  if (n == 0) return;  // src may be null (an empty vector's data())
  if (from == to) {
    std::memcpy(dst, src, n * size_of(from));
    return;
  }
  dispatch_dtype(from, [&]<class In>(std::type_identity<In>) {
    dispatch_dtype(to, [&]<class Out>(std::type_identity<Out>) {
      const In* s = static_cast<const In*>(src);
      Out* d = static_cast<Out*>(dst);
      for (size_t i = 0; i < n; ++i) d[i] = scalar::cast<Out>(s[i]);
    });
  });
}

bool is_row_contiguous(const Shape& shape, const Strides& strides) {
  int64_t expect = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    if (shape[i] != 1 && strides[i] != expect) return false;
    expect *= shape[i];
  }
  return true;
}

void copy_to_row_major(const array& a, void* dst) {
  const size_t item = a.itemsize();
  if (a.size() == 0) return;
  const char* src = static_cast<const char*>(a.raw_data());
  if (is_row_contiguous(a.shape(), a.strides())) {
    std::memcpy(dst, src, a.nbytes());
    return;
  }
  // An odometer over every axis but the last, which is copied as a run.
  const int nd = a.ndim();
  const Shape& shape = a.shape();
  const Strides& st = a.strides();
  const int64_t inner = st[nd - 1] * static_cast<int64_t>(item);
  const size_t run = static_cast<size_t>(shape[nd - 1]);
  std::vector<int> idx(nd, 0);
  char* out = static_cast<char*>(dst);
  int64_t off = 0;  // bytes from element 0
  for (size_t done = 0; done < a.size(); done += run) {
    const char* p = src + off;
    if (inner == static_cast<int64_t>(item)) {
      std::memcpy(out, p, run * item);
      out += run * item;
    } else {
      for (size_t i = 0; i < run; ++i, out += item) {
        std::memcpy(out, p + static_cast<int64_t>(i) * inner, item);
      }
    }
    for (int d = nd - 2; d >= 0; --d) {
      off += st[d] * static_cast<int64_t>(item);
      if (++idx[d] < shape[d]) break;
      off -= st[d] * static_cast<int64_t>(item) * shape[d];
      idx[d] = 0;
    }
  }
}

ArrayNode::Copy ArrayNode::copy_on(const Device& d) const {
  std::lock_guard lock(copies_mu);
  for (const Copy& c : copies) {
    if (c.buffer->device() == d) return c;
  }
  return {};
}

void ArrayNode::add_copy(std::shared_ptr<Buffer> b, Dep ready) {
  std::lock_guard lock(copies_mu);
  copies.push_back({std::move(b), std::move(ready)});
}

std::shared_ptr<Buffer> host_data(const ArrayNode& n) {
  if (!n.data || n.data->device().type == DeviceType::cpu) return n.data;
  if (auto c = n.copy_on(Device(cpu)).buffer) return c;
  // Two readers may both copy; the copies are equal and both are kept
  // alive only as long as the node.
  auto c = gpu::backend("data").to_host(*n.data);
  const_cast<ArrayNode&>(n).add_copy(c);
  return c;
}

OpNode::~OpNode() {
  // Dropping a long chain would recurse once per node: instead, steal the
  // inputs of every node about to die into one worklist on this thread.
  thread_local std::vector<array>* worklist = nullptr;
  if (inputs.empty()) return;
  if (worklist) {
    for (auto& a : inputs) worklist->push_back(std::move(a));
    return;
  }
  std::vector<array> pending(std::make_move_iterator(inputs.begin()),
                             std::make_move_iterator(inputs.end()));
  inputs.clear();
  worklist = &pending;
  while (!pending.empty()) {
    array a = std::move(pending.back());
    pending.pop_back();
    // `a` dies here; its node's op, if it dies too, appends to `pending`.
  }
  worklist = nullptr;
}

}  // namespace detail

array::array(const void* data, Dtype src_dtype, Shape shape, Dtype dtype,
             size_t count)
    : node_(detail::make_node(std::move(shape), dtype)) {
  size_t n = node_->size;
  if (count != SIZE_MAX && count != n) {
    throw std::invalid_argument("[array] " + std::to_string(count) +
                                " values do not fill a shape of " +
                                std::to_string(n) + " elements.");
  }
  node_->data = detail::allocate(n * size_of(dtype), Device(cpu));
  detail::convert_elements(data, src_dtype, node_->data->ptr(), dtype, n);
}

array::array(Shape shape, Dtype dtype, std::shared_ptr<Primitive> primitive,
             Inputs inputs, Stream stream)
    : node_(detail::make_node(std::move(shape), dtype,
                              primitive ? primitive->name() : "array")) {
  node_->op = std::allocate_shared<detail::OpNode>(
      detail::SmallAllocator<detail::OpNode>{}, std::move(primitive),
      std::move(inputs), std::move(stream));
  node_->op->output = node_;
}

array::array(Shape shape, Strides strides, int64_t offset, Dtype dtype,
             std::shared_ptr<Primitive> primitive, Inputs inputs, Stream stream)
    : array(std::move(shape), dtype, std::move(primitive), std::move(inputs),
            std::move(stream)) {
  node_->strides = std::move(strides);
  node_->offset = offset;
}

std::vector<array> array::make_arrays(std::vector<Shape> shapes,
                                      std::vector<Dtype> dtypes,
                                      std::shared_ptr<Primitive> primitive,
                                      Inputs inputs, Stream stream) {
  auto op = std::allocate_shared<detail::OpNode>(
      detail::SmallAllocator<detail::OpNode>{}, std::move(primitive),
      std::move(inputs), std::move(stream));
  std::vector<array> out;
  for (size_t i = 0; i < shapes.size(); ++i) {
    auto n = detail::make_node(std::move(shapes[i]), dtypes[i],
                               op->primitive ? op->primitive->name() : "array");
    n->op = op;
    if (i == 0) {
      op->output = n;
    } else {
      op->more_outputs.push_back(n);
    }
    if (shapes.size() > 1) op->dropped_meta.emplace_back(n->shape, n->dtype);
    out.emplace_back(std::move(n));
  }
  return out;
}

const Shape& array::shape() const { return node_->shape; }

int array::shape(int dim) const {
  int nd = ndim();
  int d = dim < 0 ? dim + nd : dim;
  if (d < 0 || d >= nd) {
    throw std::invalid_argument("[shape] Axis " + std::to_string(dim) +
                                " is out of bounds for an array of " +
                                std::to_string(nd) + " dimensions.");
  }
  return node_->shape[d];
}

const Strides& array::strides() const { return node_->strides; }
int64_t array::offset() const { return node_->offset; }
Dtype array::dtype() const { return node_->dtype; }
size_t array::size() const { return node_->size; }

ArrayStatus array::status() const {
  if (!node_->submitted()) return ArrayStatus::unscheduled;
  return node_->done.reached() ? ArrayStatus::available
                               : ArrayStatus::scheduled;
}

void array::eval() { runnel::eval({*this}); }

void* array::raw_data() const {
  if (!node_->data) {
    throw std::invalid_argument(
        "[data] The array is not evaluated or holds an error; call eval.");
  }
  const detail::Buffer* b = node_->data.get();
  // Data on the CPU (the usual case) needs no reference taken.
  void* p = b->device().type == DeviceType::cpu
                ? b->ptr()
                : detail::host_data(*node_)->ptr();
  return static_cast<char*>(p) +
         node_->offset * static_cast<int64_t>(size_of(node_->dtype));
}

}  // namespace runnel
