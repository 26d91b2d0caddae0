// TransformedDistribution(base, constraint): the law of T(x) for x ~ base, where T is the
// constraint's bijection from unconstrained space (exp for positive, stick-breaking for the
// simplex, ...). Its density is the base's at T^-1(y) less the log-Jacobian of T. Autoguides
// fit constrained latents this way: a Normal in unconstrained space, pushed into the support.
#pragma once

#include <vesta/core/distribution.hpp>

namespace vesta {

/// TransformedDistribution(base, constraint): the law of T(x) for x ~ base, T the constraint's
/// bijection from unconstrained space.
class TransformedDistribution final : public Family<TransformedDistribution> {
 public:
  /// `support` must have a bijection (a continuous constraint); base draws are unconstrained
  /// values of shape rows x unconstrained_cols.
  TransformedDistribution(DistributionPtr base, ConstraintPtr support);

  std::string name() const override {
    return "Transformed(" + base_->name() + ", " + support_->name() + ")";
  }
  Index rows() const override { return base_->rows(); }
  Index cols() const override { return support_->constrained_cols(base_->cols()); }
  int event_dim() const override;
  ConstraintPtr support() const override { return support_; }
  bool has_rsample() const override { return base_->has_rsample(); }
  DistributionPtr expand(Index rows, Index cols) const override;

  /// The distribution of x, before the transform.
  const DistributionPtr& base() const { return base_; }

 protected:
  /// T(x) for a reparameterised base draw x. The pair (x, T(x)) is kept, so that log_prob of
  /// this very draw uses x itself and keeps the pathwise gradient through it.
  Tensor rsample_impl(Rng& rng) const override;
  Tensor sample_impl(Rng& rng) const override;
  /// log base(x) - log|det dT/dx| at x = T^-1(value), one entry per event.
  Tensor log_prob_impl(const Tensor& value) const override;

 private:
  DistributionPtr base_;
  ConstraintPtr support_;
  // The last draw and the base value it came from (Pyro's transform cache).
  mutable Tensor last_x_;
  mutable Tensor last_y_;
};

}  // namespace vesta
