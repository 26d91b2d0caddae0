// HiddenLayer: Pyro's distribution over the activations of one Bayesian dense layer
// (pyro.contrib.bnn.HiddenLayer), with its parameters and defaults.
//
// The layer's weights A (D x H) have the mean-field posterior N(A_mean, A_scale) and the
// prior N(0, A_prior_scale). A draw is the layer's output for the inputs X (B x D): by the
// local reparameterisation trick (Kingma, Salimans & Welling 2015) the pre-activations are
// drawn directly,
//
//     X A_mean + sqrt((X∘X) (A_scale∘A_scale)) ∘ ε,     ε ~ N(0, 1) of shape B x H,
//
// then the non-linearity is applied and, with include_hidden_bias, a column of ones is
// appended so the next layer's first (D = H + 1) row acts as its bias. log_prob does not
// score the draw: it is minus the scaled KL of the weights,
//
//     -KL_factor * KL(N(A_mean, A_scale) || N(0, A_prior_scale)),  summed over all weights,
//
// a term folded into the ELBO. So a HiddenLayer site whose A_mean and A_scale are `param`s
// belongs in the MODEL, and the guide may leave it out: the ELBO then gains
// E[log-likelihood] - KL_factor * KL exactly.
//
// How it meets the rest of the engine (where Pyro's class fails):
// - log_prob is B x 1, each row carrying 1/B of the term, so the site may sit inside a data
//   plate: the KL counts once per layer and takes the plate's subsample scale like every
//   other term (with KL_factor = batch / N inside a plate subsampling batch of N, the loss is
//   the unbiased full-data estimate).
// - A HiddenLayer site present in both model and guide: the guide's draw is replayed into the
//   model, and the folded term counts once, from the model's site (a guide's folded term
//   scores nothing: it is not a density of the draw). Give the two sites the same params.
// - Inference does not warn about it missing from the guide, TraceMeanField_ELBO counts its
//   folded term, and Predictive draws its activations like any site.
#pragma once

#include <functional>
#include <optional>

#include <vesta/core/distribution.hpp>

namespace vesta {

using NonLinearity = std::function<Tensor(const Tensor&)>;

class HiddenLayer final : public Family<HiddenLayer> {
 public:
  /// X: B x D inputs; A_mean, A_scale: D x H (A_scale positive); A_prior_scale: a scalar or
  /// D x H (positive). Defaults as Pyro's: ReLU, KL_factor 1, prior scale 1, a ones column
  /// appended, local reparameterisation.
  HiddenLayer(Tensor X, Tensor A_mean, Tensor A_scale, NonLinearity non_linearity = relu_nonlinearity(),
              Scalar KL_factor = 1, Tensor A_prior_scale = Scalar(1), bool include_hidden_bias = true,
              bool weight_space_sampling = false);

  std::string name() const override { return "HiddenLayer"; }
  Index rows() const override { return X_.rows(); }
  Index cols() const override { return A_mean_.cols() + (include_hidden_bias_ ? 1 : 0); }
  /// Each row (one input's activations) is one event.
  int event_dim() const override { return 1; }
  ConstraintPtr support() const override { return constraints::real(); }
  bool has_rsample() const override { return true; }
  /// The layer's output for X: local reparameterisation, or (weight_space_sampling) one
  /// weight matrix A ~ N(A_mean, A_scale) and X A.
  Tensor rsample(Rng& rng) const override;
  /// -KL_factor * KL, spread evenly over the B rows (B x 1), whatever `value` is.
  Tensor log_prob(const Tensor& value) const override;
  bool log_prob_is_folded_term() const override { return true; }

  /// KL(N(A_mean, A_scale) || N(0, A_prior_scale)) summed over the weights (1x1), computed
  /// once per distribution object.
  const Tensor& kl() const;

  const Tensor& X() const { return X_; }
  const Tensor& A_mean() const { return A_mean_; }
  const Tensor& A_scale() const { return A_scale_; }
  Scalar KL_factor() const { return KL_factor_; }
  bool include_hidden_bias() const { return include_hidden_bias_; }
  bool weight_space_sampling() const { return weight_space_sampling_; }

  /// The default non-linearity, relu.
  static NonLinearity relu_nonlinearity();

 private:
  Tensor X_;
  Tensor A_mean_;
  Tensor A_scale_;
  NonLinearity non_linearity_;
  Scalar KL_factor_;
  Tensor A_prior_scale_;
  bool include_hidden_bias_;
  bool weight_space_sampling_;
  mutable std::optional<Tensor> kl_;
};

}  // namespace vesta
