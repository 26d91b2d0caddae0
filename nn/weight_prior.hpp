// Priors over the weights of a Bayesian layer, the same for every entry: Normal(0, scale),
// whose KL divergence from a Normal posterior has a closed form, and the two-scale mixture of
// Bayes by backprop, whose KL a layer estimates by Monte Carlo.
#pragma once

#include <string>
#include <variant>

#include <vesta/core/tensor.hpp>

namespace vesta {

/// Each weight ~ Normal(0, scale).
struct NormalPrior {
  Scalar scale = 1;  ///< The prior's standard deviation.

  /// log density at each entry of w (w's shape).
  Tensor log_prob(const Tensor& w) const;
  /// KL(Normal(loc, scale_q) || Normal(0, scale)) summed over the entries (1x1):
  /// sum of log(scale / scale_q) + (scale_q^2 + loc^2) / (2 scale^2) - 1/2.
  Tensor kl(const Tensor& loc, const Tensor& scale_q) const;
  /// "Normal(0, 1)".
  std::string describe() const;
  /// Throws ValueError naming `who` unless scale is positive and finite.
  void validate(const std::string& who) const;
};

/// Each weight ~ pi Normal(0, sigma1^2) + (1 - pi) Normal(0, sigma2^2): the scale-mixture
/// prior of Bayes by backprop (Blundell et al. 2015, eq. 7), and MATLAB's
/// bayesFullyConnectedLayer (Sigma1, Sigma2, MixtureWeight = pi). A wide component (sigma1)
/// lets weights be large, a narrow one (sigma2 << 1) pulls the many others to zero. The
/// paper's grid: pi in {1/4, 1/2}, sigma1 in {1, e^-1, e^-2}, sigma2 in {e^-6, e^-7, e^-8}.
struct ScaleMixturePrior {
  Scalar pi = Scalar(0.5);         ///< The weight of the first component.
  Scalar sigma1 = 1;               ///< The standard deviation of the first component.
  Scalar sigma2 = Scalar(0.0025);  ///< about e^-6

  /// log density at each entry of w (w's shape), log(a + b) computed from the larger term so
  /// that neither underflows, with exact gradients.
  Tensor log_prob(const Tensor& w) const;
  /// "ScaleMixture(pi=0.5, sigma1=1, sigma2=0.0025)".
  std::string describe() const;
  /// Throws ValueError naming `who` and the argument unless 0 < pi < 1 and both sigmas are
  /// positive and finite.
  void validate(const std::string& who) const;
};

/// The prior of a Bayesian dense layer.
using WeightPrior = std::variant<NormalPrior, ScaleMixturePrior>;

/// Whether KL(Normal posterior || prior) has a closed form (NormalPrior) rather than a Monte
/// Carlo estimate (ScaleMixturePrior).
bool has_analytic_kl(const WeightPrior& prior);
std::string describe(const WeightPrior& prior);

}  // namespace vesta
