#include <vesta/inference/elbo.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <vesta/distributions/kl.hpp>

namespace vesta {

Trace_ELBO::Trace_ELBO(const char* name, int num_particles, Scalar baseline_decay)
    : name_(name), num_particles_(num_particles), baseline_decay_(baseline_decay) {
  if (num_particles < 1) {
    throw ValueError(
        fmt::format("{}: num_particles is {}, but must be at least 1", name, num_particles));
  }
}

std::string Trace_ELBO::first_non_finite(const Trace& t, const char* which,
                                         const std::function<bool(const Site&)>& counts) {
  for (const Site& s : t.sites()) {
    if (!s.is_sample() || (counts && !counts(s))) continue;
    if (!s.value.empty() && !s.value.value().allFinite()) {
      return fmt::format("{} site '{}' has a non-finite value", which, s.name);
    }
    if (!t.log_prob(s.name).value().allFinite()) {
      return fmt::format("{} site '{}' has a non-finite log_prob", which, s.name);
    }
  }
  return {};
}

bool Trace_ELBO::scores_draw(const Site& site) { return !site.dist->log_prob_is_folded_term(); }

Tensor Trace_ELBO::particle_elbo(const Trace& model_trace, const Trace& guide_trace) {
  // A folded term (HiddenLayer's -KL) counts once, where the model has it; in the guide it
  // only supplies the value replayed into the model.
  return model_trace.log_prob_sum() - guide_trace.log_prob_sum(scores_draw);
}

std::string Trace_ELBO::blame_non_finite(const Trace& model_trace, const Trace& guide_trace) {
  std::string where = first_non_finite(guide_trace, "guide");
  return where.empty() ? first_non_finite(model_trace, "model") : where;
}

Tensor Trace_ELBO::particle_loss(const Trace& model_trace, const Trace& guide_trace) {
  for (const Site& s : guide_trace.sites()) {
    if (s.is_sample() && !s.observed && !s.auxiliary && !model_trace.contains(s.name)) {
      throw ValueError(fmt::format(
          "{}: the guide samples '{}', which the model does not have; every guide site must be "
          "a model site of the same name",
          name_, s.name));
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

  const Tensor elbo = particle_elbo(model_trace, guide_trace);
  if (!std::isfinite(elbo.item())) {
    const std::string where = blame_non_finite(model_trace, guide_trace);
    throw ValueError(fmt::format("{}: the ELBO is {}: {}", name_, elbo.item(),
                                 where.empty() ? "no single site is to blame" : where));
  }
  // Score-function terms for guide sites drawn without a pathwise gradient.
  Tensor surrogate = elbo;
  const Scalar value = elbo.item();
  for (const Site& s : guide_trace.sites()) {
    if (!s.is_sample() || s.observed || s.dist->has_rsample() || !scores_draw(s)) continue;
    auto [it, fresh] = baselines_.try_emplace(s.name, value);
    const Scalar baseline = it->second;
    // log q minus its own value: the term adds the score-function gradient but nothing to
    // the value, so the loss reported stays exactly minus the ELBO estimate.
    const Tensor log_q = guide_trace.scaled_log_prob_sum(s);
    surrogate = surrogate + (log_q - log_q.item()) * (value - baseline);
    it->second = fresh ? value : baseline_decay_ * baseline + (1 - baseline_decay_) * value;
  }
  return -surrogate;
}

// ---- TraceMeanField_ELBO ---------------------------------------------------------------

const Site* TraceMeanField_ELBO::kl_partner(const Site& model_site,
                                            const Trace& guide_trace) const {
  if (!model_site.is_sample() || model_site.observed || !guide_trace.contains(model_site.name)) {
    return nullptr;
  }
  const Site& g = guide_trace.site(model_site.name);
  if (!g.is_sample() || g.observed || g.auxiliary || !scores_draw(g) || !scores_draw(model_site) ||
      !has_kl_divergence(*g.dist, *model_site.dist)) {
    return nullptr;
  }
  // E_q[scale (log p - log q)] is -scale KL only with one scale: the guide's must be the
  // model's (up to rounding, when handlers multiply the same factors in another order).
  const Scalar tol =
      8 * std::numeric_limits<Scalar>::epsilon() * std::max(g.scale, model_site.scale);
  if (std::abs(g.scale - model_site.scale) > tol) {
    throw ValueError(fmt::format(
        "{}: site '{}' has scale {} in the guide but {} in the model; its KL term takes one "
        "scale, so scale (or subsample) the site alike in both",
        name(), model_site.name, g.scale, model_site.scale));
  }
  // The KL term takes the model site's mask; a guide that masks the site must mask it alike.
  if (!g.mask.empty()) {
    const Tensor& m = model_site.mask;
    const bool same = !m.empty() && m.rows() == g.mask.rows() && m.cols() == g.mask.cols() &&
                      ((m.value().array() != 0) == (g.mask.value().array() != 0)).all();
    if (!same) {
      throw ValueError(fmt::format(
          "{}: site '{}' is masked differently in the guide ({}) and the model ({}); its KL "
          "term takes the model's mask, so mask the site alike in both (or only in the model)",
          name(), model_site.name, g.mask.shape(), m.empty() ? std::string("no mask") : m.shape()));
    }
  }
  return &g;
}

void TraceMeanField_ELBO::check_order(const Trace& model_trace, const Trace& guide_trace) {
  if (warned_order_) return;
  // Pyro's check: a latent's KL, taken at the values drawn for the others, is its expected
  // log-ratio only if the guide draws no latent from sites that the model samples after
  // that latent; the same order of the shared sites in both programs rules that out.
  auto shared = [](const Trace& a, const Trace& b) {
    std::vector<std::string> names;
    for (const Site& s : a.sites()) {
      if (s.is_sample() && b.contains(s.name)) names.push_back(s.name);
    }
    return names;
  };
  const std::vector<std::string> in_model = shared(model_trace, guide_trace);
  const std::vector<std::string> in_guide = shared(guide_trace, model_trace);
  if (in_model != in_guide) {
    warned_order_ = true;
    std::fprintf(stderr,
                 "vesta: TraceMeanField_ELBO cannot check that the guide is mean-field: the "
                 "model samples %s but the guide %s; list the sites in the same order in both\n",
                 fmt::format("{}", fmt::join(in_model, ", ")).c_str(),
                 fmt::format("{}", fmt::join(in_guide, ", ")).c_str());
  }
}

Tensor TraceMeanField_ELBO::particle_elbo(const Trace& model_trace, const Trace& guide_trace) {
  check_order(model_trace, guide_trace);
  // Trace_ELBO's log_prob_sum(model) - log_prob_sum(guide), site by site, with the pairs
  // that have a KL formula counted as -KL instead.
  std::unordered_set<std::string> by_kl;
  Tensor total;
  bool first = true;
  auto add = [&](const Tensor& term) {
    total = first ? term : total + term;
    first = false;
  };
  for (const Site& s : model_trace.sites()) {
    if (!s.is_sample()) continue;
    if (const Site* g = kl_partner(s, guide_trace)) {
      add(-masked_scaled_sum(s, kl_divergence(*g->dist, *s.dist), "KL divergence"));
      by_kl.insert(s.name);
    } else {
      add(model_trace.scaled_log_prob_sum(s));
    }
  }
  for (const Site& g : guide_trace.sites()) {
    if (g.is_sample() && scores_draw(g) && by_kl.count(g.name) == 0) add(-guide_trace.scaled_log_prob_sum(g));
  }
  return first ? Tensor(Scalar(0)) : total;
}

std::string TraceMeanField_ELBO::blame_non_finite(const Trace& model_trace,
                                                  const Trace& guide_trace) {
  std::unordered_set<std::string> by_kl;
  for (const Site& s : model_trace.sites()) {
    const Site* g = kl_partner(s, guide_trace);
    if (g == nullptr) continue;
    by_kl.insert(s.name);
    if (!std::isfinite(
            masked_scaled_sum(s, kl_divergence(*g->dist, *s.dist), "KL divergence").item())) {
      return fmt::format("site '{}' has a non-finite KL divergence from the guide to the model",
                         s.name);
    }
  }
  // Otherwise the culprit is among the terms estimated by Monte Carlo.
  auto by_monte_carlo = [&](const Site& s) { return by_kl.count(s.name) == 0; };
  std::string where = first_non_finite(guide_trace, "guide", by_monte_carlo);
  return where.empty() ? first_non_finite(model_trace, "model", by_monte_carlo) : where;
}

}  // namespace vesta
