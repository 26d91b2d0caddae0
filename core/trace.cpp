#include <vesta/core/trace.hpp>

#include <fmt/format.h>

#include <vesta/core/ops.hpp>

namespace vesta {

namespace {

// A batch-shaped term of a site (log_prob, KL) that does not have the size its plates expect
// would be summed with the wrong weight: say which site, and what shapes.
void check_plate_sizes(const Site& site, const Tensor& term, const char* what) {
  for (const PlateFrame& f : site.frames) {
    const Index along = f.dim == PlateDim::rows ? term.rows() : term.cols();
    if (along != f.subsample_size) {
      throw ShapeError(fmt::format(
          "sample site '{}': {} has shape {} but plate '{}' needs {} along its {}", site.name, what,
          term.shape(), f.name, f.subsample_size, f.dim == PlateDim::rows ? "rows" : "columns"));
    }
  }
}

// The entries of `term` that the site's mask keeps, summed, times the site's scale.
Tensor mask_and_scale(const Site& site, const Tensor& term, const char* what) {
  if (!site.mask.empty() && (site.mask.rows() > term.rows() || site.mask.cols() > term.cols())) {
    // Broadcasting would count each entry several times.
    throw ShapeError(fmt::format(
        "sample site '{}': its mask is {} but its {} only {}; apply the mask inside the plates "
        "that give the site that shape",
        site.name, site.mask.shape(), what, term.shape()));
  }
  // where(), not a product: a masked-out entry may be -inf or NaN and must still count 0.
  const Tensor kept = site.mask.empty() ? term : where(site.mask, term, 0);
  const Tensor total = sum(kept);
  return site.scale == 1 ? total : total * site.scale;
}

}  // namespace

void Trace::add(const Site& site) {
  if (auto it = index_.find(site.name); it != index_.end()) {
    const Site& existing = sites_[it->second];
    if (site.kind == SiteKind::plate && existing.kind == SiteKind::plate) return;
    if (site.kind == SiteKind::param && existing.kind == SiteKind::param) return;
    throw ValueError(fmt::format(
        "{} site '{}' has the name of an earlier {} site in the same run; site names must be "
        "unique (in a loop, add the index to the name)",
        to_string(site.kind), site.name, to_string(existing.kind)));
  }
  index_.emplace(site.name, sites_.size());
  sites_.push_back(site);
  sites_.back().stop = false;
}

const Site& Trace::site(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) throw ValueError(fmt::format("the trace has no site '{}'", name));
  return sites_[it->second];
}

const Tensor& Trace::log_prob_of(const Site& site) const {
  if (!site.log_prob) {
    Tensor lp = site.dist->log_prob(site.value);
    check_plate_sizes(site, lp, "log_prob");
    site.log_prob = std::move(lp);
  }
  return *site.log_prob;
}

const Tensor& Trace::log_prob(const std::string& name) const {
  const Site& s = site(name);
  if (!s.is_sample()) throw ValueError(fmt::format("site '{}' is a {} site, not a sample site", name, to_string(s.kind)));
  return log_prob_of(s);
}

void Trace::compute_log_prob() const {
  for (const Site& s : sites_) {
    if (s.is_sample()) log_prob_of(s);
  }
}

Tensor Trace::scaled_log_prob_sum(const Site& site) const {
  // log_prob_of checked the plate sizes once, when it computed the log_prob.
  return mask_and_scale(site, log_prob_of(site), "log_prob");
}

Tensor masked_scaled_sum(const Site& site, const Tensor& term, const char* what) {
  check_plate_sizes(site, term, what);
  return mask_and_scale(site, term, what);
}

Tensor Trace::log_prob_sum(const std::function<bool(const Site&)>& keep) const {
  Tensor total(Scalar(0));
  bool first = true;
  for (const Site& s : sites_) {
    if (!s.is_sample() || (keep && !keep(s))) continue;
    const Tensor term = scaled_log_prob_sum(s);
    total = first ? term : total + term;
    first = false;
  }
  return total;
}

std::vector<std::string> Trace::stochastic_nodes() const {
  std::vector<std::string> out;
  for (const Site& s : sites_) {
    if (s.is_sample() && !s.observed) out.push_back(s.name);
  }
  return out;
}

std::vector<std::string> Trace::observation_nodes() const {
  std::vector<std::string> out;
  for (const Site& s : sites_) {
    if (s.is_sample() && s.observed) out.push_back(s.name);
  }
  return out;
}

std::string Trace::format() const {
  std::string out = fmt::format("{:<16} {:<13} {:<18} {:<9} {:<8} {:>8} {:>14}\n", "name", "kind",
                                "distribution", "shape", "observed", "scale", "log_prob");
  for (const Site& s : sites_) {
    std::string dist, lp, scale;
    std::string shape = s.value.empty() ? "" : s.value.shape();
    if (s.is_sample()) {
      dist = s.dist->describe();
      lp = fmt::format("{:.4f}", static_cast<double>(sum(log_prob_of(s)).item()));
      scale = fmt::format("{:g}", static_cast<double>(s.scale));
    } else if (s.kind == SiteKind::plate) {
      shape = fmt::format("{} of {}", s.subsample_size, s.plate_size);
    }
    out += fmt::format("{:<16} {:<13} {:<18} {:<9} {:<8} {:>8} {:>14}\n", s.name, to_string(s.kind),
                       dist, shape, s.is_sample() ? (s.observed ? "yes" : "no") : "", scale, lp);
  }
  return out;
}

}  // namespace vesta
