// Tensor: a dense 2-D array of Scalars (a scalar is 1x1, a vector n x 1) that is either a
// constant or a differentiable value recorded on the thread's tape. Ops on Tensors live in
// <vesta/core/ops.hpp>; this header is the handle itself and its conversions to and from Eigen.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <vesta/core/error.hpp>
#include <vesta/core/scalar.hpp>
#include <vesta/core/tape.hpp>

namespace vesta {

struct Operand;

/// A dense rows x cols array of Scalars, in one of four states:
/// - a constant (data; no gradient), made from a number or an Eigen matrix;
/// - a leaf made by Tensor::variable(): a parameter whose gradient backward() accumulates;
/// - a value recorded on the tape: the result of an op with a leaf among its inputs, valid
///   until the tape is reset (afterwards any use throws StaleTensorError);
/// - empty (0x0, default-constructed).
/// Copies are cheap handles: a copy of a leaf is the same leaf.
class Tensor {
 public:
  /// An empty 0x0 constant. User-provided (not `= default`), so that `const Tensor t;` compiles
  /// on every compiler: clang does not count the anonymous union's member initializer.
  Tensor() noexcept {}  // NOLINT(modernize-use-equals-default)
  /// A 1x1 constant. Implicit, so that `2.0 * x` and `x - 1` read naturally.
  Tensor(Scalar value)
      : scalar_(value), rows_(1), cols_(1) {}  // NOLINT(google-explicit-constructor)
  /// A constant holding a copy of `m`. Implicit, so that data goes wherever a constant
  /// Tensor is expected: `sample("y", Normal(f, 0.1), y)`. The copy lives in the thread's
  /// buffer pool, so a loop that passes the same data every step reuses its memory.
  Tensor(const Matrix& m);  // NOLINT(google-explicit-constructor)
  /// A constant that takes over the buffer of `m`.
  Tensor(Matrix&& m);  // NOLINT(google-explicit-constructor)
  /// A constant with the values of any Eigen matrix expression (Matrix::Ones(2, 3), a block,
  /// a Map), evaluated once into a pooled buffer.
  template <class Derived>
  Tensor(const Eigen::MatrixBase<Derived>& m)  // NOLINT(google-explicit-constructor)
      : rows_(dim(m.rows())), cols_(dim(m.cols())) {
    init_storage().values() = m;
  }

  /// A constant of shape rows x cols whose values the caller writes through `*values` before
  /// the Tensor is used or copied (how an op makes a result from constant inputs).
  static Tensor uninitialized(Index rows, Index cols, Scalar** values);

  /// A constant with the values of `m`.
  static Tensor constant(Matrix m) { return Tensor(std::move(m)); }
  /// A leaf that requires a gradient, initialised with `m`.
  static Tensor variable(Matrix m);
  /// A rows x cols constant of zeros.
  static Tensor zeros(Index rows, Index cols);
  /// A rows x cols constant of ones.
  static Tensor ones(Index rows, Index cols);
  /// A rows x cols constant filled with `value`.
  static Tensor full(Index rows, Index cols, Scalar value);

  /// Number of rows.
  Index rows() const { return rows_; }
  /// Number of columns.
  Index cols() const { return cols_; }
  /// Number of entries.
  Index size() const { return Index(rows_) * cols_; }
  /// Whether it has no entries.
  bool empty() const { return size() == 0; }
  /// "3x4".
  std::string shape() const { return shape_str(rows_, cols_); }

  /// True for leaves made by variable() and for values recorded from them.
  bool requires_grad() const { return node_ != nullptr || is_leaf(); }
  /// True for Tensors made by variable().
  bool is_leaf() const { return storage_ && storage_->requires_grad; }

  /// A read-only view of the values (no copy), valid while this Tensor (and, for a recorded
  /// value, its tape generation) lives.
  ConstMatrixMap value() const {
    return {node_ != nullptr ? live_node()->value : data_ptr(), rows_, cols_};
  }
  /// The values as an Eigen matrix (a copy).
  Matrix matrix() const { return Matrix(value()); }
  /// The value of a 1x1 Tensor.
  Scalar item() const {
    if (rows_ != 1 || cols_ != 1) [[unlikely]] {
      throw_not_scalar();
    }
    return node_ != nullptr ? *live_node()->value : *data_ptr();
  }
  /// Entry (i, j).
  Scalar operator()(Index i, Index j) const { return value()(i, j); }

  /// Accumulates d(this)/d(leaf) into the gradient of every leaf this 1x1 value depends on.
  void backward() const;
  /// A leaf's accumulated gradient (zeros if backward() has not reached it since zero_grad()).
  Matrix grad() const;
  /// Clears a leaf's gradient.
  void zero_grad() const;
  /// Whether a leaf's gradient holds values (backward reached it since zero_grad()).
  bool has_grad() const { return is_leaf() && storage_->grad_live; }
  /// Overwrites a leaf's values (same shape), as an optimizer does between steps.
  void set_value(const Eigen::Ref<const Matrix>& m) const;
  /// Mutable view of a leaf's values, for in-place updates. Valid until the next optimizer
  /// step, which may give the leaf new storage (swap_leaf_values).
  MatrixMap leaf_values() const;
  /// Exchanges a leaf's values with `next` (same shape) without copying them: an optimizer
  /// that computed a step's new values aside commits them so. The leaf's node on the current
  /// tape keeps the values the graph was recorded with.
  void swap_leaf_values(Matrix& next) const;
  /// The same for a leaf of one entry (a scalar param), whose new value an optimizer keeps as
  /// a number rather than in a Matrix of its own.
  void swap_leaf_value(Scalar& next) const;
  /// Mutable view of a leaf's gradient; the gradient is marked as holding values.
  MatrixMap leaf_grad() const;

  /// A constant with the same values, cut off from the graph (a copy, which also outlives
  /// the tape).
  Tensor detach() const;

  /// Whether both handles refer to the same value: the same recorded node of the same tape
  /// generation, or the same constant or leaf storage (inline 1x1 constants are never the same).
  bool same_as(const Tensor& other) const {
    if (node_ != nullptr) return node_ == other.node_ && generation_ == other.generation_;
    return storage_ && storage_ == other.storage_;
  }

  // Building blocks for ops (see <vesta/core/op_support.hpp>): a Tensor for a recorded node.
  /// The Tensor of a node on the current tape (for ops written with op_support.hpp).
  static Tensor from_node(Node* node) {  // inline: every op's result passes here
    Tensor t;
    t.node_ = node;
    t.generation_ = tape().generation();
    t.rows_ = dim(node->rows);
    t.cols_ = dim(node->cols);
    return t;
  }

 private:
  friend struct Operand;

  detail::Storage& init_storage();  // pooled storage of shape rows_ x cols_
  // Values of a non-recorded Tensor.
  const Scalar* data_ptr() const { return storage_ ? storage_->data : &scalar_; }
  // The recorded node, checked against the tape generation (every read of a recorded value
  // passes here, so the check is inline and the error out of line).
  Node* live_node() const {
    if (generation_ != tape().generation()) [[unlikely]] {
      throw_stale();
    }
    return node_;
  }
  [[noreturn]] void throw_stale() const;
  [[noreturn]] void throw_not_scalar() const;
  detail::Storage& leaf_storage(const char* what) const;

  // A dimension as the Tensor keeps it (32 bits; a larger one throws ShapeError).
  static std::int32_t dim(Index n) {
    if (n > kMaxDim) [[unlikely]] {
      throw_too_large(n);
    }
    return static_cast<std::int32_t>(n);
  }
  static constexpr Index kMaxDim = 0x7fffffff;
  [[noreturn]] static void throw_too_large(Index n);

  // 32 bytes in all: a Tensor is in every trace record, distribution and ELBO row.
  Node* node_ = nullptr;        // recorded value
  detail::StorageRef storage_;  // constant or leaf
  // A recorded value needs its tape generation, an inline 1x1 constant its value, and no
  // Tensor is both (node_ tells which): one word holds either.
  union {
    std::uint64_t generation_ = 0;  // tape generation of node_ (when node_ is set)
    Scalar scalar_;                 // a 1x1 constant, held inline (when neither pointer is)
  };
  std::int32_t rows_ = 0;
  std::int32_t cols_ = 0;
};

}  // namespace vesta
