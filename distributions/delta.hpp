// Delta(value, log_density, event_dim): the point mass at `value`, as Pyro's Delta. Used to
// pin a site to a computed value (rsample returns it, differentiably), for example in
// MAP-style guides.
#pragma once

#include <vesta/core/distribution.hpp>

namespace vesta {

/// Delta(value, log_density, event_dim): the point mass at `value`, as Pyro's Delta.
class Delta final : public Family<Delta> {
 public:
  /// The draw's shape is value's. `log_density` (broadcasting against the batch shape) is
  /// the score at the point; `event_dim` (0, 1 or 2) how much of a draw is one event.
  explicit Delta(Tensor value, Tensor log_density = Scalar(0), int event_dim = 0);

  std::string name() const override { return "Delta"; }
  Index rows() const override { return value_.rows(); }
  Index cols() const override { return value_.cols(); }
  int event_dim() const override { return event_dim_; }
  ConstraintPtr support() const override { return constraints::real(); }
  bool has_rsample() const override { return true; }
  DistributionPtr expand(Index rows, Index cols) const override;

  /// The point.
  const Tensor& value() const { return value_; }
  /// The log-density reported for the point.
  const Tensor& log_density() const { return log_density_; }

 protected:
  Tensor rsample_impl(Rng& rng) const override;
  /// log_density for each event equal to value (every entry equal), -inf for any other;
  /// batch-shaped. Differentiable in log_density (not in value, where it is a step).
  Tensor log_prob_impl(const Tensor& x) const override;
  /// value, and zeros.
  Tensor mean_impl() const override { return value_; }
  Tensor variance_impl() const override;

 private:
  Tensor value_;
  Tensor log_density_;
  int event_dim_;
};

}  // namespace vesta
