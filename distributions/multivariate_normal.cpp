#include <vesta/distributions/multivariate_normal.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <boost/math/constants/constants.hpp>

#include <vesta/core/ops.hpp>
#include <vesta/distributions/params.hpp>

namespace vesta {

namespace {

constexpr const char* kFamily = "MultivariateNormal";
const Scalar kHalfLog2Pi = Scalar(0.5) * std::log(boost::math::constants::two_pi<double>());

// loc is R x D with D >= 1, and `matrix` (scale_tril or covariance) is D x D.
void check_shapes(const Tensor& loc, const char* arg, const Tensor& matrix) {
  if (loc.cols() == 0) {
    throw ShapeError(
        fmt::format("{}: loc is {}, but needs a column for each dimension (at least one)", kFamily,
                    loc.shape()));
  }
  if (matrix.rows() != matrix.cols()) {
    throw ShapeError(fmt::format("{}: {} is {}, but must be square", kFamily, arg, matrix.shape()));
  }
  if (matrix.rows() != loc.cols()) {
    throw ShapeError(fmt::format("{}: loc is {} (dimension {}), so {} must be {}, not {}", kFamily,
                                 loc.shape(), loc.cols(), arg, shape_str(loc.cols(), loc.cols()),
                                 matrix.shape()));
  }
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

MultivariateNormal::MultivariateNormal(Tensor loc, Tensor scale_tril, Tensor covariance)
    : loc_(std::move(loc)), scale_tril_(std::move(scale_tril)), covariance_(std::move(covariance)) {
  if (!validation_enabled()) return;
  detail::check_finite(kFamily, "loc", loc_);
  // A factor computed from the covariance is valid by construction.
  if (covariance_.empty()) check_scale_tril(scale_tril_);
}

MultivariateNormal MultivariateNormal::from_scale_tril(Tensor loc, Tensor scale_tril) {
  check_shapes(loc, "scale_tril", scale_tril);
  return MultivariateNormal(std::move(loc), std::move(scale_tril), Tensor());
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
  return MultivariateNormal(std::move(loc), std::move(l), std::move(covariance));
}

Tensor MultivariateNormal::covariance() const {
  return covariance_.empty() ? matmul(scale_tril_, transpose(scale_tril_)) : covariance_;
}

Tensor MultivariateNormal::rsample(Rng& rng) const {
  // Each row x = loc + L eps for eps ~ N(0, I): as rows, X = loc + E L^T.
  return loc_ + matmul(Tensor(rng.normal(rows(), dim())), transpose(scale_tril_));
}

Tensor MultivariateNormal::log_prob(const Tensor& value) const {
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
  const Tensor z = solve_triangular(scale_tril_, transpose(value - loc_));
  const Tensor squared_norms = transpose(colwise_sum(square(z)));
  return Scalar(-0.5) * squared_norms - (sum(log(diagonal(scale_tril_))) + Scalar(D) * kHalfLog2Pi);
}

DistributionPtr MultivariateNormal::expand(Index rows, Index cols) const {
  if (cols != dim() || (rows != loc_.rows() && loc_.rows() != 1)) {
    return Distribution::expand(rows, cols);  // throws ShapeError naming both shapes
  }
  return std::make_shared<MultivariateNormal>(
      MultivariateNormal(detail::broadcast_to(loc_, rows, cols), scale_tril_, covariance_));
}

Tensor MultivariateNormal::mean() const { return loc_; }

Tensor MultivariateNormal::variance() const {
  // diag(L L^T)_i = sum_j L_ij^2, without forming the product.
  const Tensor diag =
      covariance_.empty() ? rowwise_sum(square(scale_tril_)) : diagonal(covariance_);
  return detail::broadcast_to(transpose(diag), rows(), dim());
}

Tensor MultivariateNormal::entropy() const {
  // H = D/2 (1 + log 2 pi) + log det L.
  const Tensor h = sum(log(diagonal(scale_tril_))) + Scalar(dim()) * (Scalar(0.5) + kHalfLog2Pi);
  return detail::broadcast_to(h, rows(), 1);
}

}  // namespace vesta
