// LogNormal(loc, scale): exp of a Normal(loc, scale), so its log is Gaussian; reparameterised
// as exp(loc + scale * eps).
#pragma once

#include <vesta/core/distribution.hpp>

namespace vesta {

/// LogNormal(loc, scale): exp of a Normal(loc, scale).
class LogNormal final : public Family<LogNormal> {
 public:
  /// loc and scale (of the underlying Normal) broadcast together to the batch shape; scale
  /// must be positive.
  LogNormal(Tensor loc, Tensor scale);

  std::string name() const override { return "LogNormal"; }
  Index rows() const override { return rows_; }
  Index cols() const override { return cols_; }
  ConstraintPtr support() const override { return constraints::positive(); }
  bool has_rsample() const override { return true; }
  DistributionPtr expand(Index rows, Index cols) const override;

  /// The mean of the log.
  const Tensor& loc() const { return loc_; }
  /// The standard deviation of the log.
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
