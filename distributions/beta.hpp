// Beta(concentration1, concentration0): density x^(a-1) (1-x)^(b-1) / B(a, b) on [0, 1], with
// Pyro's argument order (alpha, beta). Reparameterised as G1 / (G1 + G0) of standard Gammas.
#pragma once

#include <vesta/core/distribution.hpp>

namespace vesta {

/// Beta(concentration1, concentration0) on [0, 1], with Pyro's argument order (alpha, beta).
class Beta final : public Family<Beta> {
 public:
  /// concentration1 (alpha, the weight of x) and concentration0 (beta, the weight of 1 - x)
  /// broadcast together to the batch shape; both must be positive.
  Beta(Tensor concentration1, Tensor concentration0);

  std::string name() const override { return "Beta"; }
  Index rows() const override { return rows_; }
  Index cols() const override { return cols_; }
  ConstraintPtr support() const override { return constraints::unit_interval(); }
  bool has_rsample() const override { return true; }
  DistributionPtr expand(Index rows, Index cols) const override;

  /// alpha, the exponent of x.
  const Tensor& concentration1() const { return concentration1_; }
  /// beta, the exponent of 1 - x.
  const Tensor& concentration0() const { return concentration0_; }

 protected:
  Tensor rsample_impl(Rng& rng) const override;
  Tensor sample_impl(Rng& rng) const override;
  Tensor log_prob_impl(const Tensor& value) const override;
  Tensor mean_impl() const override;
  Tensor variance_impl() const override;
  Tensor entropy_impl() const override;

 private:
  Tensor concentration1_;
  Tensor concentration0_;
  Index rows_;
  Index cols_;
};

}  // namespace vesta
