// The draw of the local reparameterisation trick (Kingma, Salimans & Welling 2015), shared by
// HiddenLayer and DenseLocalReparameterization: a dense layer with independent Normal weights
// gives each pre-activation a Normal law, mean X M and variance (X∘X)(S∘S), so the layer
// draws the pre-activations themselves instead of a weight matrix.
#pragma once

#include <vesta/core/distribution.hpp>
#include <vesta/core/random.hpp>
#include <vesta/core/tensor.hpp>

namespace vesta {

/// mean + sqrt(variance) ∘ ε with ε ~ N(0, 1) drawn from `rng` (mean's shape, column-major
/// order), as one differentiable op: one pass forward, one backward, no intermediate nodes.
/// The square root is taken of variance plus the smallest normal Scalar, which keeps its
/// gradient finite where the variance is 0 (an input row of zeros) and changes no other
/// value. Throws ShapeError when the shapes differ; the variance must be non-negative.
Tensor local_reparameterized_draw(const Tensor& mean, const Tensor& variance, Rng& rng);

/// The outputs of a Bayesian linear layer drawn by local reparameterisation, as a site's
/// distribution: a draw is mean + sqrt(variance) ∘ ε (each row one datum's outputs, one
/// event), and log_prob is `global_term`, one number such as minus the weights' KL, counted
/// once for the whole data set wherever the site sits (as a HiddenLayer's). For a layer whose
/// weight posterior HiddenLayer does not cover, such as a full-covariance output layer: with
/// w ~ N(w_loc, L L^T), the output h w of an input row h has mean h w_loc and variance
/// |h L|^2, and
///
///     sample("f", LocalReparameterizedNormal(matmul(h, transpose(w_loc)),
///                                            rowwise_sum(square(matmul(h, L))), -kl));
///
/// The draw uses the site's generator, so seed, replay and Predictive reach it.
class LocalReparameterizedNormal final : public Family<LocalReparameterizedNormal> {
 public:
  /// mean and variance: the same shape, variance >= 0; global_term: any shape, summed.
  LocalReparameterizedNormal(Tensor mean, Tensor variance, Tensor global_term);

  std::string name() const override { return "LocalReparameterizedNormal"; }
  Index rows() const override { return mean_.rows(); }
  Index cols() const override { return mean_.cols(); }
  int event_dim() const override { return 1; }
  ConstraintPtr support() const override { return constraints::real(); }
  bool has_rsample() const override { return true; }
  bool log_prob_is_folded_term() const override { return true; }
  bool log_prob_is_global_term() const override { return true; }

 protected:
  Tensor rsample_impl(Rng& rng) const override;
  Tensor log_prob_impl(const Tensor& value) const override;

 private:
  Tensor mean_;
  Tensor variance_;
  Tensor global_term_;
};

}  // namespace vesta
