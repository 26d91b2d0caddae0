#include <vesta/core/tensor.hpp>

#include <fmt/format.h>

namespace vesta {

#if defined(__GLIBCXX__) && defined(__x86_64__)
static_assert(sizeof(Tensor) == 32, "a Tensor is in every trace record, distribution and ELBO row");
#endif

Tensor::Tensor(const Matrix& m) : rows_(dim(m.rows())), cols_(dim(m.cols())) {
  init_storage().values() = m;
}

Tensor::Tensor(Matrix&& m) : rows_(dim(m.rows())), cols_(dim(m.cols())) {
  storage_ = detail::StorageRef(new detail::Storage(std::move(m)));
}

detail::Storage& Tensor::init_storage() {
  storage_ = detail::StorageRef(new detail::Storage(rows_, cols_));
  return *storage_;
}

void Tensor::throw_too_large(Index n) {
  throw ShapeError(fmt::format(
      "a Tensor dimension of {} exceeds the largest vesta keeps, {} (2^31 - 1)", n, kMaxDim));
}

Tensor Tensor::uninitialized(Index rows, Index cols, Scalar** values) {
  Tensor t;
  t.rows_ = dim(rows);
  t.cols_ = dim(cols);
  *values = t.init_storage().data;
  return t;
}

Tensor Tensor::variable(Matrix m) {
  Tensor t(std::move(m));
  t.storage_->requires_grad = true;
  return t;
}

Tensor Tensor::zeros(Index rows, Index cols) { return full(rows, cols, 0); }
Tensor Tensor::ones(Index rows, Index cols) { return full(rows, cols, 1); }
Tensor Tensor::full(Index rows, Index cols, Scalar value) {
  if (rows < 0 || cols < 0) {
    throw ShapeError(fmt::format("Tensor::full: negative shape {}", shape_str(rows, cols)));
  }
  if (rows == 1 && cols == 1) return Tensor(value);
  return Tensor(Matrix::Constant(rows, cols, value));
}

void Tensor::throw_stale() const {
  throw StaleTensorError(fmt::format(
      "a {} Tensor was used after the tape that recorded it was reset (it belongs to tape "
      "generation {}, the current one is {}); keep values beyond a step with detach() or "
      "matrix()",
      shape(), generation_, tape().generation()));
}

void Tensor::throw_not_scalar() const {
  throw ShapeError(fmt::format("item: the Tensor is {}, not 1x1", shape()));
}

void Tensor::backward() const {
  if (rows_ != 1 || cols_ != 1) {
    throw ShapeError(fmt::format(
        "backward: the Tensor is {}; backward() starts from a 1x1 value (sum it first)", shape()));
  }
  if (node_ != nullptr) {
    tape().backward(live_node());
  } else if (is_leaf()) {
    detail::Storage& s = *storage_;
    Scalar& g = *s.grad_data();
    g = s.grad_live ? g + 1 : Scalar(1);
    s.grad_live = true;
  } else {
    throw ValueError(
        "backward: the Tensor is a constant; nothing it was computed from requires a gradient "
        "(make parameters with Tensor::variable)");
  }
}

detail::Storage& Tensor::leaf_storage(const char* what) const {
  if (!is_leaf()) {
    throw ValueError(fmt::format(
        "{}: only leaves made by Tensor::variable have their own gradient and values; this {} "
        "Tensor is {}",
        what, shape(), node_ ? "a recorded intermediate value" : "a constant"));
  }
  return *storage_;
}

Matrix Tensor::grad() const {
  detail::Storage& s = leaf_storage("grad");
  if (!s.grad_live) return Matrix::Zero(rows_, cols_);
  return s.grad_values();
}

void Tensor::zero_grad() const { leaf_storage("zero_grad").grad_live = false; }

void Tensor::set_value(const Eigen::Ref<const Matrix>& m) const {
  detail::Storage& s = leaf_storage("set_value");
  if (m.rows() != rows_ || m.cols() != cols_) {
    throw ShapeError(fmt::format("set_value: the leaf is {}, the new value {}", shape(),
                                 shape_str(m.rows(), m.cols())));
  }
  s.values() = m;  // same shape: the buffer (which the tape may point at) is kept
}

MatrixMap Tensor::leaf_values() const {
  detail::Storage& s = leaf_storage("leaf_values");
  return s.values();
}

void Tensor::swap_leaf_values(Matrix& next) const {
  detail::Storage& s = leaf_storage("swap_leaf_values");
  if (next.rows() != rows_ || next.cols() != cols_) {
    throw ShapeError(fmt::format("swap_leaf_values: the leaf is {}, the new values {}", shape(),
                                 shape_str(next.rows(), next.cols())));
  }
  s.swap_values(next);
}

void Tensor::swap_leaf_value(Scalar& next) const {
  detail::Storage& s = leaf_storage("swap_leaf_value");
  if (rows_ != 1 || cols_ != 1) {
    throw ShapeError(
        fmt::format("swap_leaf_value: the leaf is {}, not one number; exchange its values with "
                    "swap_leaf_values",
                    shape()));
  }
  s.swap_value(next);
}

MatrixMap Tensor::leaf_grad() const {
  detail::Storage& s = leaf_storage("leaf_grad");
  MatrixMap g = s.grad_values();
  if (!s.grad_live) g.setZero();
  s.grad_live = true;
  return g;
}

Tensor Tensor::detach() const {
  if (rows_ == 1 && cols_ == 1) return Tensor(value()(0, 0));
  return Tensor(value());
}

}  // namespace vesta
