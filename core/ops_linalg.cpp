// Matrix product and transpose, the Cholesky factor, triangular solves and the diagonal;
// and the same products and solves with one small matrix per row. One node per op. The
// product's backward step is two GEMMs, dA += G B^T and dB += A^T G, each run only for an
// input that requires a gradient; the factorisation's and the solve's backward steps are
// triangular solves against the factor they already computed.
#include <algorithm>
#include <cmath>

#include <Eigen/Cholesky>

#include <vesta/core/op_support.hpp>
#include <vesta/core/ops.hpp>
#include <vesta/core/parallel.hpp>

namespace vesta {

namespace {

// The backward step of a product A B (R x K times K x C) from the adjoint g of its output:
// g B^T into A's adjoint, A^T g into B's (null nodes are skipped; av and bv are A's and B's
// values, read by the other's GEMM). Into an adjoint not yet touched the product is written,
// not added, so nothing is zero-filled first.
void product_backward(const ConstMatrixMap& g, Node* an, Node* bn, const Scalar* av,
                      const Scalar* bv, Index K) {
  const Index R = g.rows();
  const Index C = g.cols();
  if (an != nullptr) {
    detail::gemm(an->adj_matrix(), g, ConstMatrixMap(bv, K, C).transpose(), an->touched);
    an->touched = true;
  }
  if (bn != nullptr) {
    detail::gemm(bn->adj_matrix(), ConstMatrixMap(av, R, K).transpose(), g, bn->touched);
    bn->touched = true;
  }
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  const Operand A = Operand::of(a);
  const Operand B = Operand::of(b);
  if (A.cols != B.rows) {
    throw_shape_mismatch("matmul", A, B,
                         "do not multiply (columns of the first must equal rows of the second)");
  }
  const Index R = A.rows;
  const Index K = A.cols;
  const Index C = B.cols;
  auto fill = [&](Scalar* out) {
    detail::gemm(MatrixMap(out, R, C), A.matrix(), B.matrix(), false);
  };
  if (!A.requires_grad() && !B.requires_grad()) return constant_result(R, C, fill);
  // Each backward GEMM reads the other operand's values.
  const Scalar* av = B.requires_grad() ? A.stable() : nullptr;
  const Scalar* bv = A.requires_grad() ? B.stable() : nullptr;
  return recorded_result(R, C, fill, [an = A.node, bn = B.node, av, bv, R, K, C](Node& y) {
    product_backward(ConstMatrixMap(y.adj, R, C), an, bn, av, bv, K);
  });
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  const Operand X = Operand::of(x);
  const Operand W = Operand::of(w);
  const Operand B = Operand::of(b);
  if (X.cols != W.rows) {
    throw_shape_mismatch("linear", X, W,
                         "do not multiply (columns of x must equal rows of the weight)");
  }
  if (B.rows != 1 || B.cols != W.cols) {
    throw ShapeError(fmt::format("linear: the bias is {}, but the weight {} needs a bias of 1x{}",
                                 shape_str(B.rows, B.cols), shape_str(W.rows, W.cols), W.cols));
  }
  const Index R = X.rows;
  const Index K = X.cols;
  const Index C = W.cols;
  auto fill = [&](Scalar* out) {
    MatrixMap y(out, R, C);
    y.rowwise() = B.matrix().row(0);
    detail::gemm(y, X.matrix(), W.matrix(), true);
  };
  if (!X.requires_grad() && !W.requires_grad() && !B.requires_grad()) {
    return constant_result(R, C, fill);
  }
  const Scalar* xv = W.requires_grad() ? X.stable() : nullptr;
  const Scalar* wv = X.requires_grad() ? W.stable() : nullptr;
  return recorded_result(R, C, fill,
                         [xn = X.node, wn = W.node, bn = B.node, xv, wv, R, K, C](Node& y) {
                           const ConstMatrixMap g(y.adj, R, C);
                           product_backward(g, xn, wn, xv, wv, K);
                           if (bn != nullptr) bn->accumulate(g.colwise().sum().array());
                         });
}

Tensor transpose(const Tensor& x) {
  const Operand X = Operand::of(x);
  auto fill = [&](Scalar* out) { MatrixMap(out, X.cols, X.rows) = X.matrix().transpose(); };
  if (!X.requires_grad()) return constant_result(X.cols, X.rows, fill);
  return recorded_result(X.cols, X.rows, fill, [xn = X.node](Node& y) {
    xn->accumulate(ConstArrayMap(y.adj, y.rows, y.cols).transpose());
  });
}

namespace {

// Called when Eigen's LLT has failed on `a`: finds the first pivot that is not positive by
// the unblocked Cholesky-Banachiewicz recurrence (the same arithmetic, one column at a time)
// and names it.
[[noreturn]] void throw_not_positive_definite(const Eigen::Ref<const Matrix>& a) {
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
  // The symmetric part, factorised in place; it and the backward pass's temporaries come from
  // the buffer pool, which keeps them for the next step.
  detail::PooledMatrix sym(n, n);
  *sym = Scalar(0.5) * (A.matrix() + A.matrix().transpose());
  const Eigen::LLT<Eigen::Ref<Matrix>> llt(*sym);
  if (llt.info() != Eigen::Success) {
    // LLT overwrote the factorised part: the message's pivot comes from A again.
    *sym = Scalar(0.5) * (A.matrix() + A.matrix().transpose());
    throw_not_positive_definite(*sym);
  }
  // Assigning the triangular view writes zeros above the diagonal.
  auto fill = [&](Scalar* out) { MatrixMap(out, n, n) = llt.matrixL(); };
  if (!A.requires_grad()) return constant_result(n, n, fill);
  return recorded_result(n, n, fill, [an = A.node, n](Node& y) {
    // With dA symmetric, dA = dL L^T + L dL^T gives L^-1 dL = Phi(L^-1 dA L^-T), where Phi
    // keeps the lower triangle and halves the diagonal. Its adjoint (the symbolic result of
    // Murray 2016, "Differentiation of the Cholesky decomposition", arXiv:1602.07527) is
    //   S = L^-T Phi(L^T Lbar) L^-1,
    // with Lbar the adjoint of L's lower triangle (the upper one is constant zero). Murray
    // keeps Phi(S), for a routine that reads only A's lower triangle; this op reads the
    // symmetric part of A, so A's adjoint is (S + S^T) / 2.
    const ConstMatrixMap L(y.value, n, n);
    detail::PooledMatrix lbar(n, n), p(n, n), st(n, n);
    *lbar = ConstMatrixMap(y.adj, n, n).triangularView<Eigen::Lower>();
    detail::gemm(*p, L.transpose(), *lbar, false);
    p->triangularView<Eigen::StrictlyUpper>().setZero();
    p->diagonal() *= Scalar(0.5);
    detail::triangular_solve_kernel(L, true, true, *p);  // L^-T Phi
    *st = p->transpose();
    detail::triangular_solve_kernel(L, true, true, *st);  // L^-T (L^-T Phi)^T = S^T
    an->accumulate(Scalar(0.5) * (st->array() + st->transpose().array()));
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
    throw_shape_mismatch("solve_triangular", L, B,
                         "do not fit (the right-hand side must have as many rows as the "
                         "triangular matrix)");
  }
  const Index n = L.rows;
  const Index m = B.cols;
  auto fill = [&](Scalar* out) {
    MatrixMap x(out, n, m);
    x = B.matrix();
    detail::triangular_solve_kernel(L.matrix(), lower, false, x);
  };
  if (!L.requires_grad() && !B.requires_grad()) return constant_result(n, m, fill);
  // X = L^-1 B, so dX = L^-1 (dB - dL X): B's adjoint is H = L^-T G and L's is -H X^T,
  // kept on the triangle the op reads.
  return recorded_result(
      n, m, fill, [ln = L.node, bn = B.node, lv = L.stable(), n, m, lower](Node& y) {
        const ConstMatrixMap lm(lv, n, n);
        detail::PooledMatrix h(n, m);
        *h = ConstMatrixMap(y.adj, n, m);
        detail::triangular_solve_kernel(lm, lower, true, *h);
        if (bn != nullptr) bn->accumulate(h->array());
        if (ln != nullptr) {
          detail::PooledMatrix dl(n, n);
          detail::gemm(*dl, *h, ConstMatrixMap(y.value, n, m).transpose(), false);
          if (lower) {
            dl->triangularView<Eigen::StrictlyUpper>().setZero();
          } else {
            dl->triangularView<Eigen::StrictlyLower>().setZero();
          }
          ln->accumulate(-dl->array());
        }
      });
}

Tensor diagonal(const Tensor& x) {
  const Operand X = Operand::of(x);
  const Index n = std::min(X.rows, X.cols);
  auto fill = [&](Scalar* out) { MatrixMap(out, n, 1) = X.matrix().diagonal(); };
  if (!X.requires_grad()) return constant_result(n, 1, fill);
  return recorded_result(n, 1, fill, [xn = X.node, n](Node& y) {
    xn->touch();
    xn->adj_matrix().diagonal() += ConstMatrixMap(y.adj, n, 1);
  });
}

// ---- a small matrix per row ---------------------------------------------------------------
//
// Row r's matrix is row r of a Tensor, column-major: entry (i, j) of a D-row matrix is in
// column j * D + i. Every loop below runs over one column of the result (or of an adjoint)
// at a time, which is a run of R contiguous values: the work for all rows is vectorised, and
// an operand with a single row contributes one value to every row.

namespace {

// The rows R that operands of `rows_a` and `rows_b` rows broadcast to, or -1.
Index broadcast_rows(Index rows_a, Index rows_b) {
  if (rows_a == rows_b || rows_b == 1) return rows_a;
  if (rows_a == 1) return rows_b;
  return -1;
}

using ColumnMap = Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>>;
using ConstColumnMap = Eigen::Map<const Eigen::Array<Scalar, Eigen::Dynamic, 1>>;

// out += alpha * p * q over R rows, where each of out, p and q is a run of R values (its
// flag true) or a single value that stands for every row (false). A single-valued out
// receives the sum over the rows.
void add_products(Scalar* out, bool out_rows, const Scalar* p, bool p_rows, const Scalar* q,
                  bool q_rows, Index R, Scalar alpha = 1) {
  if (out_rows) {
    ColumnMap o(out, R);
    if (p_rows && q_rows) {
      o += alpha * ConstColumnMap(p, R) * ConstColumnMap(q, R);
    } else if (p_rows) {
      o += (alpha * q[0]) * ConstColumnMap(p, R);
    } else if (q_rows) {
      o += (alpha * p[0]) * ConstColumnMap(q, R);
    } else {
      o += alpha * p[0] * q[0];
    }
  } else if (p_rows && q_rows) {
    out[0] += alpha * (ConstColumnMap(p, R) * ConstColumnMap(q, R)).sum();
  } else if (p_rows) {
    out[0] += alpha * q[0] * ConstColumnMap(p, R).sum();
  } else if (q_rows) {
    out[0] += alpha * p[0] * ConstColumnMap(q, R).sum();
  } else {
    out[0] += alpha * Scalar(R) * p[0] * q[0];
  }
}

// out = v over R rows (a single v broadcast), or, for a single-valued out, the sum of v.
void add_column(Scalar* out, bool out_rows, const Scalar* v, bool v_rows, Index R) {
  const Scalar one = 1;
  add_products(out, out_rows, v, v_rows, &one, false, R);
}

// Divides each of the R rows of `col` by d (R values, or one for all).
void divide_rows(Scalar* col, const Scalar* d, bool d_rows, Index R) {
  if (d_rows) {
    ColumnMap(col, R) /= ConstColumnMap(d, R);
  } else {
    ColumnMap(col, R) /= d[0];
  }
}

// For each row, solves T_r h_r = g_r for the D x D triangle T_r stored in the rows of `t`
// (t_rows: one per row, else one for all), where T is L (transposed = false) or L^T, and L
// is lower (or upper) triangular. g and h are R x D, column-major; h may alias g.
void rowwise_substitute(const Scalar* t, bool t_rows, Index D, bool lower, bool transposed,
                        const Scalar* g, Scalar* h, Index R) {
  const Index Rt = t_rows ? R : 1;
  // Entry (i, k) of T: L(i, k), or L(k, i) for the transpose.
  auto entry = [&](Index i, Index k) { return t + (transposed ? i * D + k : k * D + i) * Rt; };
  // T is lower triangular when L is lower and not transposed, or upper and transposed:
  // then forward substitution (i ascending, over k < i), else backward.
  const bool forward = lower != transposed;
  for (Index step = 0; step < D; ++step) {
    const Index i = forward ? step : D - 1 - step;
    Scalar* hi = h + i * R;
    if (hi != g + i * R) std::copy(g + i * R, g + (i + 1) * R, hi);
    const Index k0 = forward ? 0 : i + 1;
    const Index k1 = forward ? i : D;
    for (Index k = k0; k < k1; ++k) {
      add_products(hi, true, entry(i, k), t_rows, h + k * R, true, R, -1);
    }
    divide_rows(hi, entry(i, i), t_rows, R);
  }
}

}  // namespace

Tensor rowwise_matvec(const Tensor& a, const Tensor& x) {
  const Operand A = Operand::of(a);
  const Operand X = Operand::of(x);
  const Index R = broadcast_rows(A.rows, X.rows);
  const Index N = X.cols;
  if (N < 1 || A.cols < 1 || A.cols % N != 0 || R < 0) {
    throw_shape_mismatch(
        "rowwise_matvec", A, X,
        "do not fit (each row of the first must hold a matrix with as many columns as the "
        "second has, and the rows must be equal or 1)");
  }
  const Index M = A.cols / N;
  const bool a_rows = A.rows == R, x_rows = X.rows == R;
  auto fill = [&](Scalar* out) {
    MatrixMap(out, R, M).setZero();
    for (Index j = 0; j < N; ++j) {
      for (Index i = 0; i < M; ++i) {
        add_products(out + i * R, true, A.value + (j * M + i) * A.rows, a_rows,
                     X.value + j * X.rows, x_rows, R);
      }
    }
  };
  if (!A.requires_grad() && !X.requires_grad()) return constant_result(R, M, fill);
  // y_ri = sum_j A_r(i, j) x_rj, so dA_r(i, j) += g_ri x_rj and dx_rj += sum_i A_r(i, j) g_ri
  // (summed over the rows for an operand that serves all of them).
  const Scalar* av = X.requires_grad() ? A.stable() : nullptr;
  const Scalar* xv = A.requires_grad() ? X.stable() : nullptr;
  return recorded_result(
      R, M, fill, [an = A.node, xn = X.node, av, xv, Ra = A.rows, Rx = X.rows, R, M, N](Node& y) {
        const Scalar* g = y.adj;
        if (an != nullptr) {
          an->touch();
          for (Index j = 0; j < N; ++j) {
            for (Index i = 0; i < M; ++i) {
              add_products(an->adj + (j * M + i) * Ra, Ra == R, g + i * R, true, xv + j * Rx,
                           Rx == R, R);
            }
          }
        }
        if (xn != nullptr) {
          xn->touch();
          for (Index j = 0; j < N; ++j) {
            for (Index i = 0; i < M; ++i) {
              add_products(xn->adj + j * Rx, Rx == R, av + (j * M + i) * Ra, Ra == R, g + i * R,
                           true, R);
            }
          }
        }
      });
}

Tensor rowwise_solve_triangular(const Tensor& l, const Tensor& b, bool lower) {
  const Operand L = Operand::of(l);
  const Operand B = Operand::of(b);
  const Index D = B.cols;
  const Index R = broadcast_rows(L.rows, B.rows);
  if (D < 1 || L.cols != D * D || R < 0) {
    throw_shape_mismatch(
        "rowwise_solve_triangular", L, B,
        "do not fit (each row of the first must hold a D x D triangle, D*D columns, for the D "
        "columns of the second, and the rows must be equal or 1)");
  }
  const bool l_rows = L.rows == R, b_rows = B.rows == R;
  auto fill = [&](Scalar* out) {
    // A right-hand side with one row serves every row: spread it first.
    MatrixMap y(out, R, D);
    if (b_rows) {
      y = B.matrix();
    } else {
      y = B.matrix().replicate(R, 1);
    }
    rowwise_substitute(L.value, l_rows, D, lower, false, out, out, R);
  };
  if (!L.requires_grad() && !B.requires_grad()) return constant_result(R, D, fill);
  // As for solve_triangular, row by row: b's adjoint is h = L^-T g and L's is -h y^T, kept
  // on the triangle the op reads.
  return recorded_result(
      R, D, fill,
      [ln = L.node, bn = B.node, lv = L.stable(), Rl = L.rows, Rb = B.rows, R, D, lower](Node& y) {
        Array h(R, D);
        rowwise_substitute(lv, Rl == R, D, lower, true, y.adj, h.data(), R);
        if (bn != nullptr) {
          bn->touch();
          for (Index j = 0; j < D; ++j) {
            add_column(bn->adj + j * Rb, Rb == R, h.data() + j * R, true, R);
          }
        }
        if (ln != nullptr) {
          ln->touch();
          for (Index k = 0; k < D; ++k) {
            for (Index i = lower ? k : 0; i < (lower ? D : k + 1); ++i) {
              add_products(ln->adj + (k * D + i) * Rl, Rl == R, h.data() + i * R, true,
                           y.value + k * R, true, R, -1);
            }
          }
        }
      });
}

}  // namespace vesta
