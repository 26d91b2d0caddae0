// Cauchy(loc, scale): the Lorentz distribution, Student's t with one degree of freedom. Its
// mean and variance do not exist (mean() and variance() throw). Reparameterised through the
// inverse CDF, loc + scale * tan(pi (u - 1/2)).
#pragma once

#include <vesta/core/distribution.hpp>

namespace vesta {

/// Cauchy(loc, scale): Student's t with one degree of freedom (no mean or variance).
class Cauchy final : public Family<Cauchy> {
 public:
  /// loc (the median) and scale (the half width at half maximum) broadcast together to the
  /// batch shape; scale must be positive.
  Cauchy(Tensor loc, Tensor scale);

  std::string name() const override { return "Cauchy"; }
  Index rows() const override { return rows_; }
  Index cols() const override { return cols_; }
  ConstraintPtr support() const override { return constraints::real(); }
  bool has_rsample() const override { return true; }
  DistributionPtr expand(Index rows, Index cols) const override;

  /// The median.
  const Tensor& loc() const { return loc_; }
  /// The half-width at half-maximum.
  const Tensor& scale() const { return scale_; }

 protected:
  Tensor rsample_impl(Rng& rng) const override;
  Tensor log_prob_impl(const Tensor& value) const override;
  Tensor entropy_impl() const override;

 private:
  Tensor loc_;
  Tensor scale_;
  Index rows_;
  Index cols_;
};

}  // namespace vesta
