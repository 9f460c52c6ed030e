// Lazy arrays, as in MLX: an op returns an array bound to the stream it will
// run on; nothing runs until eval (or a read of the values).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <type_traits>
#include <vector>

#include "runnel/core/small_alloc.h"
#include "runnel/core/small_vector.h"
#include "runnel/dtype.h"
#include "runnel/stream.h"
#include "runnel/utils.h"

namespace runnel {

class Primitive;
class array;

// The inputs of an op: up to three held inline, no allocation of their own.
// Built from a braced list or a std::vector<array>.
using Inputs = detail::SmallVector<array, 3>;

namespace detail {
struct ArrayNode;
struct OpNode;
// Copies `n` elements of dtype `from` at `src` into `dst` as dtype `to`.
void convert_elements(const void* src, Dtype from, void* dst, Dtype to,
                      size_t n);
// Whether elements laid out by `strides` (in elements) over `shape` are
// row-major without gaps (size-1 axes may have any stride).
bool is_row_contiguous(const Shape& shape, const Strides& strides);
// Copies the elements of `a` (available: eval first), whatever its strides,
// into `dst` in row-major order: a.nbytes() bytes.
void copy_to_row_major(const array& a, void* dst);
}  // namespace detail

enum class ArrayStatus {
  unscheduled,  // built, not yet submitted to its stream
  scheduled,    // submitted, not finished
  available,    // finished (its values, or its error, are there)
};

class array {
 public:
  // A scalar (0-d) array holding `value`, as dtype `dtype`.
  template <class T, class = std::enable_if_t<std::is_arithmetic_v<T> ||
                                              std::is_same_v<T, float16_t> ||
                                              std::is_same_v<T, bfloat16_t>>>
  array(T value, Dtype dtype = dtype_of<T>())  // NOLINT: implicit, as in MLX
      : array(&value, dtype_of<T>(), Shape{}, dtype) {}

  // A 1-d array of the values.
  template <class T>
  array(std::initializer_list<T> values, Dtype dtype = dtype_of<T>())
      : array(values.begin(), dtype_of<T>(),
              Shape{static_cast<int>(values.size())}, dtype) {}
  // The values laid out in row-major order in `shape`.
  template <class T>
  array(std::initializer_list<T> values, Shape shape,
        Dtype dtype = dtype_of<T>())
      : array(values.begin(), dtype_of<T>(), std::move(shape), dtype,
              values.size()) {}
  template <class T>
  array(const std::vector<T>& values, Shape shape, Dtype dtype = dtype_of<T>())
      : array(values.data(), dtype_of<T>(), std::move(shape), dtype,
              values.size()) {}
  // Copies prod(shape) elements of dtype `src_dtype` from `data`.
  array(const void* data, Dtype src_dtype, Shape shape, Dtype dtype,
        size_t count = SIZE_MAX);

  // Used by op constructors: an output of `primitive` on `stream`.
  array(Shape shape, Dtype dtype, std::shared_ptr<Primitive> primitive,
        Inputs inputs, Stream stream);
  // Used by the view ops and adoption: an output of `primitive` whose
  // elements lie at `offset` elements past its buffer's start, laid out by
  // `strides`.
  array(Shape shape, Strides strides, int64_t offset, Dtype dtype,
        std::shared_ptr<Primitive> primitive, Inputs inputs, Stream stream);
  // Several outputs of one primitive.
  static std::vector<array> make_arrays(std::vector<Shape> shapes,
                                        std::vector<Dtype> dtypes,
                                        std::shared_ptr<Primitive> primitive,
                                        Inputs inputs, Stream stream);

  const Shape& shape() const;
  // The size of `dim` (negative counts from the end).
  int shape(int dim) const;
  // Where the elements lie, per axis, in elements from data(): any sign, 0
  // on broadcast axes. Row-major contiguous unless the array is a view.
  const Strides& strides() const;
  // Where element 0 lies in its buffer, in elements (views start inside
  // their source's buffer).
  int64_t offset() const;
  Dtype dtype() const;
  size_t size() const;
  int ndim() const { return static_cast<int>(shape().size()); }
  size_t itemsize() const { return size_of(dtype()); }
  size_t nbytes() const { return size() * itemsize(); }
  ArrayStatus status() const;

  // Evaluates (and waits for) this array; raises its error.
  void eval();
  // The value of a one-element array (a view included), evaluating it
  // first.
  template <class T>
  T item();

  // Element 0, once available (eval first). Element (i, j, ...) lies at
  // data<T>()[i * strides()[0] + j * strides()[1] + ...]: a view (a slice,
  // transpose, broadcast, ...) shares its source's memory and need not be
  // row-major or contiguous; detail::is_row_contiguous says, and
  // contiguous() (ops/shape.h) or detail::copy_to_row_major give that
  // layout.
  template <class T>
  const T* data() const {
    return static_cast<const T*>(raw_data());
  }
  template <class T>
  T* data() {
    return static_cast<T*>(raw_data());
  }
  // data<void>(): element 0 (the buffer plus the view's offset).
  void* raw_data() const;

  // Runtime side.
  detail::ArrayNode& node() const { return *node_; }
  const std::shared_ptr<detail::ArrayNode>& node_ptr() const { return node_; }
  explicit array(std::shared_ptr<detail::ArrayNode> node)
      : node_(std::move(node)) {}
  // Whether two handles name the same array.
  bool is(const array& other) const { return node_ == other.node_; }

 private:
  std::shared_ptr<detail::ArrayNode> node_;
};

template <class T>
T array::item() {
  if (size() != 1) {
    throw std::invalid_argument(
        "[item] Only one-element arrays can be converted to a scalar.");
  }
  eval();
  T out;
  detail::convert_elements(raw_data(), dtype(), &out, dtype_of<T>(), 1);
  return out;
}

}  // namespace runnel
