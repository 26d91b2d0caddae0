// kl_divergence(p, q): KL(p || q) in closed form, dispatched on the pair of families.
// Registered: Normal, LogNormal, MultivariateNormal, Gamma, Beta, Dirichlet, Exponential,
// Bernoulli, Categorical and Laplace against their own family; Delta against anything;
// to_event (Independent) and expanded versions of these. Users can register more.
#pragma once

#include <functional>
#include <typeindex>

#include <vesta/core/distribution.hpp>

namespace vesta {

/// KL(p || q), one entry per batch element of p (its batch shape). Throws ValueError naming
/// both families when no formula is registered for the pair.
Tensor kl_divergence(const Distribution& p, const Distribution& q);
/// Whether kl_divergence(p, q) has a formula.
bool has_kl_divergence(const Distribution& p, const Distribution& q);

/// The sum over all entries of KL(N(loc, scale) || N(0, prior_scale)) (1x1): the weight KL
/// of a Bayesian layer, as one fused op (one pass forward, one backward) rather than a chain
/// of elementwise ops over every weight. prior_scale is 1x1 or loc's shape; scale has loc's.
Tensor normal_kl_to_centered_sum(const Tensor& loc, const Tensor& scale, const Tensor& prior_scale);

using KlFormula = std::function<Tensor(const Distribution&, const Distribution&)>;
/// Registers (or replaces) the formula for families P and Q.
void register_kl(std::type_index p, std::type_index q, KlFormula formula);

template <class P, class Q, class F>
void register_kl(F formula) {
  register_kl(typeid(P), typeid(Q), [formula](const Distribution& p, const Distribution& q) {
    return formula(static_cast<const P&>(p), static_cast<const Q&>(q));
  });
}

}  // namespace vesta
