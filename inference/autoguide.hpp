// Autoguides: variational families built from a trace of the model, as Pyro's
// AutoNormal, AutoDiagonalNormal, AutoMultivariateNormal and AutoDelta.
//
// On its first call a guide runs the model once (hidden from every other handler, each latent
// set by the init strategy) and reads off its latent sites: name, shape, support, plates.
// Each latent is fitted in unconstrained space and pushed into its support by the
// constraint's bijection, log-det-Jacobian included, so a positive scale or a simplex of
// probabilities is as easy to fit as a real. Discrete latents are an error naming the site.
//
//   AutoNormal guide(model);            // a Normal per latent entry, "AutoNormal.locs.z", ...
//   SVI svi(model, guide, adam);
//   ... svi.step(data) ...
//   guide.median()["z"];  guide.quantiles(0.05)["z"];
//
// Copies of a guide share one state, so the guide held by SVI and the one the caller keeps
// are the same guide.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <vesta/core/handlers/block.hpp>
#include <vesta/core/handlers/trace.hpp>
#include <vesta/core/plate.hpp>
#include <vesta/inference/initialization.hpp>

namespace vesta {

/// Options shared by the autoguides.
struct AutoGuideOptions {
  /// Prefix of the guide's parameter names; empty: the guide's class name.
  std::string prefix = {};
  /// Where each latent starts (its constrained value).
  InitStrategy init = init_to_median();
  /// Starting standard deviation in unconstrained space (not used by AutoDelta).
  Scalar init_scale = Scalar(0.1);
};

/// One latent site of the model, as an autoguide sees it.
struct LatentSite {
  std::string name;       ///< The site's name.
  ConstraintPtr support;  ///< The support of the model's distribution.
  int event_dim = 0;      ///< of the model's distribution
  /// A draw's shape in the prototype run.
  /// @{
  Index rows = 0, cols = 0;
  /// @}
  /// The fitted (unconstrained) shape: all of a subsampled plate's rows.
  /// @{
  Index urows = 0, ucols = 0;
  /// @}
  std::vector<PlateFrame> frames;  ///< enclosing plates, innermost first
  Matrix init;                     ///< constrained starting value, urows x constrained cols
  Matrix init_unconstrained;       ///< urows x ucols
  /// The plate over rows that this site sees a subsample of, if any.
  const PlateFrame* subsampled_rows() const;
};

/// Per latent site, a constrained value (the full plate size along a subsampled plate).
using SiteValues = std::map<std::string, Matrix>;

/// What every autoguide shares: the prototype, the site table, running the guide inside the
/// model's plates. The families below fill in params and draws.
class AutoGuide {
 public:
  /// `family` names the guide ("AutoNormal"); `options` as given to the guide.
  explicit AutoGuide(std::string family, AutoGuideOptions options);
  virtual ~AutoGuide() = default;

  /// The prefix of the guide's parameter names.
  const std::string& prefix() const { return options_.prefix; }
  /// Whether the site table has been built (after the first call).
  bool ready() const { return ready_; }
  /// The latent sites, in the model's order (after the first call).
  const std::vector<LatentSite>& latents() const;

  /// Runs `run_model` (the model with its arguments) once under the init strategy, hidden
  /// from every other handler, and builds the site table from its trace.
  void setup(const std::function<void()>& run_model);
  /// The guide's body: one sample site per latent, inside its plates.
  virtual void draw() = 0;

  /// The posterior median of each latent (constrained).
  virtual SiteValues median() const = 0;
  /// The q-quantile of each latent's marginal (constrained; 0 < q < 1).
  virtual SiteValues quantiles(Scalar q) const = 0;

 protected:
  /// Checks the table for what a family cannot fit; throws naming the site.
  virtual void check_site(const LatentSite& site) const;
  /// The full (all entries) value of parameter `name`, constrained.
  static Matrix param_value(const std::string& name);
  /// The standard-Normal quantile of q, checking 0 < q < 1.
  static Scalar normal_quantile(Scalar q);

  /// Opens the site's plates (outermost first), reusing within one draw() the subsample that
  /// a plate chose the first time, so every site of a plate sees the same entries.
  class PlateScope {
   public:
    /// Opens the plates of `site`, reusing the subsamples in `chosen`.
    PlateScope(const LatentSite& site, std::map<std::string, std::vector<Index>>& chosen);
    ~PlateScope();
    PlateScope(const PlateScope&) = delete;
    PlateScope& operator=(const PlateScope&) = delete;
    /// The subsample indices of the site's plate over rows (empty when it has none).
    const std::vector<Index>& row_indices() const { return row_indices_; }

   private:
    std::vector<std::unique_ptr<Plate>> plates_;
    std::vector<Index> row_indices_;
  };

  std::string family_;               ///< The family's name.
  AutoGuideOptions options_;         ///< The options given.
  std::vector<LatentSite> latents_;  ///< The latent sites.
  bool ready_ = false;               ///< Whether the site table is built.
};

namespace detail {

class AutoNormalGuide final : public AutoGuide {
 public:
  explicit AutoNormalGuide(AutoGuideOptions options)
      : AutoGuide("AutoNormal", std::move(options)) {}
  void draw() override;
  SiteValues median() const override;
  SiteValues quantiles(Scalar q) const override;
  std::string loc_name(const LatentSite& s) const { return prefix() + ".locs." + s.name; }
  std::string scale_name(const LatentSite& s) const { return prefix() + ".scales." + s.name; }
};

class AutoDeltaGuide final : public AutoGuide {
 public:
  explicit AutoDeltaGuide(AutoGuideOptions options) : AutoGuide("AutoDelta", std::move(options)) {}
  void draw() override;
  SiteValues median() const override;
  SiteValues quantiles(Scalar q) const override;
  std::string value_name(const LatentSite& s) const { return prefix() + "." + s.name; }
};

/// AutoDiagonalNormal and AutoMultivariateNormal: every latent packed into one row vector of
/// dimension D, drawn jointly as an auxiliary site; each model site is then a Delta at its
/// slice pushed into its support, carrying minus the log-Jacobian as its log-density.
class AutoContinuousGuide : public AutoGuide {
 public:
  using AutoGuide::AutoGuide;
  void draw() override;
  SiteValues median() const override;
  SiteValues quantiles(Scalar q) const override;
  /// Total unconstrained dimension D.
  Index dimension() const;
  /// The posterior mean of the packed unconstrained latent (1 x D).
  Matrix loc() const { return param_value(prefix() + ".loc"); }
  /// The marginal standard deviations of the packed latent (1 x D).
  virtual Matrix marginal_scale() const = 0;
  /// A packed 1 x D unconstrained vector, split into constrained values per site.
  SiteValues unpack(const Matrix& packed) const;

 protected:
  void check_site(const LatentSite& site) const override;
  /// The joint distribution of the packed latent, from the params (created on first use).
  virtual DistributionPtr joint() const = 0;
  Matrix packed_init() const;
};

class AutoDiagonalNormalGuide final : public AutoContinuousGuide {
 public:
  explicit AutoDiagonalNormalGuide(AutoGuideOptions options)
      : AutoContinuousGuide("AutoDiagonalNormal", std::move(options)) {}
  Matrix marginal_scale() const override { return param_value(prefix() + ".scale"); }

 protected:
  DistributionPtr joint() const override;
};

class AutoMultivariateNormalGuide final : public AutoContinuousGuide {
 public:
  explicit AutoMultivariateNormalGuide(AutoGuideOptions options)
      : AutoContinuousGuide("AutoMultivariateNormal", std::move(options)) {}
  Matrix marginal_scale() const override;
  /// The lower-triangular scale of the packed latent (D x D) and its covariance L L^T.
  Matrix scale_tril() const { return param_value(prefix() + ".scale_tril"); }
  Matrix covariance() const;

 protected:
  DistributionPtr joint() const override;
};

}  // namespace detail

/// The callable guide: holds the model (to build the prototype from on the first call) and
/// the shared state of family `Impl`.
template <class Model, class Impl>
class AutoGuideHandle {
 public:
  /// A guide for `model`, with `options`; the site table is built on the first call.
  explicit AutoGuideHandle(Model model, AutoGuideOptions options = {})
      : model_(std::move(model)), impl_(std::make_shared<Impl>(std::move(options))) {}

  /// The guide: call it with the model's arguments.
  template <class... Args>
  void operator()(const Args&... args) const {
    if (!impl_->ready()) impl_->setup([&] { model_(args...); });
    impl_->draw();
  }

  /// The posterior median of each latent (constrained).
  SiteValues median() const { return impl_->median(); }
  /// The q-quantile of each latent's marginal (constrained; 0 < q < 1).
  SiteValues quantiles(Scalar q) const { return impl_->quantiles(q); }
  /// The latent sites, in the model's order (after the first call).
  const std::vector<LatentSite>& latents() const { return impl_->latents(); }
  /// The prefix of the guide's parameter names.
  const std::string& prefix() const { return impl_->prefix(); }
  /// The family's own accessors (loc(), covariance(), ...).
  Impl& state() const { return *impl_; }

 private:
  Model model_;
  std::shared_ptr<Impl> impl_;
};

/// A Normal for every latent entry, in unconstrained space: params "AutoNormal.locs.<site>" and
/// "AutoNormal.scales.<site>". Latents inside a plate over rows may be subsampled: the params
/// cover every entry of the plate and each step fits the entries its minibatch sees.
template <class Model>
class AutoNormal : public AutoGuideHandle<Model, detail::AutoNormalGuide> {
 public:
  using AutoGuideHandle<Model, detail::AutoNormalGuide>::AutoGuideHandle;
};

/// A point estimate of every latent (MAP): params "AutoDelta.<site>", constrained to the
/// site's support. median() and quantiles() are the point.
template <class Model>
class AutoDelta : public AutoGuideHandle<Model, detail::AutoDeltaGuide> {
 public:
  using AutoGuideHandle<Model, detail::AutoDeltaGuide>::AutoGuideHandle;
};

/// A diagonal Normal over the packed unconstrained latents: params "AutoDiagonalNormal.loc"
/// and "AutoDiagonalNormal.scale" (1 x D).
template <class Model>
class AutoDiagonalNormal : public AutoGuideHandle<Model, detail::AutoDiagonalNormalGuide> {
 public:
  using AutoGuideHandle<Model, detail::AutoDiagonalNormalGuide>::AutoGuideHandle;
};

/// A full-covariance Normal over the packed unconstrained latents: params
/// "AutoMultivariateNormal.loc" (1 x D) and "AutoMultivariateNormal.scale_tril" (D x D).
template <class Model>
class AutoMultivariateNormal : public AutoGuideHandle<Model, detail::AutoMultivariateNormalGuide> {
 public:
  using AutoGuideHandle<Model, detail::AutoMultivariateNormalGuide>::AutoGuideHandle;
};

template <class Model>
AutoNormal(Model) -> AutoNormal<Model>;
template <class Model>
AutoNormal(Model, AutoGuideOptions) -> AutoNormal<Model>;
template <class Model>
AutoDelta(Model) -> AutoDelta<Model>;
template <class Model>
AutoDelta(Model, AutoGuideOptions) -> AutoDelta<Model>;
template <class Model>
AutoDiagonalNormal(Model) -> AutoDiagonalNormal<Model>;
template <class Model>
AutoDiagonalNormal(Model, AutoGuideOptions) -> AutoDiagonalNormal<Model>;
template <class Model>
AutoMultivariateNormal(Model) -> AutoMultivariateNormal<Model>;
template <class Model>
AutoMultivariateNormal(Model, AutoGuideOptions) -> AutoMultivariateNormal<Model>;

}  // namespace vesta
