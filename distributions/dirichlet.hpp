// Dirichlet(concentration): each row of the R x K concentration is one Dirichlet over K
// categories; a draw is R x K with rows on the simplex. Reparameterised as G_i / sum_j G_j.
#pragma once

#include <vesta/core/distribution.hpp>

namespace vesta {

/// Dirichlet(concentration): each row of the R x K concentration is one Dirichlet over K
/// categories.
class Dirichlet final : public Family<Dirichlet> {
 public:
  /// concentration is R x K (or 1 x K): K >= 1 positive entries per row.
  explicit Dirichlet(Tensor concentration);

  std::string name() const override { return "Dirichlet"; }
  Index rows() const override { return concentration_.rows(); }
  Index cols() const override { return concentration_.cols(); }
  int event_dim() const override { return 1; }
  ConstraintPtr support() const override { return constraints::simplex(); }
  bool has_rsample() const override { return true; }
  /// To `rows` independent rows; `cols` must be K.
  DistributionPtr expand(Index rows, Index cols) const override;

  /// The R x K concentration.
  const Tensor& concentration() const { return concentration_; }

 protected:
  Tensor rsample_impl(Rng& rng) const override;
  Tensor sample_impl(Rng& rng) const override;
  /// One entry per row of `value` (rows x K; its rows broadcast against the batch's).
  Tensor log_prob_impl(const Tensor& value) const override;
  /// Per category: alpha_i / alpha_0 and alpha_i (alpha_0 - alpha_i) / (alpha_0^2 (alpha_0 + 1)),
  /// with alpha_0 the row's total.
  Tensor mean_impl() const override;
  Tensor variance_impl() const override;
  /// One entry per row.
  Tensor entropy_impl() const override;

 private:
  Tensor concentration_;
};

}  // namespace vesta
