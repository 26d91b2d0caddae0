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
// The KL is a term about global variables (the weights), so it counts once for the whole
// data set wherever the site sits: inside a subsampled data plate the plate's N/B scale and
// its per-entry masks apply to the likelihood only, and KL_factor = 1 gives the unbiased
// full-data ELBO, last short batch included. (Pyro scales the whole model by N/B, so its
// users pass KL_factor = B/N; here that would shrink the KL N/B-fold.) An explicit scale
// handler still scales it (KL annealing), as does KL_factor.
//
// How it meets the rest of the engine (where Pyro's class fails):
// - The site may sit inside a data plate (its draw has one row per datum; its log_prob is one
//   number), and its batch may be empty (B = 0) without losing the KL.
// - A HiddenLayer site present in both model and guide: the guide's draw is replayed into the
//   model, and the folded term counts once, from the model's site (a guide's folded term
//   scores nothing: it is not a density of the draw). Give the two sites the same params.
// - Inference does not warn about it missing from the guide, TraceMeanField_ELBO counts its
//   folded term, and Predictive draws its activations like any site.
//
// Options are named, C++20 designated initialisers in alphabetical order (the order the
// language requires them in):
//
//     HiddenLayer(X, A_mean, A_scale, {.include_hidden_bias = false, .non_linearity = identity})
#pragma once

#include <functional>
#include <optional>

#include <vesta/core/distribution.hpp>
#include <vesta/core/ops.hpp>

namespace vesta {

using NonLinearity = std::function<Tensor(const Tensor&)>;

/// HiddenLayer's options besides its three tensors, with Pyro's defaults. The fields are in
/// alphabetical order, as designated initialisers must name them in declaration order.
struct HiddenLayerOptions {
  /// The prior's standard deviation: a scalar, 1 x H, D x 1 or D x H (positive), broadcast to
  /// the weights as Pyro's is.
  Tensor A_prior_scale = Scalar(1);
  /// Multiplies the KL (>= 0): 1 for the ELBO of the whole data set, wherever the site sits.
  Scalar KL_factor = 1;
  /// Append a column of ones to the output, the next layer's bias input.
  bool include_hidden_bias = true;
  /// Applied elementwise to the pre-activations: relu, identity, vesta::tanh, or any callable.
  NonLinearity non_linearity = relu;
  /// Draw one weight matrix A ~ N(A_mean, A_scale) and return X A (the naive sampler, kept
  /// as a reference for the local reparameterisation).
  bool weight_space_sampling = false;
};

/// Pyro's HiddenLayer: the distribution of a Bayesian dense layer's activations, whose log_prob is
/// minus the folded KL of its weights (see the file's description).
class HiddenLayer final : public Family<HiddenLayer> {
 public:
  /// X: B x D inputs; A_mean, A_scale: D x H (A_scale positive). Eigen matrices are taken as
  /// constants: `HiddenLayer h(X, m, s);`.
  HiddenLayer(Tensor X, Tensor A_mean, Tensor A_scale, HiddenLayerOptions options = {});

  std::string name() const override { return "HiddenLayer"; }
  Index rows() const override { return X_.rows(); }
  Index cols() const override { return A_mean_.cols() + (options_.include_hidden_bias ? 1 : 0); }
  /// Each row (one input's activations) is one event.
  int event_dim() const override { return 1; }
  ConstraintPtr support() const override { return constraints::real(); }
  bool has_rsample() const override { return true; }
  bool log_prob_is_folded_term() const override { return true; }
  bool log_prob_is_global_term() const override { return true; }

  /// KL(N(A_mean, A_scale) || N(0, A_prior_scale)) summed over the weights (1x1), computed
  /// once per distribution object.
  const Tensor& kl() const;

  /// The inputs, B x D.
  const Tensor& X() const { return X_; }
  /// The posterior means of the weights, D x H.
  const Tensor& A_mean() const { return A_mean_; }
  /// The posterior standard deviations of the weights, D x H.
  const Tensor& A_scale() const { return A_scale_; }
  /// The prior scale as given (before broadcasting).
  const Tensor& A_prior_scale() const { return options_.A_prior_scale; }
  /// The weight of the KL term.
  Scalar KL_factor() const { return options_.KL_factor; }
  /// Whether a column of ones is appended to the output.
  bool include_hidden_bias() const { return options_.include_hidden_bias; }
  /// Whether draws sample the weights (the naive reference path).
  bool weight_space_sampling() const { return options_.weight_space_sampling; }
  /// All the options.
  const HiddenLayerOptions& options() const { return options_; }

 protected:
  /// The layer's output for X: local reparameterisation, or (weight_space_sampling) one
  /// weight matrix A ~ N(A_mean, A_scale) and X A.
  Tensor rsample_impl(Rng& rng) const override;
  /// -KL_factor * KL (1x1), whatever `value` is.
  Tensor log_prob_impl(const Tensor& value) const override;

 private:
  Tensor X_;
  Tensor A_mean_;
  Tensor A_scale_;
  HiddenLayerOptions options_;
  Tensor prior_scale_;  // A_prior_scale, broadcast to D x H unless a scalar
  mutable std::optional<Tensor> kl_;
};

}  // namespace vesta
