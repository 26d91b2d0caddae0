#include <vesta/inference/elbo.hpp>

#include <cmath>
#include <cstdio>

#include <fmt/format.h>

namespace vesta {

namespace {

// The first sample site of `t` whose value or log-probability is not finite, for a message.
std::string first_non_finite(const Trace& t, const char* which) {
  for (const Site& s : t.sites()) {
    if (!s.is_sample()) continue;
    if (!s.value.empty() && !s.value.value().allFinite()) {
      return fmt::format("{} site '{}' has a non-finite value", which, s.name);
    }
    if (!t.log_prob(s.name).value().allFinite()) {
      return fmt::format("{} site '{}' has a non-finite log_prob", which, s.name);
    }
  }
  return {};
}

}  // namespace

Trace_ELBO::Trace_ELBO(int num_particles, Scalar baseline_decay)
    : num_particles_(num_particles), baseline_decay_(baseline_decay) {
  if (num_particles < 1) {
    throw ValueError(fmt::format("Trace_ELBO: num_particles is {}, but must be at least 1", num_particles));
  }
}

Tensor Trace_ELBO::particle_loss(const Trace& model_trace, const Trace& guide_trace) {
  for (const Site& s : guide_trace.sites()) {
    if (s.is_sample() && !s.observed && !s.auxiliary && !model_trace.contains(s.name)) {
      throw ValueError(fmt::format(
          "Trace_ELBO: the guide samples '{}', which the model does not have; every guide "
          "site must be a model site of the same name",
          s.name));
    }
  }
  // Model latents the guide does not sample were drawn from the model, and their log_prob
  // stays in the log-joint (as in Pyro). Say so once per site, except for distributions
  // whose log_prob is a folded-in term (HiddenLayer's KL) rather than a density.
  for (const Site& s : model_trace.sites()) {
    if (s.is_sample() && !s.observed && !guide_trace.contains(s.name) &&
        !s.dist->log_prob_is_folded_term() && warned_.insert(s.name).second) {
      std::fprintf(stderr,
                   "vesta: model site '%s' is not in the guide; it is sampled from the model "
                   "and its log_prob is part of the ELBO\n",
                   s.name.c_str());
    }
  }

  const Tensor elbo = model_trace.log_prob_sum() - guide_trace.log_prob_sum();
  if (!std::isfinite(elbo.item())) {
    std::string where = first_non_finite(guide_trace, "guide");
    if (where.empty()) where = first_non_finite(model_trace, "model");
    throw ValueError(fmt::format("Trace_ELBO: the ELBO is {}: {}", elbo.item(),
                                 where.empty() ? "no single site is to blame" : where));
  }
  // Score-function terms for guide sites drawn without a pathwise gradient.
  Tensor surrogate = elbo;
  const Scalar value = elbo.item();
  for (const Site& s : guide_trace.sites()) {
    if (!s.is_sample() || s.observed || s.dist->has_rsample()) continue;
    auto [it, fresh] = baselines_.try_emplace(s.name, value);
    const Scalar baseline = it->second;
    surrogate = surrogate + guide_trace.scaled_log_prob_sum(s) * (value - baseline);
    it->second = fresh ? value : baseline_decay_ * baseline + (1 - baseline_decay_) * value;
  }
  return -surrogate;
}

}  // namespace vesta
