// HalfCauchy(scale): |X| for X ~ Cauchy(0, scale), on [0, inf); a common heavy-tailed prior
// for scales. Its mean and variance do not exist (mean() and variance() throw).
// Reparameterised as scale * |tan(pi (u - 1/2))|.
#pragma once

#include <vesta/core/distribution.hpp>

namespace vesta {

/// HalfCauchy(scale): |X| for X ~ Cauchy(0, scale), a heavy-tailed prior for scales.
class HalfCauchy final : public Family<HalfCauchy> {
 public:
  /// scale must be positive; its shape is the batch shape.
  explicit HalfCauchy(Tensor scale);

  std::string name() const override { return "HalfCauchy"; }
  Index rows() const override { return scale_.rows(); }
  Index cols() const override { return scale_.cols(); }
  /// [0, inf), as PyTorch's HalfCauchy.
  ConstraintPtr support() const override { return constraints::nonnegative(); }
  bool has_rsample() const override { return true; }
  DistributionPtr expand(Index rows, Index cols) const override;

  /// The scale of the underlying Cauchy.
  const Tensor& scale() const { return scale_; }

 protected:
  Tensor rsample_impl(Rng& rng) const override;
  Tensor log_prob_impl(const Tensor& value) const override;
  Tensor entropy_impl() const override;

 private:
  Tensor scale_;
};

}  // namespace vesta
