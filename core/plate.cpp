#include <vesta/core/plate.hpp>

#include <numeric>
#include <unordered_map>

#include <fmt/format.h>

namespace vesta {

namespace {

const char* dim_name(PlateDim d) { return d == PlateDim::rows ? "rows" : "columns"; }

// The plates enclosing a new one decide its default dimension: rows, or columns inside a
// plate over rows.
PlateDim default_dim(const Plate* self) {
  bool rows_taken = false;
  for (Messenger* m : handler_stack()) {
    if (m == self) break;
    if (const auto* p = dynamic_cast<const Plate*>(m); p && p->dim() == PlateDim::rows)
      rows_taken = true;
  }
  return rows_taken ? PlateDim::cols : PlateDim::rows;
}

// `n` distinct indices drawn uniformly from 0..size-1, in random order: a partial
// Fisher-Yates shuffle of the virtual array 0..size-1, storing only the swapped entries,
// so a minibatch of a large data set costs O(n), not O(size).
std::vector<Index> subsample_indices(Index size, Index n, Rng& rng) {
  std::vector<Index> out(static_cast<std::size_t>(n));
  std::unordered_map<Index, Index> swapped;
  auto at = [&](Index i) {
    auto it = swapped.find(i);
    return it == swapped.end() ? i : it->second;
  };
  for (Index k = 0; k < n; ++k) {
    const Index j = k + static_cast<Index>(rng.next_u64() % static_cast<std::uint64_t>(size - k));
    const Index vj = at(j);
    swapped[j] = at(k);
    out[static_cast<std::size_t>(k)] = vj;
  }
  return out;
}

// The plate site's default: the entries this run sees, unless given or replayed: a random
// subsample, or all of them.
void plate_default(Site& site) {
  SiteExtras& p = site.set_extras();
  if (!p.indices.empty()) return;
  if (p.subsample_size < p.plate_size) {
    p.indices = subsample_indices(p.plate_size, p.subsample_size, site.rng());
  } else {
    p.indices.resize(static_cast<std::size_t>(p.plate_size));
    std::iota(p.indices.begin(), p.indices.end(), Index{0});
  }
}

}  // namespace

Plate::Plate(std::string name, Index size, std::optional<Index> subsample_size,
             std::optional<PlateDim> dim) {
  enter(std::move(name), size, subsample_size.value_or(size), dim, {});
}

Plate::Plate(std::string name, Index size, std::vector<Index> subsample,
             std::optional<PlateDim> dim) {
  for (std::size_t k = 0; k < subsample.size(); ++k) {
    if (subsample[k] < 0 || subsample[k] >= size) {
      throw ValueError(fmt::format("plate '{}': subsample[{}] is {}, but must be in 0..{}", name, k,
                                   subsample[k], size - 1));
    }
  }
  const auto n = static_cast<Index>(subsample.size());
  enter(std::move(name), size, n, dim, std::move(subsample));
}

void Plate::enter(std::string name, Index size, Index n, std::optional<PlateDim> dim,
                  std::vector<Index> given) {
  if (name.empty())
    throw ValueError("plate: the name is empty; every plate needs a name of its own");
  if (size < 1 || n < 1 || n > size) {
    throw ValueError(fmt::format(
        "plate '{}': size is {} and subsample_size {}; need 1 <= subsample_size <= size", name,
        size, n));
  }
  frame_ = PlateFrame{std::move(name), size, n, dim.value_or(default_dim(this))};
  for (Messenger* m : handler_stack()) {
    const auto* p = dynamic_cast<const Plate*>(m);
    if (p == nullptr || p == this) continue;
    if (p->name() == frame_.name) {
      throw ValueError(fmt::format(
          "plate '{}' is entered inside a plate of the same name; nested plates need names of "
          "their own (and each indexes its own dimension)",
          frame_.name));
    }
    if (p->dim() == frame_.dim) {
      throw ValueError(
          fmt::format("plate '{}' would index {} inside plate '{}', which already does",
                      frame_.name, dim_name(frame_.dim), p->name()));
    }
  }
  // Send the plate's own site, so that outer handlers (trace, replay, seed) see it.
  Site site;
  site.kind = SiteKind::plate;
  site.name = frame_.name;
  site.fn = &plate_default;
  SiteExtras& p = site.set_extras();
  p.plate_size = size;
  p.subsample_size = n;
  p.indices = std::move(given);
  apply_stack(site);
  std::vector<Index>& indices = site.set_extras().indices;
  if (static_cast<Index>(indices.size()) != n) {
    throw ShapeError(fmt::format("plate '{}': {} replayed indices for a subsample of {}",
                                 frame_.name, indices.size(), n));
  }
  indices_ = std::move(indices);
}

void Plate::process(Site& site) {
  if (site.kind != SiteKind::sample && site.kind != SiteKind::deterministic) return;
  PlateFrame frame = frame_;
  // A per-datum distribution with one entry along the plate's dimension is broadcast to the
  // plate (Pyro does the same), so `sample("z", Normal(0, 1))` inside a plate of 10 draws 10.
  // A global term is one number wherever it sits, and is never broadcast.
  if (site.is_sample() && !site.is_global_term()) {
    const Distribution& d = *site.dist;
    const bool rows = frame_.dim == PlateDim::rows;
    if (frame_.subsample_size > 1 && (rows ? d.batch_rows() : d.batch_cols()) == 1 &&
        (rows || d.event_dim() == 0)) {
      try {
        site.dist = d.expand(rows ? frame_.subsample_size : d.rows(),
                             rows ? d.cols() : frame_.subsample_size);
      } catch (const Error&) {
        rethrow_with_context(
            fmt::format("sample site '{}' inside plate '{}'", site.name, frame_.name));
      }
      frame.broadcast = true;
    }
  }
  site.frames.push_back(std::move(frame));
}

void Plate::postprocess(Site& site) {
  // An enumerated value holds every value of the support, not one per plate entry; its
  // log_prob has the plate's entries (the enumeration checks it).
  if (site.kind != SiteKind::sample || site.enumerated) return;
  const Distribution& d = *site.dist;
  const bool rows = frame_.dim == PlateDim::rows;
  const Index n = frame_.subsample_size;
  // The value along the plate's dimension (unless that dimension is inside one event): one
  // entry per plate entry, or a single one where the distribution itself has the plate's
  // entries (it broadcasts against them). A single entry that the plate broadcast would be
  // scored once per entry: a row of data given where a column was meant.
  if (!site.value.empty() && (rows ? d.event_dim() < 2 : d.event_dim() < 1)) {
    const Index along = rows ? site.value.rows() : site.value.cols();
    bool broadcast = false;
    for (const PlateFrame& f : site.frames) {
      if (f.name == frame_.name) broadcast = f.broadcast;
    }
    if (along != n && (along != 1 || broadcast)) {
      throw ShapeError(fmt::format(
          "sample site '{}' inside plate '{}': its value is {}, but the plate indexes {} and this "
          "run sees {} of its {} entries, so the value needs {} {}{}",
          site.name, frame_.name, site.value.shape(), dim_name(frame_.dim), n, frame_.size, n,
          dim_name(frame_.dim),
          along == 1 && site.value.size() == n ? " (is it a row of data where a column was meant?)"
                                               : ""));
    }
  }
  if (site.is_global_term()) return;  // one number wherever it sits
  // The batch shape this site's log_prob will have: the distribution's, broadcast with the
  // value's (an observation may carry the batch along dimensions no plate indexes).
  Index br = d.batch_rows();
  Index bc = d.batch_cols();
  if (!site.value.empty()) {
    const Index vr = d.event_dim() < 2 ? site.value.rows() : 1;
    const Index vc = d.event_dim() < 1 ? site.value.cols() : 1;
    auto fit = [&](Index dist_n, Index value_n) {
      if (value_n == dist_n || value_n == 1) return dist_n;
      if (dist_n == 1) return value_n;
      throw ShapeError(fmt::format(
          "sample site '{}' inside plate '{}': its value is {} but its distribution {} has batch "
          "shape {}; they do not broadcast",
          site.name, frame_.name, site.value.shape(), d.describe(), shape_str(br, bc)));
    };
    br = fit(br, vr);
    bc = fit(bc, vc);
  }
  const Index along = rows ? br : bc;
  if (along != n) {
    throw ShapeError(fmt::format(
        "sample site '{}' has batch shape {}, which does not fit plate '{}': the plate indexes "
        "{} and this run sees {} of its {} entries, so the site needs {} {} there",
        site.name, shape_str(br, bc), frame_.name, dim_name(frame_.dim), n, frame_.size, n,
        dim_name(frame_.dim)));
  }
}

}  // namespace vesta
