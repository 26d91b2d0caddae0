// Categorical(probs) or Categorical(logits): each row r of the R x K parameter is a
// distribution over the categories 0, ..., K-1, and a draw is R x 1 category indices.
#pragma once

#include <vector>

#include <vesta/core/distribution.hpp>

namespace vesta {

/// Categorical(probs) or Categorical(logits): each row of the R x K parameter is a distribution
/// over 0, ..., K-1; a draw is R x 1 indices.
class Categorical final : public Family<Categorical> {
 public:
  /// Rows of probabilities (R x K, or 1 x K for one distribution): each entry in [0, 1],
  /// each row summing to 1.
  static Categorical from_probs(Tensor probs);
  /// Rows of unnormalised log-probabilities (R x K): the probabilities are the row's softmax.
  /// Entries may be -inf (probability 0), but not NaN or +inf, and not a whole row of -inf.
  static Categorical from_logits(Tensor logits);

  std::string name() const override { return "Categorical"; }
  Index rows() const override { return param_.rows(); }
  Index cols() const override { return 1; }
  ConstraintPtr support() const override;
  /// To rows x 1, broadcasting a single row of parameters.
  DistributionPtr expand(Index rows, Index cols) const override;

  /// True: a Categorical's support is finite.
  bool has_enumerate_support() const override { return true; }
  /// The categories 0, ..., K-1, as a 1 x K row.
  Tensor enumerate_support() const override;

  /// K, the number of categories.
  Index num_categories() const { return param_.cols(); }
  /// R x K probabilities.
  Tensor probs() const;
  /// R x K normalised log-probabilities (each row's logsumexp is 0).
  Tensor logits() const;
  /// Whether it was made from logits.
  bool has_logits() const { return is_logits_; }

 protected:
  Tensor sample_impl(Rng& rng) const override;
  /// log p of each row's category (value R x 1, or 1 x 1; either may broadcast against the
  /// other's rows): R x 1.
  Tensor log_prob_impl(const Tensor& value) const override;
  /// -sum_k p_k log p_k of each row (R x 1). mean and variance are not defined (they throw).
  Tensor entropy_impl() const override;
  /// The normalised logits (R x K): row r's log p of every category; 1 x K when a plate
  /// broadcast a single row of parameters to every entry.
  Tensor enumerate_log_prob_impl() const override;

 private:
  friend class OneHotCategorical;  // built on this one
  // `family` names the distribution in parameter errors.
  Categorical(Tensor param, bool is_logits, const char* family = "Categorical");
  // Draws one category index per row (R values), from the parameters' current values.
  std::vector<Index> draw_indices(Rng& rng) const;

  Tensor param_;  // probs, or logits as given (not normalised)
  bool is_logits_;
  Tensor broadcast_row_;  // the single row that expand() broadcast to param_, if any
};

}  // namespace vesta
