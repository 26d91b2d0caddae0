#include <vesta/distributions/laplace.hpp>

#include <cmath>
#include <tuple>

#include <vesta/core/op_support.hpp>
#include <vesta/core/ops.hpp>
#include <vesta/distributions/params.hpp>

namespace vesta {

namespace {
/// Standard Laplace draws by the inverse CDF: for v = u - 1/2 uniform on (-1/2, 1/2),
/// -sign(v) log(1 - 2|v|). Rng::uniform can return exactly 0, where the log is -inf, so such
/// draws are redrawn: conditioning on u != 0 leaves u uniform on the remaining grid points.
/// The largest magnitude is then 53 log 2 (double) or 24 log 2 (float) scales from loc.
Tensor standard_laplace(Rng& rng, Index rows, Index cols) {
  return constant_result(rows, cols, [&](Scalar* out) {
    rng.fill_uniform(out, rows * cols);
    for (Index k = 0; k < rows * cols; ++k) {
      Scalar u = out[k];
      while (u == 0) u = rng.uniform();
      const double v = double(u) - 0.5;
      const double magnitude = -std::log1p(-2 * std::abs(v));
      out[k] = static_cast<Scalar>(std::copysign(magnitude, v));
    }
  });
}

}  // namespace

Laplace::Laplace(Tensor loc, Tensor scale) : loc_(std::move(loc)), scale_(std::move(scale)) {
  std::tie(rows_, cols_) = detail::broadcast_shape("Laplace", {&loc_, &scale_});
  validate_args([&] {
    detail::check_finite("Laplace", "loc", loc_);
    detail::check_positive("Laplace", "scale", scale_);
  });
}

Tensor Laplace::rsample_impl(Rng& rng) const {
  return detail::location_scale(loc_, scale_, standard_laplace(rng, rows_, cols_));
}

Tensor Laplace::log_prob_impl(const Tensor& value) const {
  validate_sample(value);
  return -abs(value - loc_) / scale_ - log(Scalar(2) * scale_);
}

DistributionPtr Laplace::expand(Index rows, Index cols) const {
  return std::make_shared<Laplace>(detail::broadcast_to(loc_, rows, cols),
                                   detail::broadcast_to(scale_, rows, cols));
}

Tensor Laplace::mean_impl() const { return detail::broadcast_to(loc_, rows_, cols_); }
Tensor Laplace::variance_impl() const {
  return detail::broadcast_to(Scalar(2) * square(scale_), rows_, cols_);
}
Tensor Laplace::entropy_impl() const {
  return detail::broadcast_to(Scalar(1) + log(Scalar(2) * scale_), rows_, cols_);
}

}  // namespace vesta
