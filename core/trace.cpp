#include <vesta/core/trace.hpp>

#include <algorithm>
#include <functional>
#include <utility>

#include <fmt/format.h>

#include <vesta/core/ops.hpp>

namespace vesta {

namespace {

const char* dim_name(PlateDim d) { return d == PlateDim::rows ? "rows" : "columns"; }

// A per-datum term that does not have the size its plates expect would be summed with the
// wrong weight: say which site, and what shapes.
[[gnu::noinline]] void check_plate_sizes_of(const Site& site, const Tensor& term,
                                            const char* what) {
  if (site.is_global_term()) {
    if (term.rows() != 1 || term.cols() != 1) {
      throw ShapeError(
          fmt::format("sample site '{}': {} is {}, but a global term is one number (1x1)",
                      site.name, what, term.shape()));
    }
    return;
  }
  for (const PlateFrame& f : site.frames) {
    const Index along = f.dim == PlateDim::rows ? term.rows() : term.cols();
    if (along != f.subsample_size) {
      throw ShapeError(
          fmt::format("sample site '{}': {} has shape {} but plate '{}' needs {} along its {}",
                      site.name, what, term.shape(), f.name, f.subsample_size, dim_name(f.dim)));
    }
  }
}

inline void check_plate_sizes(const Site& site, const Tensor& term, const char* what) {
  // One number outside every plate (a scalar site's term) fits whatever the site is.
  if (site.frames.empty() && term.rows() == 1 && term.cols() == 1) return;
  check_plate_sizes_of(site, term, what);
}

// A value of 1 x C scored by a distribution of batch R x 1 (or the transpose) broadcasts to
// R x C: every entry of the value against every entry of the distribution, which is never
// what a model means (it is a column of data given as a row).
void check_no_outer_product(const Site& site) {
  const Distribution& d = *site.dist;
  // One number broadcasts against anything without an outer product.
  if (site.value.size() <= 1 || site.is_global_term() || d.log_prob_is_folded_term()) return;
  const Index br = d.batch_rows(), bc = d.batch_cols();
  const Index vr = d.event_dim() < 2 ? site.value.rows() : 1;
  const Index vc = d.event_dim() < 1 ? site.value.cols() : 1;
  if ((vr == 1 && br > 1 && bc == 1 && vc > 1) || (vc == 1 && bc > 1 && br == 1 && vr > 1)) {
    throw ShapeError(fmt::format(
        "sample site '{}': its value is {} but its distribution {} has batch shape {}: scoring one "
        "against the other would broadcast to {}, every value against every entry; give the value "
        "the distribution's shape (a row of data where a column was meant?)",
        site.name, site.value.shape(), d.describe(), shape_str(br, bc),
        shape_str(std::max(br, vr), std::max(bc, vc))));
  }
}

// The entries of `term` that the site's mask keeps, summed, times the site's term scale.
[[gnu::noinline]] Tensor mask_and_scale_of(const Site& site, const Tensor& term, const char* what) {
  if (!site.keep) return Tensor(Scalar(0));
  const Tensor& mask = site.extras().mask;
  const bool per_entry_mask = !mask.empty() && !site.is_global_term();
  if (per_entry_mask && (mask.rows() > term.rows() || mask.cols() > term.cols())) {
    // Broadcasting would count each entry several times.
    throw ShapeError(fmt::format(
        "sample site '{}': its mask is {} but its {} only {}; apply the mask inside the plates "
        "that give the site that shape",
        site.name, mask.shape(), what, term.shape()));
  }
  // No copy of a Tensor that is passed on unchanged: every site of every step comes here.
  const Scalar scale = term_scale(site);
  auto summed_and_scaled = [scale](const Tensor& t) {
    const Tensor total = t.rows() == 1 && t.cols() == 1 ? t : sum(t);
    return scale == 1 ? total : total * scale;
  };
  if (!per_entry_mask) {
    if (term.rows() == 1 && term.cols() == 1 && scale == 1) return term;
    return summed_and_scaled(term);
  }
  // where(), not a product: a masked-out entry may be -inf or NaN and must still count 0.
  return summed_and_scaled(where(mask, term, 0));
}

inline Tensor mask_and_scale(const Site& site, const Tensor& term, const char* what) {
  // A scalar site outside plates, masks and scale handlers (every site of a model of many
  // scalar sites): its term as it is.
  if (site.keep && site.scale == 1 && site.frames.empty() && !site.has_extras() &&
      term.rows() == 1 && term.cols() == 1) {
    return term;
  }
  return mask_and_scale_of(site, term, what);
}

// Copies `site` over `slot`, the earlier run's site in its place (usually of the same name): the
// implicit copy assignment, member by member, except that members both leave empty are not
// touched, nor a name both have, nor the param request, which a record does not keep (add()):
// a record's is null.
// Most sites have no plates and no extras, and a step records every site: this copy is a visible
// part of a site's cost.
void record_over(Site& slot, const Site& site, bool same_name) {
#if defined(__GLIBCXX__) && defined(__x86_64__)
  static_assert(sizeof(Site) == 176,
                "Site has a new member: copy it here too, then update the size checked here");
#endif
  slot.kind = site.kind;
  slot.observed = site.observed;
  slot.auxiliary = site.auxiliary;
  slot.keep = site.keep;
  slot.stop = false;  // a record is not stopped: block stops the message, not the record
  slot.enumerate = site.enumerate;
  slot.enumerated = site.enumerated;
  slot.fn = site.fn;
  if (!same_name) slot.name = site.name;
  slot.dist = site.dist;
  slot.value = site.value;
  slot.scale = site.scale;
  slot.log_prob = site.log_prob;
  if (!slot.frames.empty() || !site.frames.empty()) slot.frames = site.frames;
  slot.copy_extras(site);  // nothing to do when neither has extras
}

// The name at a position of `sites`, as the name index asks for it.
auto names_of(const std::vector<Site>& sites) {
  return [&sites](std::size_t i) -> const std::string& { return sites[i].name; };
}

}  // namespace

Scalar term_scale(const Site& site) {
  Scalar scale = site.scale;
  if (site.frames.empty() || site.is_global_term()) return scale;
  for (const PlateFrame& f : site.frames) {
    if (f.subsample_size != f.size) scale *= Scalar(f.size) / Scalar(f.subsample_size);
  }
  return scale;
}

Trace::Trace(const Trace& other)
    : program_(other.program_),
      sites_(other.sites_.begin(), other.sites_.begin() + std::ptrdiff_t(other.size_)),
      size_(other.size_),
      held_(other.size_) {
  reindex(size_);
}

Trace& Trace::operator=(const Trace& other) {
  if (this != &other) *this = Trace(other);
  return *this;
}

Trace::Trace(Trace&& other) noexcept
    : program_(std::move(other.program_)),
      sites_(std::move(other.sites_)),
      size_(std::exchange(other.size_, 0)),
      held_(std::exchange(other.held_, 0)),
      index_(std::move(other.index_)),
      indexed_(std::exchange(other.indexed_, 0)) {
  other.sites_.clear();
  other.index_.clear();
}

Trace& Trace::operator=(Trace&& other) noexcept {
  if (this != &other) {
    program_ = std::move(other.program_);
    sites_ = std::move(other.sites_);
    size_ = std::exchange(other.size_, 0);
    held_ = std::exchange(other.held_, 0);
    index_ = std::move(other.index_);
    indexed_ = std::exchange(other.indexed_, 0);
    other.sites_.clear();
    other.index_.clear();
  }
  return *this;
}

[[gnu::noinline]] bool Trace::index_new_name(const Site& site, std::size_t at) {
  const auto name_at = names_of(sites_);
  const std::size_t hash = detail::NameIndex::hash(site.name);
  const std::ptrdiff_t found = index_.find(site.name, hash, name_at);
  if (found >= 0 && std::size_t(found) < at) {
    const Site& existing = sites_[static_cast<std::size_t>(found)];
    if (site.kind == SiteKind::plate && existing.kind == SiteKind::plate) return false;
    if (site.kind == SiteKind::param && existing.kind == SiteKind::param) return false;
    throw ValueError(fmt::format(
        "{} site '{}' has the name of an earlier {} site in the same run; site names must be "
        "unique (in a loop, add the index to the name)",
        to_string(site.kind), site.name, to_string(existing.kind)));
  }
  // This run differs from the earlier one from here on: the index forgets the earlier run's
  // names after this slot, and learns this one.
  if (indexed_ > at) reindex(at);
  index_.insert(site.name, hash, at, at + 1, name_at);
  indexed_ = at + 1;
  return true;
}

void Trace::add(const Site& site) {
  const std::size_t at = size_;
  // A program usually makes the same sites in the same order at every run: the slot this site
  // goes to then holds the earlier run's site of the same name, whose name the index already
  // knows and no earlier slot has (the index's names are unique). No lookup is needed.
  const bool same_slot = at < indexed_ && detail::same_name(sites_[at].name, site.name);
  if (!same_slot && !index_new_name(site, at)) return;
  if (at < sites_.size()) {
    record_over(sites_[at], site, same_slot);
  } else {
    Site& slot = sites_.emplace_back(site);
    slot.stop = false;
    slot.param = nullptr;  // it points into the param primitive's frame
  }
  size_ = at + 1;
  if (size_ > held_) held_ = size_;
}

void Trace::clear(std::string program) {
  program_ = std::move(program);
  size_ = 0;
}

void Trace::reindex(std::size_t n) {
  index_.clear();
  const auto name_at = names_of(sites_);
  for (std::size_t i = 0; i < n; ++i) {
    const std::string& name = sites_[i].name;
    index_.insert(name, detail::NameIndex::hash(name), i, i + 1, name_at);
  }
  indexed_ = n;
}

void Trace::drop_unused() {
  for (std::size_t i = size_; i < held_; ++i) {
    sites_[i] = Site{};
  }
  held_ = size_;
  if (indexed_ > size_) reindex(size_);
}

const Site* Trace::find(const std::string& name) const {
  // Lookups (replay, the ELBO's checks) mostly walk a trace in its own order, a few sites at
  // a time (a guide's param sites lie between its samples): look a few places past the last
  // site found before hashing.
  const std::size_t last = last_found_.at.load(std::memory_order_relaxed);
  const std::size_t end = std::min(size_, last + 4);
  for (std::size_t i = last + 1; i < end; ++i) {
    if (detail::same_name(sites_[i].name, name)) {
      last_found_.at.store(i, std::memory_order_relaxed);
      return &sites_[i];
    }
  }
  const std::ptrdiff_t at = index_.find(name, names_of(sites_));
  // The index may still know names of an earlier run's sites past this run's (see add()).
  if (at < 0 || std::size_t(at) >= size_) return nullptr;
  last_found_.at.store(static_cast<std::size_t>(at), std::memory_order_relaxed);
  return &sites_[static_cast<std::size_t>(at)];
}

const Site& Trace::site(const std::string& name) const {
  const Site* s = find(name);
  if (s == nullptr) throw ValueError(fmt::format("the trace has no site '{}'", name));
  return *s;
}

const Tensor& Trace::log_prob(const Site& site) const {
  if (!site.is_sample()) {
    throw ValueError(
        fmt::format("site '{}' is a {} site, not a sample site", site.name, to_string(site.kind)));
  }
  if (site.log_prob.empty()) {
    try {
      check_no_outer_product(site);
      Tensor lp = site.dist->log_prob(site.value);
      check_plate_sizes(site, lp, "log_prob");
      site.log_prob = std::move(lp);
    } catch (const ArgumentError& e) {
      rethrow_with_context(site_context(site, this, &e.argument()));
    } catch (const Error&) {
      rethrow_with_context(site_context(site, this));
    }
  }
  return site.log_prob;
}

const Tensor& Trace::log_prob(const std::string& name) const { return log_prob(site(name)); }

void Trace::compute_log_prob() const {
  for (const Site& s : sites()) {
    if (s.is_sample()) log_prob(s);
  }
}

Tensor Trace::scaled_log_prob_sum(const Site& site) const {
  // log_prob checked the plate sizes once, when it computed the log_prob.
  return mask_and_scale(site, log_prob(site), "log_prob");
}

Tensor masked_scaled_sum(const Site& site, const Tensor& term, const char* what) {
  check_plate_sizes(site, term, what);
  return mask_and_scale(site, term, what);
}

Tensor Trace::log_prob_sum(const std::function<bool(const Site&)>& keep) const {
  std::vector<Tensor> terms;
  for (const Site& s : sites()) {
    if (s.is_sample() && (!keep || keep(s))) terms.push_back(scaled_log_prob_sum(s));
  }
  return sum_of(terms);
}

std::vector<std::string> Trace::stochastic_nodes() const {
  std::vector<std::string> out;
  for (const Site& s : sites()) {
    if (s.is_sample() && !s.observed) out.push_back(s.name);
  }
  return out;
}

std::vector<std::string> Trace::observation_nodes() const {
  std::vector<std::string> out;
  for (const Site& s : sites()) {
    if (s.is_sample() && s.observed) out.push_back(s.name);
  }
  return out;
}

std::string Trace::format() const {
  std::string out = fmt::format("{:<16} {:<13} {:<18} {:<9} {:<8} {:>8} {:>14}\n", "name", "kind",
                                "distribution", "shape", "observed", "scale", "log_prob");
  for (const Site& s : sites()) {
    std::string dist, lp, scale;
    std::string shape = s.value.empty() ? "" : s.value.shape();
    if (s.is_sample()) {
      dist = s.dist->describe();
      lp = fmt::format("{:.4f}", static_cast<double>(sum(log_prob(s)).item()));
      scale = fmt::format("{:g}", static_cast<double>(term_scale(s)));
    } else if (s.kind == SiteKind::plate) {
      shape = fmt::format("{} of {}", s.extras().subsample_size, s.extras().plate_size);
    }
    out += fmt::format("{:<16} {:<13} {:<18} {:<9} {:<8} {:>8} {:>14}\n", s.name, to_string(s.kind),
                       dist, shape, s.is_sample() ? (s.observed ? "yes" : "no") : "", scale, lp);
  }
  return out;
}

std::string site_context(const Site& site, const Trace* trace, const Tensor* argument) {
  std::string out = trace != nullptr && !trace->program().empty()
                        ? fmt::format("{} site '{}'", trace->program(), site.name)
                        : site.describe();
  if (argument != nullptr && trace != nullptr) {
    for (const Site& s : trace->sites()) {
      if (s.kind == SiteKind::param && s.value.same_as(*argument)) {
        out += fmt::format(" (param '{}')", s.name);
        break;
      }
    }
  }
  return out;
}

}  // namespace vesta
