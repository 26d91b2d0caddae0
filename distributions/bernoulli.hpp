// Bernoulli(probs) or Bernoulli(logits): 1 with probability p, 0 otherwise. Made by the
// named constructors, as the two parameterisations take the same argument type.
#pragma once

#include <vesta/core/distribution.hpp>

namespace vesta {

class Bernoulli final : public Family<Bernoulli> {
 public:
  /// Probabilities of a 1, each in [0, 1]; their shape is the batch shape.
  static Bernoulli from_probs(Tensor probs);
  /// Log-odds log(p / (1 - p)), any real (+-inf meaning p = 1 or 0). Scores computed from
  /// logits stay accurate where p is within rounding of 0 or 1.
  static Bernoulli from_logits(Tensor logits);

  std::string name() const override { return "Bernoulli"; }
  Index rows() const override { return param_.rows(); }
  Index cols() const override { return param_.cols(); }
  ConstraintPtr support() const override { return constraints::boolean(); }
  Tensor sample(Rng& rng) const override;
  Tensor log_prob(const Tensor& value) const override;
  DistributionPtr expand(Index rows, Index cols) const override;

  /// Whichever was given, and the other computed from it.
  Tensor probs() const;
  Tensor logits() const;
  bool has_logits() const { return is_logits_; }
  Tensor mean() const override;
  Tensor variance() const override;
  Tensor entropy() const override;

 private:
  Bernoulli(Tensor param, bool is_logits);

  Tensor param_;  // probs or logits
  bool is_logits_;
};

}  // namespace vesta
