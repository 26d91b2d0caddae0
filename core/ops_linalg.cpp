// Matrix product and transpose. One node per product: the backward step is two GEMMs,
// dA += G B^T and dB += A^T G, each run only for an input that requires a gradient.
#include <vesta/core/op_support.hpp>
#include <vesta/core/ops.hpp>

namespace vesta {

using detail::Node;
using detail::Operand;

Tensor matmul(const Tensor& a, const Tensor& b) {
  const Operand A = Operand::of(a);
  const Operand B = Operand::of(b);
  if (A.cols != B.rows) {
    detail::throw_shape_mismatch("matmul", A, B, "do not multiply (columns of the first must equal rows of the second)");
  }
  const Index R = A.rows;
  const Index K = A.cols;
  const Index C = B.cols;
  auto fill = [&](Scalar* out) { MatrixMap(out, R, C).noalias() = A.matrix() * B.matrix(); };
  if (!A.requires_grad() && !B.requires_grad()) return detail::constant_result(R, C, fill);
  // Each backward GEMM reads the other operand's values.
  const Scalar* av = B.requires_grad() ? A.stable() : nullptr;
  const Scalar* bv = A.requires_grad() ? B.stable() : nullptr;
  return detail::recorded_result(R, C, fill, [an = A.node, bn = B.node, av, bv, R, K, C](Node& y) {
    const ConstMatrixMap g(y.adj, R, C);
    if (an != nullptr) an->accumulate_product(g * ConstMatrixMap(bv, K, C).transpose());
    if (bn != nullptr) bn->accumulate_product(ConstMatrixMap(av, R, K).transpose() * g);
  });
}

Tensor transpose(const Tensor& x) {
  const Operand X = Operand::of(x);
  auto fill = [&](Scalar* out) { MatrixMap(out, X.cols, X.rows) = X.matrix().transpose(); };
  if (!X.requires_grad()) return detail::constant_result(X.cols, X.rows, fill);
  return detail::recorded_result(X.cols, X.rows, fill, [xn = X.node](Node& y) {
    xn->accumulate(ConstArrayMap(y.adj, y.rows, y.cols).transpose());
  });
}

}  // namespace vesta
