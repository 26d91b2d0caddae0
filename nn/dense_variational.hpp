// Bayesian dense layers in the style of TensorFlow Probability's DenseReparameterization,
// DenseLocalReparameterization and DenseFlipout, and of Bayes by backprop.
//
// Each weight of the kernel (in x out) and the bias (1 x out) has an independent Normal
// posterior with a trainable location and a scale softplus(rho) (Blundell et al. 2015), so
// the parameters are "<prefix>.kernel_loc", "<prefix>.kernel_rho", "<prefix>.bias_loc" and
// "<prefix>.bias_rho". A forward pass draws the output from that posterior in one of three
// ways, all with the same distribution for each output entry:
//
// - DenseReparameterization: one weight sample W = loc + scale * eps per forward pass, shared
//   by the whole batch; out = x W + b.
// - DenseLocalReparameterization (Kingma et al. 2015): the pre-activations themselves, which
//   are Normal given x: mean x loc + b_loc, variance (x * x)(scale * scale) + b_scale^2, drawn
//   independently for each example. Lower gradient variance, no weight sample.
// - DenseFlipout (Wen et al. 2018, eq. 3): one shared perturbation dW = scale * eps, decorrelated
//   across the batch by random signs per example: out = x loc + ((x * S_in) dW) * S_out + b,
//   with S_in (batch x in) and S_out (batch x out) of independent +-1 entries. Each example
//   sees a weight matrix loc + dW * (s_in s_out^T) that is itself a draw from the posterior.
//
// The bias is drawn once per pass (reparameterisation, Flipout) or folded into the variance
// of each pre-activation (local reparameterisation).
//
// The KL divergence from the posterior to the prior (NormalPrior or ScaleMixturePrior, the
// same prior for kernel and bias) is exact for the Normal prior. For the scale mixture it is
// estimated by one sample, log q(W) - log p(W) at a posterior draw W: the pass's own weight
// sample for reparameterisation, loc + dW for Flipout, and for local reparameterisation (which
// never forms a weight matrix) a separate draw of W and b made only for the estimate.
//
// A forward pass is a sample site named after the layer ("<prefix>"), as a HiddenLayer is:
// its value is the layer's output, drawn with the site's generator (so seed, replay and
// Predictive reach the layer's noise), and its log_prob is -kl_factor * KL, a term about the
// global weights that counts once for the whole data set wherever the layer is called: inside
// a subsampled data plate the plate's N / B scale and per-entry masks apply to the likelihood
// only, so kl_factor = 1 gives the unbiased full-data ELBO. losses() returns the same terms
// for a hand-written loop, `loss = NLL + sum(losses) / N`, as in TFP. A layer is called once
// per model run (its site has one name), and must outlive the traces that record it.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <vesta/core/random.hpp>
#include <vesta/distributions/normal.hpp>
#include <vesta/nn/module.hpp>
#include <vesta/nn/weight_prior.hpp>

namespace vesta {

namespace detail {
class DenseOutput;
}  // namespace detail

/// How a Bayesian dense layer draws its output (see the file comment).
enum class DenseEstimator { reparameterization, local_reparameterization, flipout };

/// "reparameterization", "local_reparameterization", "flipout".
const char* to_string(DenseEstimator estimator);

/// What a Bayesian dense layer is built with, besides its sizes. With C++20 designated
/// initialisers: `DenseOptions{.prior = ScaleMixturePrior{0.5, 1, 0.0025}, .kl_factor = 0.1}`.
struct DenseOptions {
  /// Whether the layer has a (Bayesian) bias.
  bool bias = true;
  /// The prior of every kernel and bias weight.
  WeightPrior prior = NormalPrior{};
  /// Multiplies the KL in losses() and in the layer's site; must be >= 0. 1 for the ELBO of
  /// the whole data set, wherever the layer is called.
  Scalar kl_factor = 1;
  /// Applied to the output (none by default: the layer returns pre-activations).
  Activation activation = nullptr;
  /// The starting rho of every weight: scale = softplus(rho) = softplus(-5) = 0.0067, so a
  /// new layer starts close to a deterministic one and training widens what the data allow.
  Scalar init_rho = -5;
};

/// Base of the three Bayesian dense layers: the posterior parameters, the prior, the KL and
/// the losses. The locations start as a Linear layer's weights (uniform on
/// (-1/sqrt(in), 1/sqrt(in)), drawn from thread_rng() on first creation).
class DenseVariational : public Module {
 public:
  /// A draw of the layer's output (batch x out) for x (batch x in), at the sample site
  /// "<prefix>" (whose log_prob is -kl_factor * KL); records the KL (see losses()). Throws
  /// ShapeError naming the layer and both shapes when x does not have in_features() columns.
  Tensor operator()(const Tensor& x);

  /// Which estimator this layer is.
  virtual DenseEstimator estimator() const = 0;
  /// Inputs per example.
  Index in_features() const { return in_; }
  /// Outputs per example.
  Index out_features() const { return out_; }
  /// Whether the layer has a bias.
  bool has_bias() const { return options_.bias; }
  /// The weight of its KL term (1: the ELBO of the whole data set).
  Scalar kl_factor() const { return options_.kl_factor; }
  /// The options it was made with.
  const DenseOptions& options() const { return options_; }

  /// kl_factor times the KL of the kernel, then of the bias (if any), from the last forward
  /// pass: TFP's `layer.losses`. Recorded values, valid until the tape is reset; empty
  /// before the first pass.
  const std::vector<Tensor>& losses() const { return losses_; }
  /// The sum of losses() (1x1): what the factor site subtracts from the ELBO.
  Tensor kl_loss() const;

  /// The posterior (current values, read without creating anything: before the layer's
  /// first forward pass they throw): location and scale of each kernel weight (in x out)
  /// and bias (1 x out).
  Matrix kernel_loc() const;
  /// The posterior standard deviations of the kernel (softplus of rho).
  Matrix kernel_scale() const;
  /// The posterior means of the bias.
  Matrix bias_loc() const;
  /// The posterior standard deviations of the bias.
  Matrix bias_scale() const;
  /// The same as Normal distributions (constants).
  Normal kernel_posterior() const;
  /// The posterior of the bias weights.
  Normal bias_posterior() const;
  /// The prior of each kernel and bias weight (one prior for both).
  const WeightPrior& kernel_prior() const { return options_.prior; }
  /// The prior of the bias weights (the kernel's).
  const WeightPrior& bias_prior() const { return options_.prior; }

 protected:
  /// Checks the sizes and options (ValueError naming the layer and the argument).
  DenseVariational(std::string prefix, Index in_features, Index out_features, DenseOptions options);

  /// The posterior parameters of one pass, as recorded Tensors (bias ones empty without bias).
  struct Posterior {
    /// The posterior parameters.
    /// @{
    Tensor kernel_loc, kernel_scale, bias_loc, bias_scale;
    /// @}
  };
  /// One estimator's draw: the output, and a posterior weight sample W = loc + scale * eps
  /// (with its eps) for the Monte Carlo KL, filled only when asked for.
  struct Draw {
    Tensor output;      ///< The layer's output.
    Tensor kernel;      ///< A posterior kernel sample (for the Monte Carlo KL).
    Tensor kernel_eps;  ///< Its standard-normal noise (a constant).
    Tensor bias;        ///< A posterior bias sample.
    Tensor bias_eps;    ///< Its standard-normal noise (a constant).
  };
  /// The estimator: the output for x under posterior q, drawing noise from rng.
  virtual Draw draw(const Tensor& x, const Posterior& q, bool need_weight_sample,
                    Rng& rng) const = 0;

  /// loc + scale * eps with eps standard normal, returned with eps.
  static std::pair<Tensor, Tensor> sample_weights(const Tensor& loc, const Tensor& scale, Rng& rng);

 private:
  friend class detail::DenseOutput;

  // The initial values of the locations (as a Linear layer's weights) and of the rhos, for
  // a rows x out parameter.
  ParamInit loc_init(Index rows) const;
  ParamInit rho_init(Index rows) const;
  // The parameters as recorded Tensors (param sites), created on first use.
  Posterior posterior() const;
  // The stored (unconstrained) value of parameter `name` (rows x out), read outside the tape
  // and the handlers; a missing one is an error.
  Matrix stored(const std::string& name, Index rows) const;
  void check_bias(const char* what) const;
  /// KL(q || prior) of one part: exact, or log q(w) - log p(w) at the sample w = loc + scale * eps.
  Tensor part_kl(const Tensor& loc, const Tensor& scale, const Tensor& w, const Tensor& eps) const;

  Index in_;
  Index out_;
  DenseOptions options_;
  std::vector<Tensor> losses_;
};

/// One weight sample per forward pass (TFP's DenseReparameterization; Bayes by backprop).
class DenseReparameterization : public DenseVariational {
 public:
  /// A layer of `in_features` to `out_features` whose parameters are named under `prefix`.
  DenseReparameterization(std::string prefix, Index in_features, Index out_features,
                          DenseOptions options = {})
      : DenseVariational(std::move(prefix), in_features, out_features, std::move(options)) {}
  DenseEstimator estimator() const override { return DenseEstimator::reparameterization; }
  std::string type_name() const override { return "DenseReparameterization"; }

 protected:
  Draw draw(const Tensor& x, const Posterior& q, bool need_weight_sample, Rng& rng) const override;
};

/// Pre-activations drawn per example from their Normal distribution (TFP's
/// DenseLocalReparameterization; Pyro's HiddenLayer).
class DenseLocalReparameterization : public DenseVariational {
 public:
  /// A layer of `in_features` to `out_features` whose parameters are named under `prefix`.
  DenseLocalReparameterization(std::string prefix, Index in_features, Index out_features,
                               DenseOptions options = {})
      : DenseVariational(std::move(prefix), in_features, out_features, std::move(options)) {}
  DenseEstimator estimator() const override { return DenseEstimator::local_reparameterization; }
  std::string type_name() const override { return "DenseLocalReparameterization"; }

 protected:
  Draw draw(const Tensor& x, const Posterior& q, bool need_weight_sample, Rng& rng) const override;
};

/// A shared weight perturbation with random signs per example (TFP's DenseFlipout).
class DenseFlipout : public DenseVariational {
 public:
  /// A layer of `in_features` to `out_features` whose parameters are named under `prefix`.
  DenseFlipout(std::string prefix, Index in_features, Index out_features, DenseOptions options = {})
      : DenseVariational(std::move(prefix), in_features, out_features, std::move(options)) {}
  DenseEstimator estimator() const override { return DenseEstimator::flipout; }
  std::string type_name() const override { return "DenseFlipout"; }

 protected:
  Draw draw(const Tensor& x, const Posterior& q, bool need_weight_sample, Rng& rng) const override;
};

/// A Bayesian dense layer with the given estimator, for choosing it at run time (an option,
/// or a table comparing the three).
std::unique_ptr<DenseVariational> make_dense_variational(DenseEstimator estimator,
                                                         std::string prefix, Index in_features,
                                                         Index out_features,
                                                         DenseOptions options = {});

}  // namespace vesta
