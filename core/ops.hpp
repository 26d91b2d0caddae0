// The differentiable operations on Tensors. Each is one node on the tape for a whole matrix.
// Elementwise binary ops broadcast a 1x1, 1xC or Rx1 operand against an RxC one; any other
// shape mismatch throws ShapeError naming the op and both shapes.
#pragma once

#include <span>
#include <vector>

#include <vesta/core/tensor.hpp>

namespace vesta {

// ---- arithmetic (broadcasting) ------------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
/// a^b elementwise (a > 0 where b is not an integer).
Tensor pow(const Tensor& a, const Tensor& b);
/// x^p for a number p.
Tensor pow(const Tensor& x, Scalar p);
Tensor neg(const Tensor& x);

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& x) { return neg(x); }

// ---- elementwise functions ------------------------------------------------------------
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor log1p(const Tensor& x);
Tensor expm1(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor square(const Tensor& x);
/// |x|; its gradient at 0 is 0.
Tensor abs(const Tensor& x);
Tensor tanh(const Tensor& x);
/// 1 / (1 + exp(-x)).
Tensor sigmoid(const Tensor& x);
/// max(x, 0); its gradient at 0 is 0.
Tensor relu(const Tensor& x);
/// x itself (no node): the non-linearity of a layer without one.
Tensor identity(const Tensor& x);
/// x for x > 0, slope * x otherwise.
Tensor leaky_relu(const Tensor& x, Scalar slope = Scalar(0.01));
/// log(1 + exp(x)), computed without overflow for large |x|.
Tensor softplus(const Tensor& x);
/// log(sigmoid(x)) = -softplus(-x), computed without overflow for large |x|.
Tensor log_sigmoid(const Tensor& x);
/// log|Gamma(x)| (Boost.Math).
Tensor lgamma(const Tensor& x);
/// d/dx log Gamma(x) (Boost.Math); its derivative is the trigamma function.
Tensor digamma(const Tensor& x);
Tensor erf(const Tensor& x);
/// x limited to [lo, hi]; the gradient is 1 inside the interval (ends included), 0 outside.
Tensor clamp(const Tensor& x, Scalar lo, Scalar hi);
/// Elementwise choice: a where `condition` is nonzero, b elsewhere. `condition` is a
/// constant; the three broadcast together. Each entry's gradient goes to the chosen branch
/// only (the other gets exactly 0). As in any reverse-mode system, a branch whose own
/// derivative is infinite at the unchosen entries (log(x) at x = 0) still turns that 0 into
/// NaN further back: guard its input too, where(c, log(where(c, x, 1)), 0).
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);

// ---- linear algebra -----------------------------------------------------------------------
/// Matrix product (RxK times KxC).
Tensor matmul(const Tensor& a, const Tensor& b);
/// x w + b: a dense layer's pre-activation for x (RxK), w (KxC) and a bias row b (1xC), as one
/// node. The product is accumulated onto the bias rows and the output's adjoint goes straight
/// to the three inputs, where matmul(x, w) + b records two nodes and passes over the RxC output
/// twice more (the sum forward, a copy of the adjoint backward).
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b);
Tensor transpose(const Tensor& x);
/// The lower-triangular L with L L^T = A, for a symmetric positive-definite A (n x n). A is
/// read as its symmetric part (A + A^T) / 2, so the gradient is symmetric too. Throws
/// ShapeError unless A is square, and ValueError naming the failing pivot when A is not
/// positive definite (or an entry that is not finite).
Tensor cholesky(const Tensor& a);
/// X with L X = B, for a triangular L (n x n) and B (n x m), by substitution. Only L's lower
/// (or, with lower = false, upper) triangle is read, and only that triangle gets a gradient.
/// A zero on L's diagonal gives infinite entries, as division by zero does.
Tensor solve_triangular(const Tensor& l, const Tensor& b, bool lower = true);
/// The main diagonal of x (min(rows, cols) x 1).
Tensor diagonal(const Tensor& x);

// ---- a small matrix per row -----------------------------------------------------------
// These treat each row of `a` as one small matrix, its entries in column-major order (so
// reshape(row r of a, M, N) is row r's matrix), and act on each row of the other operand:
// a batch of small matrices in vesta's 2-D world, one per example. Either operand may have
// a single row, which then serves every row of the other.

/// Row r of the result is A_r x_r, for a (R x M*N, row r holding the M x N matrix A_r) and
/// x (R x N): R x M. Throws ShapeError unless a's columns are a multiple of x's and the rows
/// are equal (or one of them 1).
Tensor rowwise_matvec(const Tensor& a, const Tensor& x);
/// Row r of the result is y_r with L_r y_r = b_r, for l (R x D*D, row r holding the D x D
/// triangular L_r) and b (R x D): R x D, by substitution. Only the lower (or, with
/// lower = false, upper) triangle of each L_r is read, and only it gets a gradient.
Tensor rowwise_solve_triangular(const Tensor& l, const Tensor& b, bool lower = true);

// ---- reductions -----------------------------------------------------------------------
/// Sum of all elements (1x1).
Tensor sum(const Tensor& x);
/// The sum of 1x1 terms, as one node however many there are (an ELBO's rows, a trace's
/// log-joint): a chain of additions would record one node per term. 0 for none.
Tensor sum_of(std::span<const Tensor> terms);
/// sum_k weights[k] * terms[k], as one node (an ELBO: + log p, - log q). The spans have the
/// same length.
Tensor sum_of(std::span<const Tensor> terms, std::span<const Scalar> weights);
Tensor mean(const Tensor& x);
/// Sum of each row (Rx1), as Eigen's rowwise().sum().
Tensor rowwise_sum(const Tensor& x);
Tensor rowwise_mean(const Tensor& x);
/// Sum of each column (1xC), as Eigen's colwise().sum().
Tensor colwise_sum(const Tensor& x);
Tensor colwise_mean(const Tensor& x);
/// log(sum(exp(x))) over all elements (1x1), stable for large |x|.
Tensor logsumexp(const Tensor& x);
/// log(sum(exp(x))) of each row (Rx1), stable for large |x|.
Tensor rowwise_logsumexp(const Tensor& x);
/// x minus the logsumexp of its row: each row becomes log-probabilities.
Tensor rowwise_log_softmax(const Tensor& x);

// ---- shape ----------------------------------------------------------------------------
/// The same elements (column-major order) as a rows x cols Tensor.
Tensor reshape(const Tensor& x, Index rows, Index cols);
/// Side by side; all parts have the same number of rows.
Tensor hstack(const std::vector<Tensor>& parts);
/// One above the other; all parts have the same number of columns.
Tensor vstack(const std::vector<Tensor>& parts);
/// x with a column of ones appended on the right (a bias input for the next layer).
Tensor append_ones_column(const Tensor& x);
/// The rows of x at `indices`, in that order (repeats allowed): a minibatch.
Tensor gather_rows(const Tensor& x, const std::vector<Index>& indices);
/// The columns of x at `indices`, in that order (repeats allowed).
Tensor gather_cols(const Tensor& x, const std::vector<Index>& indices);
/// The entries of x (in column-major order; a vector's entries in order) at the integer
/// values of `index`, shaped like `index`: Pyro's `locs[z]`. Gradients flow to x, none to
/// the index. With an enumerated z (a 1 x K row of every value) it gives every value's entry
/// side by side; with a drawn z (N x 1) one entry per datum. Throws ShapeError naming the
/// entry of `index` that is not an integer position in x.
Tensor take(const Tensor& x, const Tensor& index);
/// The rows of x at the integer values of `index` (a row or a column of K indices): K rows,
/// Pyro's `probs[z]` for a matrix of transition probabilities. Throws as take does.
Tensor take_rows(const Tensor& x, const Tensor& index);
/// Columns [start, start + count) of x.
Tensor slice_cols(const Tensor& x, Index start, Index count);

}  // namespace vesta
