#include <vesta/inference/autoguide.hpp>

#include <cmath>

#include <fmt/format.h>
#include <boost/math/special_functions/erf.hpp>

#include <vesta/core/ops.hpp>
#include <vesta/core/param_store.hpp>
#include <vesta/core/primitives.hpp>
#include <vesta/distributions/delta.hpp>
#include <vesta/distributions/multivariate_normal.hpp>
#include <vesta/distributions/normal.hpp>
#include <vesta/distributions/transformed.hpp>

namespace vesta {

namespace {

bool is_real(const Constraint& c) { return c.name() == "real"; }

// Rows 0..n-1 of `m` repeated to `rows` rows (Pyro's periodic_repeat): a subsampled plate's
// prototype values spread over the whole plate.
Matrix repeat_rows(const Matrix& m, Index rows) {
  Matrix out(rows, m.cols());
  for (Index i = 0; i < rows; ++i) out.row(i) = m.row(i % m.rows());
  return out;
}

}  // namespace

const PlateFrame* LatentSite::subsampled_rows() const {
  for (const PlateFrame& f : frames) {
    if (f.dim == PlateDim::rows && f.subsample_size < f.size) return &f;
  }
  return nullptr;
}

AutoGuide::AutoGuide(std::string family, AutoGuideOptions options)
    : family_(std::move(family)), options_(std::move(options)) {
  if (options_.prefix.empty()) options_.prefix = family_;
  if (!options_.init) throw ValueError(family_ + ": the init strategy is empty");
  if (!(options_.init_scale > 0)) {
    throw ValueError(
        fmt::format("{}: init_scale is {}, but must be positive", family_, options_.init_scale));
  }
}

const std::vector<LatentSite>& AutoGuide::latents() const {
  if (!ready_) {
    throw ValueError(
        family_ +
        ": the guide has not run yet, so it knows no sites; call it (or SVI::step) first");
  }
  return latents_;
}

void AutoGuide::setup(const std::function<void()>& run_model) {
  Trace prototype;
  {
    BlockMessenger hide;  // outermost: no site of this run reaches the caller's handlers
    TraceMessenger tr;
    InitMessenger init(options_.init);
    run_model();
    prototype = tr.take_trace();
  }
  std::vector<LatentSite> table;
  for (const Site& site : prototype.sites()) {
    // An enumerated site is summed out by TraceEnum_ELBO, not fitted by the guide.
    if (!site.is_sample() || site.observed || site.enumerate ||
        site.dist->log_prob_is_folded_term())
      continue;
    LatentSite s;
    s.name = site.name;
    s.support = site.dist->support();
    if (!s.support->is_continuous()) {
      throw ValueError(fmt::format(
          "{}: latent site '{}' ({}) has discrete support {}; autoguides fit continuous latents "
          "only — write a guide for it by hand",
          family_, site.name, site.dist->describe(), s.support->name()));
    }
    s.event_dim = site.dist->event_dim();
    s.rows = site.value.rows();
    s.cols = site.value.cols();
    s.frames = site.frames;
    for (const PlateFrame& f : s.frames) {
      if (f.dim == PlateDim::cols && f.subsample_size < f.size) {
        throw ValueError(fmt::format(
            "{}: latent site '{}' is in plate '{}' over columns, subsampled; autoguides subsample "
            "plates over rows only",
            family_, site.name, f.name));
      }
    }
    const Matrix value = site.value.matrix();
    const Matrix u = s.support->inverse(value);
    if (!u.allFinite()) {
      throw ValueError(
          fmt::format("{}: the initial value of site '{}' is on the edge of its support {}",
                      family_, site.name, s.support->name()));
    }
    const PlateFrame* sub = s.subsampled_rows();
    s.urows = sub != nullptr ? sub->size : s.rows;
    s.ucols = u.cols();
    s.init = sub != nullptr ? repeat_rows(value, s.urows) : value;
    s.init_unconstrained = sub != nullptr ? repeat_rows(u, s.urows) : u;
    check_site(s);
    table.push_back(std::move(s));
  }
  latents_ = std::move(table);
  ready_ = true;
}

void AutoGuide::check_site(const LatentSite&) const {}

Matrix AutoGuide::param_value(const std::string& name) {
  const ParamStore::Entry& e = param_store().entry(name);
  return e.constraint->transform(Tensor(e.unconstrained.matrix())).matrix();
}

Scalar AutoGuide::normal_quantile(Scalar q) {
  if (!(q > 0 && q < 1))
    throw ValueError(fmt::format("quantiles: q is {}, but must be in (0, 1)", q));
  return Scalar(std::sqrt(2.0) * boost::math::erf_inv(2.0 * double(q) - 1.0));
}

AutoGuide::PlateScope::PlateScope(const LatentSite& site,
                                  std::map<std::string, std::vector<Index>>& chosen) {
  for (auto it = site.frames.rbegin(); it != site.frames.rend(); ++it) {
    const PlateFrame& f = *it;
    if (f.subsample_size == f.size) {
      plates_.push_back(std::make_unique<Plate>(f.name, f.size, std::nullopt, f.dim));
      continue;
    }
    if (auto found = chosen.find(f.name); found != chosen.end()) {
      plates_.push_back(std::make_unique<Plate>(f.name, f.size, found->second, f.dim));
    } else {
      plates_.push_back(std::make_unique<Plate>(f.name, f.size, f.subsample_size, f.dim));
      chosen[f.name] = plates_.back()->indices();
    }
    if (f.dim == PlateDim::rows) row_indices_ = plates_.back()->indices();
  }
}

AutoGuide::PlateScope::~PlateScope() {
  while (!plates_.empty()) plates_.pop_back();  // innermost first
}

// --- AutoNormal ---------------------------------------------------------------------------

namespace detail {

void AutoNormalGuide::draw() {
  std::map<std::string, std::vector<Index>> chosen;
  for (const LatentSite& s : latents_) {
    PlateScope plates(s, chosen);
    Tensor loc = param(
        loc_name(s), [&] { return s.init_unconstrained; }, constraints::real());
    Tensor scale = param(
        scale_name(s), [&] { return Matrix::Constant(s.urows, s.ucols, options_.init_scale); },
        constraints::positive());
    if (!plates.row_indices().empty()) {
      loc = gather_rows(loc, plates.row_indices());
      scale = gather_rows(scale, plates.row_indices());
    }
    DistributionPtr q = std::make_shared<Normal>(loc, scale);
    if (s.event_dim > 0) q = q->to_event(s.event_dim);
    if (!is_real(*s.support)) q = std::make_shared<TransformedDistribution>(q, s.support);
    sample(s.name, q);
  }
}

SiteValues AutoNormalGuide::median() const {
  SiteValues out;
  for (const LatentSite& s : latents()) {
    out[s.name] = s.support->transform(Tensor(param_value(loc_name(s)))).matrix();
  }
  return out;
}

SiteValues AutoNormalGuide::quantiles(Scalar q) const {
  const Scalar z = normal_quantile(q);
  SiteValues out;
  for (const LatentSite& s : latents()) {
    const Matrix u = param_value(loc_name(s)) + z * param_value(scale_name(s));
    out[s.name] = s.support->transform(Tensor(u)).matrix();
  }
  return out;
}

// --- AutoDelta ----------------------------------------------------------------------------

void AutoDeltaGuide::draw() {
  std::map<std::string, std::vector<Index>> chosen;
  for (const LatentSite& s : latents_) {
    PlateScope plates(s, chosen);
    Tensor value = param(
        value_name(s), [&] { return s.init; }, s.support);
    if (!plates.row_indices().empty()) value = gather_rows(value, plates.row_indices());
    sample(s.name, std::make_shared<Delta>(value, Scalar(0), s.event_dim));
  }
}

SiteValues AutoDeltaGuide::median() const {
  SiteValues out;
  for (const LatentSite& s : latents()) out[s.name] = param_value(value_name(s));
  return out;
}

SiteValues AutoDeltaGuide::quantiles(Scalar q) const {
  normal_quantile(q);  // checks q
  return median();
}

// --- AutoDiagonalNormal, AutoMultivariateNormal --------------------------------------------

void AutoContinuousGuide::check_site(const LatentSite& s) const {
  if (const PlateFrame* f = s.subsampled_rows()) {
    throw ValueError(fmt::format(
        "{}: latent site '{}' is in plate '{}', which sees {} of {} entries; a joint guide cannot "
        "fit a minibatch's local latents — use AutoNormal, or no subsampling",
        family_, s.name, f->name, f->subsample_size, f->size));
  }
}

Index AutoContinuousGuide::dimension() const {
  Index d = 0;
  for (const LatentSite& s : latents()) d += s.urows * s.ucols;
  return d;
}

Matrix AutoContinuousGuide::packed_init() const {
  Matrix packed(1, dimension());
  Index off = 0;
  for (const LatentSite& s : latents_) {
    // Column-major, as reshape reads it back.
    const Index n = s.init_unconstrained.size();
    packed.block(0, off, 1, n) = Eigen::Map<const Matrix>(s.init_unconstrained.data(), 1, n);
    off += n;
  }
  return packed;
}

void AutoContinuousGuide::draw() {
  if (latents_.empty()) return;
  const Tensor u = sample_auxiliary(prefix() + "._latent", joint());
  std::map<std::string, std::vector<Index>> chosen;
  Index off = 0;
  for (const LatentSite& s : latents_) {
    PlateScope plates(s, chosen);
    const Index n = s.urows * s.ucols;
    const Tensor x = reshape(slice_cols(u, off, n), s.urows, s.ucols);
    off += n;
    if (is_real(*s.support)) {
      sample(s.name, std::make_shared<Delta>(x, Scalar(0), s.event_dim));
      continue;
    }
    // The joint density is scored at the auxiliary site; each value carries the Jacobian of
    // its own push-forward.
    const Tensor log_density =
        -sum_event_dims(s.support->log_abs_det_jacobian(x), s.support->event_dim(), s.event_dim);
    sample(s.name, std::make_shared<Delta>(s.support->transform(x), log_density, s.event_dim));
  }
}

SiteValues AutoContinuousGuide::unpack(const Matrix& packed) const {
  if (packed.rows() != 1 || packed.cols() != dimension()) {
    throw ShapeError(fmt::format("{}: unpack needs a 1x{} vector, not {}", family_, dimension(),
                                 shape_str(packed.rows(), packed.cols())));
  }
  SiteValues out;
  Index off = 0;
  for (const LatentSite& s : latents()) {
    const Index n = s.urows * s.ucols;
    const Matrix x = Eigen::Map<const Matrix>(packed.data() + off, s.urows, s.ucols);
    off += n;
    out[s.name] = s.support->transform(Tensor(x)).matrix();
  }
  return out;
}

SiteValues AutoContinuousGuide::median() const { return unpack(loc()); }

SiteValues AutoContinuousGuide::quantiles(Scalar q) const {
  const Scalar z = normal_quantile(q);
  return unpack(loc() + z * marginal_scale());
}

DistributionPtr AutoDiagonalNormalGuide::joint() const {
  const Index d = dimension();
  const Tensor loc = param(
      prefix() + ".loc", [&] { return packed_init(); }, constraints::real());
  const Tensor scale = param(
      prefix() + ".scale", [&] { return Matrix::Constant(1, d, options_.init_scale); },
      constraints::positive());
  return Normal(loc, scale).to_event(1);
}

DistributionPtr AutoMultivariateNormalGuide::joint() const {
  const Index d = dimension();
  const Tensor loc = param(
      prefix() + ".loc", [&] { return packed_init(); }, constraints::real());
  const Tensor scale_tril = param(
      prefix() + ".scale_tril",
      [&] { return Matrix(options_.init_scale * Matrix::Identity(d, d)); },
      constraints::lower_cholesky());
  return std::make_shared<MultivariateNormal>(MultivariateNormal::from_scale_tril(loc, scale_tril));
}

Matrix AutoMultivariateNormalGuide::marginal_scale() const {
  return scale_tril().rowwise().norm().transpose();
}

Matrix AutoMultivariateNormalGuide::covariance() const {
  const Matrix l = scale_tril();
  return l * l.transpose();
}

}  // namespace detail

}  // namespace vesta
