// StudentT(df, loc, scale): Student's t with df degrees of freedom, shifted and scaled; heavier
// tailed than the Normal, which it approaches as df grows. Reparameterised in loc and scale.
#pragma once

#include <vesta/core/distribution.hpp>

namespace vesta {

/// StudentT(df, loc, scale): Student's t with df degrees of freedom, shifted and scaled.
class StudentT final : public Family<StudentT> {
 public:
  /// df, loc and scale broadcast together to the batch shape; df and scale must be positive.
  StudentT(Tensor df, Tensor loc, Tensor scale);

  std::string name() const override { return "StudentT"; }
  Index rows() const override { return rows_; }
  Index cols() const override { return cols_; }
  ConstraintPtr support() const override { return constraints::real(); }
  /// rsample is loc + scale * z / sqrt(g / df), z ~ Normal(0, 1), g ~ Chi2(df): its gradient
  /// reaches loc and scale but not df (the chi-square draw is taken as a constant), so df
  /// gets no pathwise gradient. log_prob is differentiable in all three.
  bool has_rsample() const override { return true; }
  DistributionPtr expand(Index rows, Index cols) const override;

  /// The degrees of freedom.
  const Tensor& df() const { return df_; }
  /// The location.
  const Tensor& loc() const { return loc_; }
  /// The scale.
  const Tensor& scale() const { return scale_; }

 protected:
  Tensor rsample_impl(Rng& rng) const override;
  Tensor log_prob_impl(const Tensor& value) const override;
  /// As PyTorch: loc where df > 1, NaN (undefined) where df <= 1.
  Tensor mean_impl() const override;
  /// As PyTorch: scale^2 df / (df - 2) where df > 2, +inf where 1 < df <= 2, NaN where
  /// df <= 1.
  Tensor variance_impl() const override;
  Tensor entropy_impl() const override;

 private:
  /// 1 where df > threshold, 0 elsewhere, in the batch shape: a condition for where().
  Tensor df_above(Scalar threshold) const;

  Tensor df_;
  Tensor loc_;
  Tensor scale_;
  Index rows_;
  Index cols_;
};

}  // namespace vesta
