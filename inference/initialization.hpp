// Init strategies: where a latent site starts when an autoguide is built, as Pyro's
// init_to_median / init_to_mean / init_to_value. Each maps a model site (its distribution,
// given the values of the sites before it) to a constrained starting value; InitMessenger
// applies one to every latent site of a run.
#pragma once

#include <functional>
#include <string>
#include <unordered_map>

#include <vesta/core/messenger.hpp>

namespace vesta {

/// The constrained value a latent site starts at, drawing (if it must) from `rng`.
using InitStrategy = std::function<Matrix(const Site& site, Rng& rng)>;

/// The elementwise median of `num_samples` draws from the site's distribution (Pyro's
/// default): robust for heavy-tailed priors whose mean is far out or does not exist.
InitStrategy init_to_median(int num_samples = 15);
/// The distribution's mean; the median where the mean has no closed form or lies outside
/// the support.
InitStrategy init_to_mean();
/// One draw from the distribution.
InitStrategy init_to_sample();
/// The given value for the named sites, `fallback` for the others.
InitStrategy init_to_value(std::unordered_map<std::string, Matrix> values,
                           InitStrategy fallback = init_to_median());

/// Sets every latent (unobserved) sample site that has no value yet to `strategy`'s value,
/// checked against the site's shape and support. Sites whose log_prob is a folded-in term
/// (HiddenLayer) are left to draw as usual.
class InitMessenger : public Messenger {
 public:
  explicit InitMessenger(InitStrategy strategy) : strategy_(std::move(strategy)) {}
  void process(Site& site) override;

 private:
  InitStrategy strategy_;
};

}  // namespace vesta
