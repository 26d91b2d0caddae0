// Matrix product and transpose, the Cholesky factor, triangular solves and the diagonal.
// One node per op. The product's backward step is two GEMMs, dA += G B^T and dB += A^T G,
// each run only for an input that requires a gradient; the factorisation's and the solve's
// backward steps are triangular solves against the factor they already computed.
#include <algorithm>
#include <cmath>

#include <Eigen/Cholesky>

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

namespace {

// Solves op(T) X = R in place of R, reading only T's lower (or upper) triangle; op(T) is T,
// or T^T when `transposed`.
void triangular_solve_in_place(const ConstMatrixMap& t, bool lower, bool transposed,
                               Eigen::Ref<Matrix> r) {
  if (lower) {
    const auto tri = t.triangularView<Eigen::Lower>();
    if (transposed) {
      tri.transpose().solveInPlace(r);
    } else {
      tri.solveInPlace(r);
    }
  } else {
    const auto tri = t.triangularView<Eigen::Upper>();
    if (transposed) {
      tri.transpose().solveInPlace(r);
    } else {
      tri.solveInPlace(r);
    }
  }
}

// Called when Eigen's LLT has failed on `a`: finds the first pivot that is not positive by
// the unblocked Cholesky-Banachiewicz recurrence (the same arithmetic, one column at a time)
// and names it.
[[noreturn]] void throw_not_positive_definite(const Matrix& a) {
  const Index n = a.rows();
  Matrix l = Matrix::Zero(n, n);
  for (Index j = 0; j < n; ++j) {
    const Scalar pivot = a(j, j) - l.row(j).head(j).squaredNorm();
    if (!(pivot > 0)) {
      throw ValueError(fmt::format(
          "cholesky: the {} matrix is not positive definite (pivot {} is {}, but must be positive)",
          shape_str(n, n), j, pivot));
    }
    l(j, j) = std::sqrt(pivot);
    for (Index i = j + 1; i < n; ++i) {
      l(i, j) = (a(i, j) - l.row(i).head(j).dot(l.row(j).head(j))) / l(j, j);
    }
  }
  // Rounding let the recurrence through where the blocked factorisation stopped.
  throw ValueError(fmt::format(
      "cholesky: the {} matrix is not positive definite (numerically: a pivot is not positive)",
      shape_str(n, n)));
}

}  // namespace

Tensor cholesky(const Tensor& a) {
  const Operand A = Operand::of(a);
  if (A.rows != A.cols) {
    throw ShapeError(
        fmt::format("cholesky: the matrix is {}, but must be square", shape_str(A.rows, A.cols)));
  }
  const Index n = A.rows;
  for (Index k = 0; k < A.size(); ++k) {
    if (!std::isfinite(A.value[k])) {
      throw ValueError(
          fmt::format("cholesky: entry [{}, {}] of the {} matrix is {}, but must be finite", k % n,
                      k / n, shape_str(n, n), A.value[k]));
    }
  }
  const Matrix sym = Scalar(0.5) * (A.matrix() + A.matrix().transpose());
  const Eigen::LLT<Matrix> llt(sym);
  if (llt.info() != Eigen::Success) throw_not_positive_definite(sym);
  // Assigning the triangular view writes zeros above the diagonal.
  auto fill = [&](Scalar* out) { MatrixMap(out, n, n) = llt.matrixL(); };
  if (!A.requires_grad()) return detail::constant_result(n, n, fill);
  return detail::recorded_result(n, n, fill, [an = A.node, n](Node& y) {
    // With dA symmetric, dA = dL L^T + L dL^T gives L^-1 dL = Phi(L^-1 dA L^-T), where Phi
    // keeps the lower triangle and halves the diagonal. Its adjoint (the symbolic result of
    // Murray 2016, "Differentiation of the Cholesky decomposition", arXiv:1602.07527) is
    //   S = L^-T Phi(L^T Lbar) L^-1,
    // with Lbar the adjoint of L's lower triangle (the upper one is constant zero). Murray
    // keeps Phi(S), for a routine that reads only A's lower triangle; this op reads the
    // symmetric part of A, so A's adjoint is (S + S^T) / 2.
    const ConstMatrixMap L(y.value, n, n);
    const Matrix lbar = ConstMatrixMap(y.adj, n, n).triangularView<Eigen::Lower>();
    Matrix p = L.transpose() * lbar;
    p.triangularView<Eigen::StrictlyUpper>().setZero();
    p.diagonal() *= Scalar(0.5);
    triangular_solve_in_place(L, true, true, p);  // L^-T Phi
    Matrix st = p.transpose();
    triangular_solve_in_place(L, true, true, st);  // L^-T (L^-T Phi)^T = S^T
    an->accumulate(Scalar(0.5) * (st.array() + st.transpose().array()));
  });
}

Tensor solve_triangular(const Tensor& l, const Tensor& b, bool lower) {
  const Operand L = Operand::of(l);
  const Operand B = Operand::of(b);
  if (L.rows != L.cols) {
    throw ShapeError(
        fmt::format("solve_triangular: the triangular matrix is {}, but must be square",
                    shape_str(L.rows, L.cols)));
  }
  if (B.rows != L.rows) {
    detail::throw_shape_mismatch("solve_triangular", L, B,
                                 "do not fit (the right-hand side must have as many rows as the "
                                 "triangular matrix)");
  }
  const Index n = L.rows;
  const Index m = B.cols;
  auto fill = [&](Scalar* out) {
    MatrixMap x(out, n, m);
    x = B.matrix();
    triangular_solve_in_place(L.matrix(), lower, false, x);
  };
  if (!L.requires_grad() && !B.requires_grad()) return detail::constant_result(n, m, fill);
  // X = L^-1 B, so dX = L^-1 (dB - dL X): B's adjoint is H = L^-T G and L's is -H X^T,
  // kept on the triangle the op reads.
  return detail::recorded_result(n, m, fill,
                                 [ln = L.node, bn = B.node, lv = L.stable(), n, m, lower](Node& y) {
                                   const ConstMatrixMap lm(lv, n, n);
                                   Matrix h = ConstMatrixMap(y.adj, n, m);
                                   triangular_solve_in_place(lm, lower, true, h);
                                   if (bn != nullptr) bn->accumulate(h.array());
                                   if (ln != nullptr) {
                                     Matrix dl = -h * ConstMatrixMap(y.value, n, m).transpose();
                                     if (lower) {
                                       dl.triangularView<Eigen::StrictlyUpper>().setZero();
                                     } else {
                                       dl.triangularView<Eigen::StrictlyLower>().setZero();
                                     }
                                     ln->accumulate(dl.array());
                                   }
                                 });
}

Tensor diagonal(const Tensor& x) {
  const Operand X = Operand::of(x);
  const Index n = std::min(X.rows, X.cols);
  auto fill = [&](Scalar* out) { MatrixMap(out, n, 1) = X.matrix().diagonal(); };
  if (!X.requires_grad()) return detail::constant_result(n, 1, fill);
  return detail::recorded_result(n, 1, fill, [xn = X.node, n](Node& y) {
    xn->touch();
    xn->adj_matrix().diagonal() += ConstMatrixMap(y.adj, n, 1);
  });
}

}  // namespace vesta
