#include <vesta/inference/elbo.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <vesta/core/handlers/replay.hpp>
#include <vesta/core/handlers/trace.hpp>
#include <vesta/core/op_support.hpp>
#include <vesta/core/warn.hpp>
#include <vesta/distributions/kl.hpp>

namespace vesta {

namespace {

// Why a row is not finite, for the message that blames it.
std::string describe_row(const ElboTerm& row) {
  const std::string where = site_context(*row.site, row.trace);
  const Site& s = *row.site;
  if (!s.value.empty() && !s.value.value().allFinite()) {
    return fmt::format("{} has a non-finite value", where);
  }
  return fmt::format("{} has a {} {}", where, row.what, row.value.item());
}

}  // namespace

Trace_ELBO::Trace_ELBO(const char* name, int num_particles, Scalar baseline_decay)
    : name_(name), num_particles_(num_particles), baseline_decay_(baseline_decay) {
  if (num_particles < 1) {
    throw ValueError(
        fmt::format("{}: num_particles is {}, but must be at least 1", name, num_particles));
  }
}

void Trace_ELBO::record_traces(Program model, Program guide) {
  {
    TraceMessenger tr(guide_trace_, "guide");
    guide();
  }
  TraceMessenger tr(model_trace_, "model");
  ReplayMessenger r(guide_trace_);
  model();
}

bool Trace_ELBO::scores_draw(const Site& site) { return !site.dist->log_prob_is_folded_term(); }

void Trace_ELBO::terms(const Trace& model_trace, const Trace& guide_trace,
                       std::vector<ElboTerm>& out) {
  // A folded term (HiddenLayer's -KL) counts once, where the model has it; in the guide it
  // only supplies the value replayed into the model.
  for (const Site& s : guide_trace.sites()) {
    if (s.is_sample() && scores_draw(s)) out.push_back(guide_term(guide_trace, s));
  }
  for (const Site& s : model_trace.sites()) {
    if (s.is_sample()) out.push_back(model_term(model_trace, s));
  }
}

std::string Trace_ELBO::explain_constant_loss() const {
  if (!unguided_.empty()) {
    return fmt::format(
        "{}: the loss depends on no parameter: the guide samples none of the model's latent sites "
        "({}), so they are drawn from the model's prior, and no param reaches the loss; write a "
        "guide with params for them (or use an autoguide, AutoNormal(model))",
        name_, fmt::join(unguided_, ", "));
  }
  if (!any_param_) {
    return fmt::format(
        "{}: the loss depends on no parameter: neither the model nor the guide reads a param, so "
        "there is nothing to learn",
        name_);
  }
  return fmt::format(
      "{}: the loss depends on no parameter: the params that the model and the guide read do not "
      "reach any site's log-probability",
      name_);
}

Tensor Trace_ELBO::particle_loss(const Trace& model_trace, const Trace& guide_trace) {
  // One pass over each trace for what the loss must know besides the terms: a model of many
  // small sites pays for every pass over its sites.
  any_param_ = false;
  bool any_score_site = false;  // a guide site drawn without a pathwise gradient
  std::size_t to_pair = 0;      // guide sample sites that the model must have
  for (const Site& s : guide_trace.sites()) {
    if (s.kind == SiteKind::param) any_param_ = true;
    if (!s.is_sample() || s.observed) continue;
    if (!s.auxiliary) ++to_pair;
    any_score_site = any_score_site || (!s.dist->has_rsample() && scores_draw(s));
  }
  // Model latents the guide does not sample were drawn from the model, and their log_prob
  // stays in the log-joint (as in Pyro). The same pass pairs the model's latents with the
  // guide's sample sites: names are unique in a trace, so when every guide site that needs one
  // has a partner, no guide site is missing from the model and none needs a look-up of its own.
  unguided_.clear();
  std::size_t paired = 0;
  for (const Site& s : model_trace.sites()) {
    any_param_ = any_param_ || s.kind == SiteKind::param;
    if (!s.is_sample() || s.observed || s.enumerated) continue;
    const Site* g = guide_trace.find(s.name);
    if (g == nullptr) {
      if (scores_draw(s)) unguided_.push_back(s.name);
    } else if (g->is_sample() && !g->observed && !g->auxiliary) {
      ++paired;
    }
  }
  if (paired != to_pair) {
    for (const Site& s : guide_trace.sites()) {
      if (!s.is_sample() || s.observed || s.auxiliary || model_trace.contains(s.name)) continue;
      throw ValueError(fmt::format(
          "{}: the guide samples '{}', which the model does not have; every guide site must be "
          "a model site of the same name",
          name_, s.name));
    }
  }
  // Said once per site, except for distributions whose log_prob is a folded-in term
  // (HiddenLayer's KL) rather than a density.
  for (const std::string& name : unguided_) {
    if (warned_.insert(name).second) {
      warn(fmt::format(
          "model site '{}' is not in the guide; it is sampled from the model and its log_prob is "
          "part of the ELBO",
          name));
    }
  }

  rows_.clear();
  terms(model_trace, guide_trace, rows_);
  // The rows summed where they are, as one node.
  const Tensor elbo = weighted_sum(
      rows_.size(), [this](std::size_t k) -> const Tensor& { return rows_[k].value; },
      [this](std::size_t k) { return rows_[k].sign; });
  if (!std::isfinite(elbo.item())) {
    for (const ElboTerm& row : rows_) {
      if (!std::isfinite(row.value.item())) {
        throw ValueError(
            fmt::format("{}: the ELBO is {}: {}", name_, elbo.item(), describe_row(row)));
      }
    }
    throw ValueError(
        fmt::format("{}: the ELBO is {}, though every term is finite (their sum overflows)", name_,
                    elbo.item()));
  }
  // Score-function terms for guide sites drawn without a pathwise gradient.
  Tensor surrogate = elbo;
  if (!any_score_site) return -surrogate;
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
  if (!model_site.is_sample() || model_site.observed) return nullptr;
  const Site* g = guide_trace.find(model_site.name);
  if (g == nullptr || !g->is_sample() || g->observed || g->auxiliary || !scores_draw(*g) ||
      !scores_draw(model_site) || !has_kl_divergence(*g->dist, *model_site.dist)) {
    return nullptr;
  }
  // E_q[scale (log p - log q)] is -scale KL only with one scale: the guide's must be the
  // model's (up to rounding, when handlers multiply the same factors in another order).
  const Scalar gs = term_scale(*g), ms = term_scale(model_site);
  const Scalar tol = 8 * std::numeric_limits<Scalar>::epsilon() * std::max(gs, ms);
  if (std::abs(gs - ms) > tol) {
    throw ValueError(fmt::format(
        "{}: site '{}' has scale {} in the guide but {} in the model; its KL term takes one "
        "scale, so scale (or subsample) the site alike in both",
        name(), model_site.name, gs, ms));
  }
  // The KL term takes the model site's mask; a guide that masks the site must mask it alike.
  const Tensor& gm = g->extras().mask;
  if (!gm.empty() || !g->keep) {
    const Tensor& m = model_site.extras().mask;
    const bool same =
        g->keep == model_site.keep &&
        (gm.empty() ? m.empty()
                    : !m.empty() && m.rows() == gm.rows() && m.cols() == gm.cols() &&
                          ((m.value().array() != 0) == (gm.value().array() != 0)).all());
    if (!same) {
      throw ValueError(fmt::format(
          "{}: site '{}' is masked differently in the guide ({}) and the model ({}); its KL "
          "term takes the model's mask, so mask the site alike in both (or only in the model)",
          name(), model_site.name, gm.empty() ? std::string("a 1x1 mask") : gm.shape(),
          m.empty() ? std::string("no per-entry mask") : m.shape()));
    }
  }
  return g;
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
    warn(fmt::format(
        "TraceMeanField_ELBO cannot check that the guide is mean-field: the model samples {} but "
        "the guide {}; list the sites in the same order in both",
        fmt::join(in_model, ", "), fmt::join(in_guide, ", ")));
  }
}

void TraceMeanField_ELBO::terms(const Trace& model_trace, const Trace& guide_trace,
                                std::vector<ElboTerm>& out) {
  check_order(model_trace, guide_trace);
  // Trace_ELBO's rows, with the pairs that have a KL formula counted as one row, -KL.
  std::unordered_set<std::string> by_kl;
  for (const Site& s : model_trace.sites()) {
    if (!s.is_sample()) continue;
    if (const Site* g = kl_partner(s, guide_trace)) {
      out.push_back({&s, &model_trace,
                     masked_scaled_sum(s, kl_divergence(*g->dist, *s.dist), "KL divergence"),
                     "KL divergence", -1});
      by_kl.insert(s.name);
    }
  }
  for (const Site& g : guide_trace.sites()) {
    if (g.is_sample() && scores_draw(g) && by_kl.count(g.name) == 0)
      out.push_back(guide_term(guide_trace, g));
  }
  for (const Site& s : model_trace.sites()) {
    if (s.is_sample() && by_kl.count(s.name) == 0) out.push_back(model_term(model_trace, s));
  }
}

}  // namespace vesta
