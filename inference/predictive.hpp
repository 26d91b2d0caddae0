// Predictive: draws from the posterior predictive (or the prior predictive) of a model, as
// Pyro's Predictive. Each draw runs the guide (or takes one draw of given posterior samples,
// such as MCMC's), then the model with those latent values; the model's other sites,
// observations it was not given among them, are drawn from the model.
//
//   Predictive predictive(model, guide, 1000);
//   SiteSamples s = predictive(x_test);   // s.draw("y", k): draw k of y, in y's shape
//
// log_likelihood(model, samples, args...) scores the model's observations under each draw
// (NumPyro's log_likelihood), so the log pointwise predictive density is one more call.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include <vesta/core/handlers/names.hpp>
#include <vesta/core/handlers/replay.hpp>
#include <vesta/core/handlers/trace.hpp>
#include <vesta/core/tape.hpp>
#include <vesta/inference/samples.hpp>

namespace vesta {

namespace detail {

/// Collects the chosen sites of each model trace into SiteSamples.
class SampleCollector {
 public:
  explicit SampleCollector(std::vector<std::string> return_sites)
      : return_sites_(std::move(return_sites)) {}
  void collect(const Trace& model_trace);
  SiteSamples take() { return std::move(out_); }

 private:
  std::vector<std::string> return_sites_;
  bool first_ = true;
  SiteSamples out_;
};

/// Gives each unobserved sample site the value of draw k of the same-named site in
/// `samples` (checked against the shape of a draw of the site). Names that are no sample
/// site of the run are an error when the scope ends; draws of observed sites are ignored
/// (the model keeps its data).
class PosteriorDraw : public Messenger {
 public:
  PosteriorDraw(const SiteSamples& samples, Index k);
  ~PosteriorDraw() noexcept(false) override { names_.check("posterior samples", "sample"); }
  void process(Site& site) override;
  void postprocess(Site& site) override;

 private:
  const SiteSamples* samples_;
  Index k_;
  GivenNames names_;
};

void check_num_samples(Index num_samples);

}  // namespace detail

/// The guide of a prior-predictive or posterior-samples Predictive: none.
struct NoGuide {
  /// Does nothing.
  template <class... Args>
  void operator()(const Args&...) const {}
};

/// Pyro's Predictive: draws from the posterior (or prior) predictive of a model; see the file's
/// description.
template <class Model, class Guide = NoGuide>
class Predictive {
 public:
  /// The posterior predictive through a fitted guide: `num_samples` draws.
  /// `return_sites`: the sites to return (default: every sample and deterministic site of the
  /// model — latents and observations alike).
  Predictive(Model model, Guide guide, Index num_samples,
             std::vector<std::string> return_sites = {})
      : model_(std::move(model)),
        guide_(std::move(guide)),
        num_samples_(num_samples),
        use_guide_(true),
        return_sites_(std::move(return_sites)) {
    detail::check_num_samples(num_samples_);
  }

  /// The prior predictive: `num_samples` runs of the model alone.
  Predictive(Model model, Index num_samples,
             std::vector<std::string> return_sites = {}) requires std::is_same_v<Guide, NoGuide>
      : model_(std::move(model)),
        num_samples_(num_samples),
        return_sites_(std::move(return_sites)) {
    detail::check_num_samples(num_samples_);
  }

  /// The model run at given posterior samples (from MCMC, or an earlier Predictive): one draw
  /// per posterior draw, the latents fixed to its values.
  Predictive(Model model, SiteSamples posterior_samples,
             std::vector<std::string> return_sites = {}) requires std::is_same_v<Guide, NoGuide>
      : model_(std::move(model)),
        num_samples_(posterior_samples.num_samples()),
        posterior_(std::move(posterior_samples)),
        return_sites_(std::move(return_sites)) {
    if (posterior_.empty()) throw ValueError("Predictive: no posterior samples given");
    detail::check_num_samples(num_samples_);
  }

  /// Draws with the model's arguments. Like SVI::step, it resets the tape after each draw.
  template <class... Args>
  SiteSamples operator()(const Args&... args) const {
    detail::SampleCollector collector(return_sites_);
    for (Index k = 0; k < num_samples_; ++k) {
      TapeStep step;
      collector.collect(draw(k, args...));
    }
    return collector.take();
  }

 private:
  template <class... Args>
  Trace draw(Index k, const Args&... args) const {
    if (use_guide_) {
      const Trace guide_trace = trace(std::cref(guide_), "guide").get_trace(args...);
      return trace(replay(std::cref(model_), guide_trace), "model").get_trace(args...);
    }
    if (!posterior_.empty()) {
      detail::PosteriorDraw fixed(posterior_, k);
      return trace(std::cref(model_), "model").get_trace(args...);
    }
    return trace(std::cref(model_), "model").get_trace(args...);
  }

  Model model_;
  Guide guide_{};
  Index num_samples_;
  bool use_guide_ = false;
  SiteSamples posterior_;
  std::vector<std::string> return_sites_;
};

template <class Model, class Guide>
Predictive(Model, Guide, Index, std::vector<std::string>) -> Predictive<Model, Guide>;
template <class Model, class Guide>
Predictive(Model, Guide, Index) -> Predictive<Model, Guide>;
template <class Model>
Predictive(Model, Index, std::vector<std::string>) -> Predictive<Model, NoGuide>;
template <class Model>
Predictive(Model, Index) -> Predictive<Model, NoGuide>;
template <class Model>
Predictive(Model, SiteSamples, std::vector<std::string>) -> Predictive<Model, NoGuide>;
template <class Model>
Predictive(Model, SiteSamples) -> Predictive<Model, NoGuide>;

namespace detail {
/// Appends, for each observed sample site of `t` that scores a draw, its log_prob flattened
/// row-major as row `k` of out[site] (sized on the first draw).
void collect_log_likelihood(const Trace& t, Index k, Index num_samples,
                            std::map<std::string, Matrix>& out);
}  // namespace detail

/// The log-likelihood of every observation of `model` under each draw of `samples`
/// (posterior samples, from MCMC or Predictive): per observed site, a num_samples x n matrix,
/// row k the site's log_prob under draw k, flattened row-major (n entries: one per data
/// point). NumPyro's log_likelihood. The log pointwise predictive density of the data is
/// log_pointwise_predictive_density of it.
template <class Model, class... Args>
std::map<std::string, Matrix> log_likelihood(const Model& model, const SiteSamples& samples,
                                             const Args&... args) {
  const Index n = samples.num_samples();
  detail::check_num_samples(n);
  std::map<std::string, Matrix> out;
  for (Index k = 0; k < n; ++k) {
    TapeStep step;
    Trace t;
    {
      detail::PosteriorDraw fixed(samples, k);
      t = trace(std::cref(model), "model").get_trace(args...);
    }
    detail::collect_log_likelihood(t, k, n, out);
  }
  return out;
}

/// sum_i log((1/S) sum_k exp(ll[k, i])) over the columns of a log_likelihood matrix (S draws
/// x n data points): the log pointwise predictive density (Gelman, Hwang & Vehtari 2014).
double log_pointwise_predictive_density(const Matrix& log_likelihood);

}  // namespace vesta
