#include <vesta/distributions/exponential.hpp>

#include <vesta/core/ops.hpp>
#include <vesta/distributions/params.hpp>

namespace vesta {

Exponential::Exponential(Tensor rate) : rate_(std::move(rate)) {
  validate_args([&] { detail::check_positive("Exponential", "rate", rate_); });
}

Tensor Exponential::rsample_impl(Rng& rng) const {
  // Rng::exponential is -log1p(-u) with u in [0, 1): finite, never log(0).
  Matrix e(rows(), cols());
  for (Index k = 0; k < e.size(); ++k) e.data()[k] = rng.exponential();
  return Tensor(std::move(e)) / rate_;
}

Tensor Exponential::log_prob_impl(const Tensor& value) const {
  validate_sample(value);
  return log(rate_) - rate_ * value;
}

DistributionPtr Exponential::expand(Index rows, Index cols) const {
  return std::make_shared<Exponential>(detail::broadcast_to(rate_, rows, cols));
}

Tensor Exponential::mean_impl() const { return Scalar(1) / rate_; }
Tensor Exponential::variance_impl() const { return Scalar(1) / square(rate_); }
Tensor Exponential::entropy_impl() const { return Scalar(1) - log(rate_); }

}  // namespace vesta
