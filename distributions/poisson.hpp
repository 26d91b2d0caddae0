// Poisson(rate): counts k = 0, 1, 2, ... with probability rate^k e^(-rate) / k!. Drawn
// exactly (inversion for small rates, Hoermann's PTRS for large); not reparameterisable.
#pragma once

#include <vesta/core/distribution.hpp>

namespace vesta {

/// Poisson(rate): counts k with probability rate^k e^(-rate) / k!; not reparameterisable.
class Poisson final : public Family<Poisson> {
 public:
  /// rate must be nonnegative (a rate of 0 always draws 0, as in Pyro).
  explicit Poisson(Tensor rate);

  std::string name() const override { return "Poisson"; }
  Index rows() const override { return rate_.rows(); }
  Index cols() const override { return rate_.cols(); }
  ConstraintPtr support() const override { return constraints::nonnegative_integer(); }
  DistributionPtr expand(Index rows, Index cols) const override;

  /// The rate (mean).
  const Tensor& rate() const { return rate_; }

 protected:
  Tensor sample_impl(Rng& rng) const override;
  Tensor log_prob_impl(const Tensor& value) const override;
  Tensor mean_impl() const override { return rate_; }
  Tensor variance_impl() const override { return rate_; }

 private:
  Tensor rate_;
};

}  // namespace vesta
