#include <vesta/distributions/multivariate_normal.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <boost/math/constants/constants.hpp>

#include <vesta/core/ops.hpp>
#include <vesta/distributions/params.hpp>

namespace vesta {

namespace {

constexpr const char* kFamily = "MultivariateNormal";
const Scalar kHalfLog2Pi = Scalar(0.5) * std::log(boost::math::constants::two_pi<double>());

// loc has at least one column.
void check_loc(const Tensor& loc) {
  if (loc.cols() == 0) {
    throw ShapeError(
        fmt::format("{}: loc is {}, but needs a column for each dimension (at least one)", kFamily,
                    loc.shape()));
  }
}

// loc is R x D with D >= 1, and `matrix` (a single scale_tril, or the covariance) is D x D.
void check_shapes(const Tensor& loc, const char* arg, const Tensor& matrix) {
  check_loc(loc);
  if (matrix.rows() != matrix.cols()) {
    throw ShapeError(fmt::format("{}: {} is {}, but must be square", kFamily, arg, matrix.shape()));
  }
  if (matrix.rows() != loc.cols()) {
    throw ShapeError(fmt::format("{}: loc is {} (dimension {}), so {} must be {}, not {}", kFamily,
                                 loc.shape(), loc.cols(), arg, shape_str(loc.cols(), loc.cols()),
                                 matrix.shape()));
  }
}

// The rows of a scale_tril with a factor per row broadcast against loc's (equal, or one 1).
Index per_row_batch(const Tensor& loc, const Tensor& scale_tril) {
  const Index a = loc.rows(), b = scale_tril.rows();
  if (a == b || a == 1) return b;
  if (b == 1) return a;
  throw ShapeError(fmt::format(
      "{}: loc is {} but scale_tril is {}, a factor per row; their rows must be equal (or one of "
      "them 1)",
      kFamily, loc.shape(), scale_tril.shape()));
}

// Lower triangular with a positive diagonal (the lower_cholesky constraint), naming the
// first entry that is not.
void check_scale_tril(const Tensor& l) {
  detail::check_finite(kFamily, "scale_tril", l);
  const ConstMatrixMap v = l.value();
  for (Index j = 0; j < v.cols(); ++j) {
    for (Index i = 0; i < j; ++i) {
      if (v(i, j) != 0) {
        throw ValueError(
            fmt::format("{}: scale_tril[{}, {}] is {}, but must be 0 (lower triangular)", kFamily,
                        i, j, v(i, j)));
      }
    }
    if (!(v(j, j) > 0)) {
      throw ValueError(
          fmt::format("{}: scale_tril[{}, {}] is {}, but must be positive (the diagonal "
                      "of a Cholesky factor)",
                      kFamily, j, j, v(j, j)));
    }
  }
}

// The same for a factor per row: row r's entry (i, j) is in column j * D + i.
void check_scale_tril_rows(const Tensor& l, Index D) {
  detail::check_finite(kFamily, "scale_tril", l);
  const ConstMatrixMap v = l.value();
  for (Index r = 0; r < v.rows(); ++r) {
    for (Index j = 0; j < D; ++j) {
      for (Index i = 0; i <= j; ++i) {
        const Scalar x = v(r, j * D + i);
        const bool ok = i == j ? x > 0 : x == 0;
        if (!ok) {
          throw ValueError(fmt::format(
              "{}: scale_tril[{}, {}] (entry [{}, {}] of row {}'s factor) is {}, but must be {}",
              kFamily, r, j * D + i, i, j, r, x,
              i == j ? "positive (the diagonal of a Cholesky factor)" : "0 (lower triangular)"));
        }
      }
    }
  }
}

// The columns of a row of D*D entries that hold a D x D matrix's diagonal, or its row i.
std::vector<Index> diagonal_columns(Index D) {
  std::vector<Index> c;
  for (Index j = 0; j < D; ++j) c.push_back(j * D + j);
  return c;
}
std::vector<Index> row_columns(Index D, Index i) {
  std::vector<Index> c;
  for (Index k = 0; k < D; ++k) c.push_back(k * D + i);
  return c;
}

// Symmetric up to rounding: a covariance computed as A A^T need not be exactly symmetric,
// as a GEMM may sum the two halves' dot products in different orders.
void check_symmetric(const Tensor& c) {
  const ConstMatrixMap v = c.value();
  const Index d = v.rows();
  const Scalar eps = std::numeric_limits<Scalar>::epsilon();
  const Scalar rel = std::max(Scalar(sizeof(Scalar) == 4 ? 1e-5 : 1e-10), Scalar(16 * d) * eps);
  const Scalar tol = rel * v.cwiseAbs().maxCoeff();
  for (Index j = 0; j < d; ++j) {
    for (Index i = j + 1; i < d; ++i) {
      if (!(std::abs(v(i, j) - v(j, i)) <= tol)) {
        throw ValueError(
            fmt::format("{}: covariance[{}, {}] is {} but covariance[{}, {}] is {}; it must "
                        "be symmetric",
                        kFamily, i, j, v(i, j), j, i, v(j, i)));
      }
    }
  }
}

}  // namespace

MultivariateNormal::MultivariateNormal(Tensor loc, Tensor scale_tril, Tensor covariance,
                                       bool per_row)
    : loc_(std::move(loc)),
      scale_tril_(std::move(scale_tril)),
      covariance_(std::move(covariance)),
      per_row_(per_row),
      rows_(per_row ? per_row_batch(loc_, scale_tril_) : loc_.rows()) {
  validate_args([&] {
    detail::check_finite(kFamily, "loc", loc_);
    // A factor computed from the covariance is valid by construction.
    if (per_row_) {
      check_scale_tril_rows(scale_tril_, dim());
    } else if (covariance_.empty()) {
      check_scale_tril(scale_tril_);
    }
  });
}

MultivariateNormal MultivariateNormal::from_scale_tril(Tensor loc, Tensor scale_tril) {
  check_loc(loc);
  const Index D = loc.cols();
  const bool one = scale_tril.rows() == D && scale_tril.cols() == D;
  if (!one && scale_tril.cols() == D * D) {
    per_row_batch(loc, scale_tril);  // throws unless the rows broadcast
    return MultivariateNormal(std::move(loc), std::move(scale_tril), Tensor(), true);
  }
  if (!one) {
    throw ShapeError(fmt::format(
        "{}: loc is {} (dimension {}), so scale_tril must be {}, not {} (or, with a factor per "
        "row, {} x {}: each row a factor's entries in column-major order)",
        kFamily, loc.shape(), D, shape_str(D, D), scale_tril.shape(),
        loc.rows() == 1 ? std::string("R") : std::to_string(loc.rows()), D * D));
  }
  return MultivariateNormal(std::move(loc), std::move(scale_tril), Tensor(), false);
}

MultivariateNormal MultivariateNormal::from_covariance(Tensor loc, Tensor covariance) {
  check_shapes(loc, "covariance", covariance);
  if (validation_enabled()) {
    detail::check_finite(kFamily, "covariance", covariance);
    check_symmetric(covariance);
  }
  Tensor l;
  try {
    l = cholesky(covariance);
  } catch (const ValueError& e) {
    // "cholesky: the 3x3 matrix is not positive definite (pivot 2 is ...)", said of the
    // argument.
    const std::string what = e.what();
    const std::size_t at = what.find("not positive definite");
    throw ValueError(at == std::string::npos
                         ? fmt::format("{}: covariance: {}", kFamily, what)
                         : fmt::format("{}: covariance is {}", kFamily, what.substr(at)));
  }
  return MultivariateNormal(std::move(loc), std::move(l), std::move(covariance), false);
}

Tensor MultivariateNormal::scale_tril_rows() const {
  return per_row_ ? scale_tril_ : reshape(scale_tril_, 1, dim() * dim());
}

Tensor MultivariateNormal::half_log_det() const {
  if (per_row_) return rowwise_sum(log(gather_cols(scale_tril_, diagonal_columns(dim()))));
  return sum(log(diagonal(scale_tril_)));
}

Tensor MultivariateNormal::covariance() const {
  if (!covariance_.empty()) return covariance_;
  if (!per_row_) return matmul(scale_tril_, transpose(scale_tril_));
  // Column j of L L^T is L (row j of L)^T: per row, a product with the factor's row j.
  std::vector<Tensor> columns;
  for (Index j = 0; j < dim(); ++j) {
    columns.push_back(rowwise_matvec(scale_tril_, gather_cols(scale_tril_, row_columns(dim(), j))));
  }
  return hstack(columns);
}

Tensor MultivariateNormal::rsample_impl(Rng& rng) const {
  // Each row x = loc + L eps for eps ~ N(0, I): as rows, X = loc + E L^T.
  const Tensor eps = detail::standard_normal(rng, rows(), dim());
  if (per_row_) return loc_ + rowwise_matvec(scale_tril_, eps);
  return loc_ + matmul(eps, transpose(scale_tril_));
}

Tensor MultivariateNormal::log_prob_impl(const Tensor& value) const {
  validate_sample(value);
  const Index R = rows();
  const Index D = dim();
  if (value.cols() != D || (value.rows() != R && value.rows() != 1 && R != 1)) {
    throw ShapeError(
        fmt::format("{}: value is {}, but must be rows of {} that broadcast against the "
                    "batch shape {}",
                    kFamily, value.shape(), D, shape_str(R, 1)));
  }
  // log N(x; mu, L L^T) = -|z|^2 / 2 - sum_i log L_ii - D/2 log(2 pi), with z solving
  // L z = x - mu (one column per row of x): a triangular solve, no inverse.
  if (per_row_) {
    const Tensor z = rowwise_solve_triangular(scale_tril_, value - loc_);
    return Scalar(-0.5) * rowwise_sum(square(z)) - (half_log_det() + Scalar(D) * kHalfLog2Pi);
  }
  const Tensor z = solve_triangular(scale_tril_, transpose(value - loc_));
  const Tensor squared_norms = transpose(colwise_sum(square(z)));
  return Scalar(-0.5) * squared_norms - (half_log_det() + Scalar(D) * kHalfLog2Pi);
}

DistributionPtr MultivariateNormal::expand(Index rows, Index cols) const {
  if (cols == dim() && rows == rows_) return clone();
  if (cols != dim() || rows_ != 1) {
    return Distribution::expand(rows, cols);  // throws ShapeError naming both shapes
  }
  const Tensor l = per_row_ ? detail::broadcast_to(scale_tril_, rows, dim() * dim()) : scale_tril_;
  return std::make_shared<MultivariateNormal>(
      MultivariateNormal(detail::broadcast_to(loc_, rows, cols), l, covariance_, per_row_));
}

Tensor MultivariateNormal::mean_impl() const { return detail::broadcast_to(loc_, rows(), dim()); }

Tensor MultivariateNormal::variance_impl() const {
  // diag(L L^T)_i = sum_j L_ij^2, without forming the product.
  Tensor diag;
  if (per_row_) {
    diag = rowwise_matvec(square(scale_tril_), Tensor::ones(1, dim()));
  } else {
    diag =
        transpose(covariance_.empty() ? rowwise_sum(square(scale_tril_)) : diagonal(covariance_));
  }
  return detail::broadcast_to(diag, rows(), dim());
}

Tensor MultivariateNormal::entropy_impl() const {
  // H = D/2 (1 + log 2 pi) + log det L.
  const Tensor h = half_log_det() + Scalar(dim()) * (Scalar(0.5) + kHalfLog2Pi);
  return detail::broadcast_to(h, rows(), 1);
}

}  // namespace vesta
