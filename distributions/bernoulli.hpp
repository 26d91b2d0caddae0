// Bernoulli(probs) or Bernoulli(logits): 1 with probability p, 0 otherwise. Made by the
// named constructors, as the two parameterisations take the same argument type. With soft
// targets it also scores values between 0 and 1 (grey-level pixels) by the cross-entropy.
#pragma once

#include <vesta/core/distribution.hpp>

namespace vesta {

/// Bernoulli(probs) or Bernoulli(logits): 1 with probability p, 0 otherwise (made by from_probs()
/// and from_logits()).
class Bernoulli final : public Family<Bernoulli> {
 public:
  /// Probabilities of a 1, each in [0, 1]; their shape is the batch shape.
  static Bernoulli from_probs(Tensor probs);
  /// Log-odds log(p / (1 - p)), any real (+-inf meaning p = 1 or 0). Scores computed from
  /// logits stay accurate where p is within rounding of 0 or 1.
  static Bernoulli from_logits(Tensor logits);

  /// The same Bernoulli, scoring any value x in [0, 1] rather than only 0 and 1, by the
  /// binary cross-entropy log_prob(x) = x log p + (1 - x) log(1 - p): the likelihood of a
  /// variational autoencoder on grey-level pixels (Kingma & Welling 2014), which Pyro and
  /// PyTorch compute when their Bernoulli's validation is off. At 0 and 1 it is the mass
  /// function; in between it is not a normalised density on [0, 1] (the continuous
  /// Bernoulli of Loaiza-Ganem & Cunningham 2019 adds the normaliser), so an ELBO built on it
  /// is not a bound on a likelihood of the grey levels. Validation still rejects values
  /// outside [0, 1]; sample(), mean(), variance() and entropy() stay those of the 0/1 draws.
  /// Meant for observed sites: as a latent, its [0, 1] support would let an autoguide treat
  /// it as continuous.
  Bernoulli with_soft_targets() const;
  /// Whether log_prob accepts values in [0, 1] (see with_soft_targets).
  bool soft_targets() const { return soft_targets_; }

  std::string name() const override { return "Bernoulli"; }
  Index rows() const override { return param_.rows(); }
  Index cols() const override { return param_.cols(); }
  /// {0, 1}, or [0, 1] with soft targets.
  ConstraintPtr support() const override;
  DistributionPtr expand(Index rows, Index cols) const override;
  /// {0, 1} as a 1 x 2 row (not with soft targets, whose support is an interval).
  bool has_enumerate_support() const override { return !soft_targets_; }
  Tensor enumerate_support() const override;

  /// Whichever was given, and the other computed from it.
  Tensor probs() const;
  /// The log-odds log(p / (1 - p)) (computed from probs when made from them).
  Tensor logits() const;
  /// Whether it was made from logits.
  bool has_logits() const { return is_logits_; }

 protected:
  Tensor sample_impl(Rng& rng) const override;
  Tensor log_prob_impl(const Tensor& value) const override;
  Tensor mean_impl() const override;
  Tensor variance_impl() const override;
  Tensor entropy_impl() const override;

 private:
  Bernoulli(Tensor param, bool is_logits, bool soft_targets = false);

  Tensor param_;  // probs or logits
  bool is_logits_;
  bool soft_targets_;
};

}  // namespace vesta
