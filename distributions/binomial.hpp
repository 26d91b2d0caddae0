// Binomial(total_count, probs): the number of successes in total_count independent trials
// of probability probs. Drawn exactly (inversion for small means, Hoermann's BTRS for
// large); not reparameterisable.
#pragma once

#include <vesta/core/distribution.hpp>

namespace vesta {

/// Binomial(total_count, probs): successes in total_count independent trials of probability probs.
class Binomial final : public Family<Binomial> {
 public:
  /// total_count (nonnegative integers) and probs (in [0, 1]) broadcast together to the
  /// batch shape.
  Binomial(Tensor total_count, Tensor probs);

  std::string name() const override { return "Binomial"; }
  Index rows() const override { return rows_; }
  Index cols() const override { return cols_; }
  /// integer_interval(0, n) for a single total_count n; for a Tensor of them,
  /// nonnegative_integer, and log_prob checks each value against its own total_count.
  ConstraintPtr support() const override;
  DistributionPtr expand(Index rows, Index cols) const override;

  /// The number of trials.
  const Tensor& total_count() const { return total_count_; }
  /// The probability of success.
  const Tensor& probs() const { return probs_; }

 protected:
  Tensor sample_impl(Rng& rng) const override;
  Tensor log_prob_impl(const Tensor& value) const override;
  Tensor mean_impl() const override;
  Tensor variance_impl() const override;

 private:
  Tensor total_count_;
  Tensor probs_;
  Index rows_;
  Index cols_;
};

}  // namespace vesta
