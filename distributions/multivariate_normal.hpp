// MultivariateNormal(loc, scale_tril or covariance): each row of a draw is one D-dimensional
// Gaussian event, reparameterised as loc + eps L^T with L L^T the covariance. The factor L is
// one D x D matrix shared by every row, or one per row (an amortised guide's encoder gives
// each example its own, as TFP's MultivariateNormalTriL layer does).
#pragma once

#include <vesta/core/distribution.hpp>

namespace vesta {

/// MultivariateNormal: each row of a draw is one D-dimensional Gaussian event, loc + eps L^T with L
/// L^T the covariance.
class MultivariateNormal final : public Family<MultivariateNormal> {
 public:
  /// loc is 1 x D (one mean) or R x D (one per row). scale_tril is the lower-triangular
  /// Cholesky factor L of the covariance (positive diagonal), either
  /// - D x D: one factor for every row, or
  /// - R x D*D: a factor per row, row r holding L_r's entries in column-major order (so
  ///   reshape(row r, D, D) is L_r; nn/scale_tril.hpp's fill_scale_tril makes such rows from
  ///   a network's output). loc's rows and these rows broadcast (equal, or one of them 1).
  /// Throws ShapeError naming the shapes otherwise, and with validation on, ValueError naming
  /// an entry above a diagonal that is not 0 or a diagonal entry that is not positive.
  static MultivariateNormal from_scale_tril(Tensor loc, Tensor scale_tril);
  /// covariance is D x D, symmetric positive definite; it is factored once here
  /// (differentiably).
  static MultivariateNormal from_covariance(Tensor loc, Tensor covariance);

  std::string name() const override { return "MultivariateNormal"; }
  Index rows() const override { return rows_; }
  Index cols() const override { return loc_.cols(); }
  int event_dim() const override { return 1; }
  ConstraintPtr support() const override { return constraints::real(); }
  bool has_rsample() const override { return true; }
  /// To rows x D, broadcasting a single row of loc (and of scale_tril, when it has one per row).
  DistributionPtr expand(Index rows, Index cols) const override;

  /// The mean: 1 x D or R x D.
  const Tensor& loc() const { return loc_; }
  /// As given: D x D, or R x D*D with a factor per row.
  const Tensor& scale_tril() const { return scale_tril_; }
  /// Whether scale_tril holds a factor per row (R x D*D) rather than one D x D factor.
  bool has_scale_per_row() const { return per_row_; }
  /// The factor(s) as rows of D*D entries, column-major: scale_tril() itself when it has one
  /// per row, the single factor as one 1 x D*D row otherwise.
  Tensor scale_tril_rows() const;
  /// log det L = sum_i log L_ii, half the log-determinant of the covariance: 1x1 for a single
  /// factor, R x 1 for one per row.
  Tensor half_log_det() const;
  /// As given, or L L^T; with a factor per row, R x D*D, row r holding L_r L_r^T column-major.
  Tensor covariance() const;
  /// D, the dimension of an event.
  Index dim() const { return loc_.cols(); }

 protected:
  Tensor rsample_impl(Rng& rng) const override;
  /// Log density of each row of `value` (R x D, or 1 x D; either may broadcast against the
  /// other's rows): R x 1.
  Tensor log_prob_impl(const Tensor& value) const override;
  /// loc (R x D), the covariance's diagonal in every row (R x D), and the entropy
  /// D/2 (1 + log 2 pi) + sum log diag L of each row (R x 1).
  Tensor mean_impl() const override;
  Tensor variance_impl() const override;
  Tensor entropy_impl() const override;

 private:
  MultivariateNormal(Tensor loc, Tensor scale_tril, Tensor covariance, bool per_row);

  Tensor loc_;
  Tensor scale_tril_;
  Tensor covariance_;  // empty unless made from the covariance
  bool per_row_;       // scale_tril_ is R x D*D, a factor per row
  Index rows_;         // the batch: loc's rows, or the factors' when there is one per row
};

}  // namespace vesta
