// Predictive: draws from the posterior predictive (or the prior predictive) of a model, as
// Pyro's Predictive. Each draw runs the guide (or takes one row of given posterior samples),
// then the model with those latent values; the model's other sites, observations it was not
// given among them, are drawn from the model.
//
//   Predictive predictive(model, guide, 1000);
//   SiteSamples s = predictive(x_test);   // s["y"]: 1000 rows, one draw of y per row
//
// A draw of shape rows x cols is stored as one row of rows*cols entries, row after row (the
// layout of NumPy's reshape), so a data column of N values is a row of N.
#pragma once

#include <cstddef>
#include <type_traits>
#include <map>
#include <string>
#include <vector>

#include <vesta/core/handlers/block.hpp>
#include <vesta/core/handlers/condition.hpp>
#include <vesta/core/handlers/replay.hpp>
#include <vesta/core/handlers/trace.hpp>
#include <vesta/core/tape.hpp>

namespace vesta {

/// Per site, one draw per row.
using SiteSamples = std::map<std::string, Matrix>;

namespace detail {

/// Collects the chosen sites of one model trace into row `i` of `out`.
class SampleCollector {
 public:
  SampleCollector(std::vector<std::string> return_sites, Index num_samples)
      : return_sites_(std::move(return_sites)), num_samples_(num_samples) {}
  void collect(const Trace& model_trace, Index i);
  SiteSamples take() { return std::move(out_); }

 private:
  std::vector<std::string> return_sites_;
  Index num_samples_;
  SiteSamples out_;
  std::map<std::string, std::pair<Index, Index>> shapes_;
};

/// Row `i` of `samples[name]` as a rows x cols value (the inverse of the row layout above).
Matrix unflatten_row(const Matrix& samples, Index i, Index rows, Index cols);

void check_num_samples(Index num_samples);
/// The number of rows all posterior samples share; throws naming a site that differs.
Index posterior_rows(const SiteSamples& samples);

}  // namespace detail

/// The guide of a prior-predictive or posterior-samples Predictive: none.
struct NoGuide {
  template <class... Args>
  void operator()(const Args&...) const {}
};

template <class Model, class Guide = NoGuide>
class Predictive {
 public:
  /// The posterior predictive through a fitted guide: `num_samples` draws.
  /// `return_sites`: the sites to return (default: every sample and deterministic site of the
  /// model — latents and observations alike).
  Predictive(Model model, Guide guide, Index num_samples, std::vector<std::string> return_sites = {})
      : model_(std::move(model)), guide_(std::move(guide)), num_samples_(num_samples),
        use_guide_(true), return_sites_(std::move(return_sites)) {
    detail::check_num_samples(num_samples_);
  }

  /// The prior predictive: `num_samples` runs of the model alone.
  Predictive(Model model, Index num_samples, std::vector<std::string> return_sites = {})
    requires std::is_same_v<Guide, NoGuide>
      : model_(std::move(model)), num_samples_(num_samples), return_sites_(std::move(return_sites)) {
    detail::check_num_samples(num_samples_);
  }

  /// The model run at given posterior samples (as Predictive returns them, or from MCMC): one
  /// draw per row; the named latents are fixed to the row's values.
  Predictive(Model model, SiteSamples posterior_samples, std::vector<std::string> return_sites = {})
    requires std::is_same_v<Guide, NoGuide>
      : model_(std::move(model)), num_samples_(detail::posterior_rows(posterior_samples)),
        posterior_(std::move(posterior_samples)), return_sites_(std::move(return_sites)) {}

  /// Draws with the model's arguments. Like SVI::step, it resets the tape after each draw.
  template <class... Args>
  SiteSamples operator()(const Args&... args) {
    detail::SampleCollector collector(return_sites_, num_samples_);
    std::map<std::string, std::pair<Index, Index>> shapes;
    if (!posterior_.empty()) shapes = posterior_shapes(args...);
    for (Index i = 0; i < num_samples_; ++i) {
      struct ResetTape {
        ~ResetTape() { tape().reset(); }
      } reset;
      collector.collect(draw(i, shapes, args...), i);
    }
    return collector.take();
  }

 private:
  template <class... Args>
  Trace draw(Index i, const std::map<std::string, std::pair<Index, Index>>& shapes, const Args&... args) {
    if (use_guide_) {
      Trace guide_trace;
      {
        TraceMessenger tr;
        guide_(args...);
        guide_trace = tr.take_trace();
      }
      ReplayMessenger replayed(guide_trace);
      TraceMessenger tr;
      model_(args...);
      return tr.take_trace();
    }
    ValueMap fixed;
    for (const auto& [name, m] : posterior_) {
      const auto& [rows, cols] = shapes.at(name);
      fixed.emplace(name, Tensor(detail::unflatten_row(m, i, rows, cols)));
    }
    ConditionMessenger conditioned(std::move(fixed));
    TraceMessenger tr;
    model_(args...);
    return tr.take_trace();
  }

  // The shape of each posterior site, from one run of the model hidden from other handlers.
  template <class... Args>
  std::map<std::string, std::pair<Index, Index>> posterior_shapes(const Args&... args) {
    Trace t;
    {
      BlockMessenger hide;
      TraceMessenger tr;
      model_(args...);
      t = tr.take_trace();
    }
    tape().reset();
    std::map<std::string, std::pair<Index, Index>> shapes;
    for (const auto& [name, m] : posterior_) {
      if (!t.contains(name)) {
        throw ValueError("Predictive: posterior samples are given for '" + name + "', which the model does not have");
      }
      const Site& s = t.site(name);
      if (s.value.size() != m.cols()) {
        throw ShapeError("Predictive: posterior samples of '" + name + "' have " + std::to_string(m.cols()) +
                         " columns, but a draw of the site is " + s.value.shape());
      }
      shapes[name] = {s.value.rows(), s.value.cols()};
    }
    return shapes;
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

}  // namespace vesta
