// Gamma(concentration, rate): density rate^a x^(a-1) e^(-rate x) / Gamma(a). Reparameterised
// by implicit differentiation of the CDF (Figurnov, Mohamed & Mnih 2018), as in Pyro.
#pragma once

#include <vesta/core/distribution.hpp>

namespace vesta {

/// Gamma(concentration, rate): density rate^a x^(a-1) e^(-rate x) / Gamma(a), reparameterised by
/// implicit differentiation.
class Gamma final : public Family<Gamma> {
 public:
  /// concentration (the shape a) and rate broadcast together to the batch shape; both must
  /// be positive.
  Gamma(Tensor concentration, Tensor rate);

  std::string name() const override { return "Gamma"; }
  Index rows() const override { return rows_; }
  Index cols() const override { return cols_; }
  ConstraintPtr support() const override { return constraints::positive(); }
  bool has_rsample() const override { return true; }
  DistributionPtr expand(Index rows, Index cols) const override;

  /// The shape a.
  const Tensor& concentration() const { return concentration_; }
  /// The rate (inverse scale).
  const Tensor& rate() const { return rate_; }

 protected:
  Tensor rsample_impl(Rng& rng) const override;
  Tensor sample_impl(Rng& rng) const override;
  Tensor log_prob_impl(const Tensor& value) const override;
  Tensor mean_impl() const override;
  Tensor variance_impl() const override;
  Tensor entropy_impl() const override;

 private:
  Tensor concentration_;
  Tensor rate_;
  Index rows_;
  Index cols_;
};

}  // namespace vesta
