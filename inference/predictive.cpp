#include <vesta/inference/predictive.hpp>

#include <cmath>

#include <fmt/format.h>

namespace vesta {

namespace detail {

void SampleCollector::collect(const Trace& model_trace) {
  // The first draw decides the sites.
  if (first_) {
    first_ = false;
    if (return_sites_.empty()) {
      for (const Site& s : model_trace.sites()) {
        if ((s.is_sample() && !s.auxiliary) || s.kind == SiteKind::deterministic)
          return_sites_.push_back(s.name);
      }
    }
    for (const std::string& name : return_sites_) {
      const Site* s = model_trace.find(name);
      if (s == nullptr) {
        throw ValueError(
            fmt::format("Predictive: return site '{}' is not a site of the model", name));
      }
      if (s->kind != SiteKind::sample && s->kind != SiteKind::deterministic) {
        throw ValueError(fmt::format(
            "Predictive: return site '{}' is a {} site, not a sample or deterministic one", name,
            to_string(s->kind)));
      }
    }
  }
  for (const std::string& name : return_sites_) {
    const Site& s = model_trace.site(name);
    out_.add(name, s.value.matrix());
  }
}

PosteriorDraw::PosteriorDraw(const SiteSamples& samples, Index k)
    : samples_(&samples), k_(k), names_(samples.sites()) {}

void PosteriorDraw::process(Site& site) {
  // Draws of a deterministic site (MCMC's get_samples holds them) are known names, but the
  // model computes the site again from the latents.
  if (site.kind == SiteKind::deterministic && samples_->contains(site.name)) names_.seen(site.name);
  if (!site.is_sample() || !samples_->contains(site.name)) return;
  names_.seen(site.name);
  if (site.observed) return;
  site.value = Tensor(samples_->draw(site.name, k_));
}

void PosteriorDraw::postprocess(Site& site) {
  if (!site.is_sample() || site.observed || !samples_->contains(site.name)) return;
  const Distribution& d = *site.dist;
  const Index rows = samples_->rows(site.name), cols = samples_->cols(site.name);
  if (rows != d.rows() || cols != d.cols()) {
    throw ShapeError(fmt::format(
        "posterior samples: draws of site '{}' are {}, but a draw of its distribution {} is {}",
        site.name, shape_str(rows, cols), d.describe(), shape_str(d.rows(), d.cols())));
  }
}

void check_num_samples(Index num_samples) {
  if (num_samples < 1)
    throw ValueError(
        fmt::format("Predictive: num_samples is {}, but must be at least 1", num_samples));
}

void collect_log_likelihood(const Trace& t, Index k, Index num_samples,
                            std::map<std::string, Matrix>& out) {
  for (const Site& s : t.sites()) {
    if (!s.is_sample() || !s.observed || s.dist->log_prob_is_folded_term()) continue;
    const ConstMatrixMap lp = t.log_prob(s).value();
    Matrix& m = out[s.name];
    if (k == 0) m.resize(num_samples, lp.size());
    if (m.cols() != lp.size()) {
      throw ShapeError(fmt::format(
          "log_likelihood: site '{}' has {} entries under draw {} but {} under the first", s.name,
          lp.size(), k, m.cols()));
    }
    for (Index r = 0; r < lp.rows(); ++r) {
      for (Index c = 0; c < lp.cols(); ++c) m(k, r * lp.cols() + c) = lp(r, c);
    }
  }
}

}  // namespace detail

double log_pointwise_predictive_density(const Matrix& log_likelihood) {
  if (log_likelihood.rows() == 0) throw ValueError("log_pointwise_predictive_density: no draws");
  double total = 0;
  const double log_s = std::log(double(log_likelihood.rows()));
  for (Index i = 0; i < log_likelihood.cols(); ++i) {
    const double top = double(log_likelihood.col(i).maxCoeff());
    double acc = 0;
    for (Index k = 0; k < log_likelihood.rows(); ++k)
      acc += std::exp(double(log_likelihood(k, i)) - top);
    total += top + std::log(acc) - log_s;
  }
  return total;
}

}  // namespace vesta
