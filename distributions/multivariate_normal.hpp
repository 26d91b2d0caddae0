// MultivariateNormal(loc, scale_tril or covariance): each row of a draw is one D-dimensional
// Gaussian event, reparameterised as loc + eps L^T with L L^T the covariance.
#pragma once

#include <vesta/core/distribution.hpp>

namespace vesta {

class MultivariateNormal final : public Family<MultivariateNormal> {
 public:
  /// loc is 1 x D (one mean) or R x D (one per row); scale_tril is the D x D lower-triangular
  /// Cholesky factor L of the covariance (positive diagonal).
  static MultivariateNormal from_scale_tril(Tensor loc, Tensor scale_tril);
  /// covariance is D x D, symmetric positive definite; it is factored once here
  /// (differentiably).
  static MultivariateNormal from_covariance(Tensor loc, Tensor covariance);

  std::string name() const override { return "MultivariateNormal"; }
  Index rows() const override { return loc_.rows(); }
  Index cols() const override { return loc_.cols(); }
  int event_dim() const override { return 1; }
  ConstraintPtr support() const override { return constraints::real(); }
  bool has_rsample() const override { return true; }
  Tensor rsample(Rng& rng) const override;
  /// Log density of each row of `value` (R x D, or 1 x D; either may broadcast against the
  /// other's rows): R x 1.
  Tensor log_prob(const Tensor& value) const override;
  /// To rows x D, broadcasting a single row of loc.
  DistributionPtr expand(Index rows, Index cols) const override;

  const Tensor& loc() const { return loc_; }
  const Tensor& scale_tril() const { return scale_tril_; }
  /// As given, or L L^T.
  Tensor covariance() const;
  Index dim() const { return loc_.cols(); }
  /// loc (R x D), the covariance's diagonal in every row (R x D), and the entropy
  /// D/2 (1 + log 2 pi) + sum log diag L of each row (R x 1).
  Tensor mean() const override;
  Tensor variance() const override;
  Tensor entropy() const override;

 private:
  MultivariateNormal(Tensor loc, Tensor scale_tril, Tensor covariance);

  Tensor loc_;
  Tensor scale_tril_;
  Tensor covariance_;  // empty unless made from the covariance
};

}  // namespace vesta
