// Normal(loc, scale): the Gaussian, reparameterised as loc + scale * eps.
#pragma once

#include <vesta/core/distribution.hpp>

namespace vesta {

/// Normal(loc, scale): the Gaussian, reparameterised as loc + scale * eps.
class Normal final : public Family<Normal> {
 public:
  /// loc and scale broadcast together to the batch shape; scale must be positive.
  Normal(Tensor loc, Tensor scale);

  std::string name() const override { return "Normal"; }
  Index rows() const override { return rows_; }
  Index cols() const override { return cols_; }
  ConstraintPtr support() const override { return constraints::real(); }
  bool has_rsample() const override { return true; }
  DistributionPtr expand(Index rows, Index cols) const override;

  /// The mean, as given: it may broadcast against the batch shape (expand() leaves it as it
  /// was).
  const Tensor& loc() const { return loc_; }
  /// The standard deviation, as given: it may broadcast against the batch shape too.
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
