#include <vesta/core/level3.hpp>

namespace vesta::detail {

namespace {

// T's triangle `mode` (Eigen::Lower or Eigen::Upper), stored in `order`, solved against R in
// place: Eigen's own call, with pooled blocks when they are too large for the stack.
template <int mode, int order>
void solve(const Scalar* t, Index t_stride, Eigen::Ref<Matrix, 0, Eigen::OuterStride<>>& r) {
  const Index n = r.rows(), m = r.cols();
  PooledBlocking<4> blocking(n, m, n, false);
  if (blocking.needs_heap()) blocking.take_from_pool();
  Eigen::internal::triangular_solve_matrix<Scalar, Index, Eigen::OnTheLeft, mode, false, order,
                                           Eigen::ColMajor, 1>::run(n, m, t, t_stride, r.data(), 1,
                                                                    r.outerStride(), blocking);
}

}  // namespace

void triangular_solve_kernel(const Eigen::Ref<const Matrix, 0, Eigen::OuterStride<>>& t, bool lower,
                             bool transposed, Eigen::Ref<Matrix, 0, Eigen::OuterStride<>> r) {
  if (r.rows() == 0 || r.cols() == 0) return;
  // op(T) is T's storage read column-major, or row-major for T^T, whose triangle is the other.
  const bool op_lower = lower != transposed;
  const Scalar* data = t.data();
  const Index stride = t.outerStride();
  if (op_lower && transposed) {
    solve<Eigen::Lower, Eigen::RowMajor>(data, stride, r);
  } else if (op_lower) {
    solve<Eigen::Lower, Eigen::ColMajor>(data, stride, r);
  } else if (transposed) {
    solve<Eigen::Upper, Eigen::RowMajor>(data, stride, r);
  } else {
    solve<Eigen::Upper, Eigen::ColMajor>(data, stride, r);
  }
}

}  // namespace vesta::detail
