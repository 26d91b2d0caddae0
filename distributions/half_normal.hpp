// HalfNormal(scale): |X| for X ~ Normal(0, scale), on [0, inf); reparameterised as
// scale * |eps|.
#pragma once

#include <vesta/core/distribution.hpp>

namespace vesta {

/// HalfNormal(scale): |X| for X ~ Normal(0, scale).
class HalfNormal final : public Family<HalfNormal> {
 public:
  /// scale (of the Normal folded at 0) must be positive; its shape is the batch shape.
  explicit HalfNormal(Tensor scale);

  std::string name() const override { return "HalfNormal"; }
  Index rows() const override { return scale_.rows(); }
  Index cols() const override { return scale_.cols(); }
  /// [0, inf), as PyTorch's HalfNormal: 0 has positive density.
  ConstraintPtr support() const override { return constraints::nonnegative(); }
  bool has_rsample() const override { return true; }
  DistributionPtr expand(Index rows, Index cols) const override;

  /// The scale of the underlying Normal.
  const Tensor& scale() const { return scale_; }

 protected:
  Tensor rsample_impl(Rng& rng) const override;
  Tensor log_prob_impl(const Tensor& value) const override;
  Tensor mean_impl() const override;
  Tensor variance_impl() const override;
  Tensor entropy_impl() const override;

 private:
  Tensor scale_;
};

}  // namespace vesta
