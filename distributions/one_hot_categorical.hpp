// OneHotCategorical(probs) or OneHotCategorical(logits): a Categorical whose draws are rows
// of K entries with a single 1 at the chosen category (event_dim 1).
#pragma once

#include <vesta/distributions/categorical.hpp>

namespace vesta {

/// OneHotCategorical(probs) or OneHotCategorical(logits): a Categorical whose draws are one-hot
/// rows (event_dim 1).
class OneHotCategorical final : public Family<OneHotCategorical> {
 public:
  /// Parameters as for Categorical: R x K, each row one distribution over K categories.
  static OneHotCategorical from_probs(Tensor probs);
  /// Each row of the R x K logits is one distribution (unnormalised log-probabilities).
  static OneHotCategorical from_logits(Tensor logits);

  std::string name() const override { return "OneHotCategorical"; }
  Index rows() const override { return categorical_.rows(); }
  Index cols() const override { return categorical_.num_categories(); }
  int event_dim() const override { return 1; }
  ConstraintPtr support() const override { return constraints::one_hot(); }
  /// To rows x K, broadcasting a single row of parameters.
  DistributionPtr expand(Index rows, Index cols) const override;

  /// K, the number of categories.
  Index num_categories() const { return categorical_.num_categories(); }
  /// The probabilities, R x K.
  Tensor probs() const { return categorical_.probs(); }
  /// The normalised log-probabilities, R x K.
  Tensor logits() const { return categorical_.logits(); }
  /// Whether it was made from logits.
  bool has_logits() const { return categorical_.has_logits(); }
  /// The same distribution over category indices.
  const Categorical& categorical() const { return categorical_; }

 protected:
  Tensor sample_impl(Rng& rng) const override;
  /// log p of the category each row of `value` (R x K, or 1 x K) marks: R x 1.
  Tensor log_prob_impl(const Tensor& value) const override;
  /// probs (R x K), probs (1 - probs), and the Categorical's entropy (R x 1).
  Tensor mean_impl() const override;
  Tensor variance_impl() const override;
  Tensor entropy_impl() const override { return categorical_.entropy(); }

 private:
  explicit OneHotCategorical(Categorical categorical) : categorical_(std::move(categorical)) {}

  Categorical categorical_;
};

}  // namespace vesta
