// Laplace(loc, scale): the double exponential, density exp(-|x - loc| / scale) / (2 scale).
// Reparameterised through the inverse CDF.
#pragma once

#include <vesta/core/distribution.hpp>

namespace vesta {

/// Laplace(loc, scale): density exp(-|x - loc| / scale) / (2 scale).
class Laplace final : public Family<Laplace> {
 public:
  /// loc and scale broadcast together to the batch shape; scale must be positive.
  Laplace(Tensor loc, Tensor scale);

  std::string name() const override { return "Laplace"; }
  Index rows() const override { return rows_; }
  Index cols() const override { return cols_; }
  ConstraintPtr support() const override { return constraints::real(); }
  bool has_rsample() const override { return true; }
  DistributionPtr expand(Index rows, Index cols) const override;

  /// The location (mean and median).
  const Tensor& loc() const { return loc_; }
  /// The scale.
  const Tensor& scale() const { return scale_; }

 protected:
  Tensor rsample_impl(Rng& rng) const override;
  Tensor log_prob_impl(const Tensor& value) const override;
  Tensor mean_impl() const override;
  Tensor variance_impl() const override;
  Tensor entropy_impl() const override;

 private:
  Tensor loc_;
  Tensor scale_;
  Index rows_;
  Index cols_;
};

}  // namespace vesta
