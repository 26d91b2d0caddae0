// Init strategies: where a latent site starts when an autoguide is built, as Pyro's
// init_to_median / init_to_mean / init_to_value. Each maps a model site (its distribution,
// given the values of the sites before it) to a constrained starting value; InitMessenger
// applies one to every latent site of a run.
#pragma once

#include <functional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include <vesta/core/handlers/names.hpp>
#include <vesta/core/messenger.hpp>

namespace vesta {

/// The constrained value a latent site starts at, drawing (if it must) from `rng`: any
/// callable `Matrix(const Site&, Rng&)`, plus the names of the sites it was given values for
/// (init_to_value's), which the model must have.
class InitStrategy {
 public:
  /// What a strategy computes: a constrained value for a site.
  using Fn = std::function<Matrix(const Site& site, Rng& rng)>;
  InitStrategy() = default;
  /// A strategy from `fn`; `named_sites` are the sites it gives a value by name.
  template <class F>
  requires std::is_invocable_r_v<Matrix, F&, const Site&, Rng&> InitStrategy(
      F fn, std::vector<std::string> named_sites = {})  // NOLINT(google-explicit-constructor)
      : fn_(std::move(fn)), named_sites_(std::move(named_sites)) {}

  /// The starting value of `site`.
  Matrix operator()(const Site& site, Rng& rng) const { return fn_(site, rng); }
  /// Whether a strategy was given.
  explicit operator bool() const { return static_cast<bool>(fn_); }
  /// The sites given a value by name: each must be a latent site of the model.
  const std::vector<std::string>& named_sites() const { return named_sites_; }

 private:
  Fn fn_;
  std::vector<std::string> named_sites_;
};

/// The elementwise median of `num_samples` draws from the site's distribution (Pyro's
/// default): robust for heavy-tailed priors whose mean is far out or does not exist.
InitStrategy init_to_median(int num_samples = 15);
/// The distribution's mean; the median where the mean has no closed form or lies outside
/// the support.
InitStrategy init_to_mean();
/// One draw from the distribution.
InitStrategy init_to_sample();
/// The given value for the named sites, `fallback` for the others. A name that is not a
/// latent site of the model is an error when the run that uses the strategy ends.
InitStrategy init_to_value(std::unordered_map<std::string, Matrix> values,
                           InitStrategy fallback = init_to_median());

/// Sets every latent (unobserved) sample site that has no value yet to `strategy`'s value,
/// checked against the site's shape and support. Sites whose log_prob is a folded-in term
/// (HiddenLayer) are left to draw as usual. A site the strategy names that the run did not
/// have is an error when the handler's scope ends.
class InitMessenger : public Messenger {
 public:
  /// Starts the latents inside it as `strategy` says.
  explicit InitMessenger(InitStrategy strategy);
  ~InitMessenger() noexcept(false) override;
  void process(Site& site) override;

 private:
  InitStrategy strategy_;
  detail::GivenNames names_;
};

}  // namespace vesta
