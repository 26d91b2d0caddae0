// Exponential(rate): waiting times of a Poisson process, density rate exp(-rate x) on
// [0, inf). Reparameterised as E / rate with E ~ Exponential(1).
#pragma once

#include <vesta/core/distribution.hpp>

namespace vesta {

/// Exponential(rate): density rate exp(-rate x) on [0, inf).
class Exponential final : public Family<Exponential> {
 public:
  /// rate (the inverse mean) must be positive; its shape is the batch shape.
  explicit Exponential(Tensor rate);

  std::string name() const override { return "Exponential"; }
  Index rows() const override { return rate_.rows(); }
  Index cols() const override { return rate_.cols(); }
  /// [0, inf): a draw can be exactly 0.
  ConstraintPtr support() const override { return constraints::nonnegative(); }
  bool has_rsample() const override { return true; }
  DistributionPtr expand(Index rows, Index cols) const override;

  /// The rate (inverse mean).
  const Tensor& rate() const { return rate_; }

 protected:
  Tensor rsample_impl(Rng& rng) const override;
  Tensor log_prob_impl(const Tensor& value) const override;
  Tensor mean_impl() const override;
  Tensor variance_impl() const override;
  Tensor entropy_impl() const override;

 private:
  Tensor rate_;
};

}  // namespace vesta
