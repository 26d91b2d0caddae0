// Uniform(low, high): constant density 1 / (high - low) on [low, high]. Reparameterised as
// low + (high - low) u.
#pragma once

#include <vesta/core/distribution.hpp>

namespace vesta {

/// Uniform(low, high): constant density on [low, high].
class Uniform final : public Family<Uniform> {
 public:
  /// low and high broadcast together to the batch shape; they must be finite with
  /// low < high in every entry.
  Uniform(Tensor low, Tensor high);

  std::string name() const override { return "Uniform"; }
  Index rows() const override { return rows_; }
  Index cols() const override { return cols_; }
  /// interval(low, high) when the bounds are numbers. A constraint holds one interval for
  /// all entries, so with per-entry bounds this is interval(min low, max high), the smallest
  /// interval holding every entry's; log_prob still checks each value against its own
  /// entry's bounds. (An autoguide mapping onto this support can thus leave an entry's
  /// interval.)
  ConstraintPtr support() const override;
  bool has_rsample() const override { return true; }
  DistributionPtr expand(Index rows, Index cols) const override;

  /// The lower bound.
  const Tensor& low() const { return low_; }
  /// The upper bound.
  const Tensor& high() const { return high_; }

 protected:
  Tensor rsample_impl(Rng& rng) const override;
  /// -log(high - low) inside [low, high]. Outside it, with validation on, a ValueError names
  /// the value and its entry's bounds; with validation off, -inf.
  Tensor log_prob_impl(const Tensor& value) const override;
  Tensor mean_impl() const override;
  Tensor variance_impl() const override;
  Tensor entropy_impl() const override;

 private:
  Tensor low_;
  Tensor high_;
  Index rows_;
  Index cols_;
  Scalar support_low_;   // min over entries of low
  Scalar support_high_;  // max over entries of high
};

}  // namespace vesta
