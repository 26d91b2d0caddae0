#include <vesta/core/plate.hpp>

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
    if (const auto* p = dynamic_cast<const Plate*>(m); p && p->dim() == PlateDim::rows) rows_taken = true;
  }
  return rows_taken ? PlateDim::cols : PlateDim::rows;
}

}  // namespace

Plate::Plate(std::string name, Index size, std::optional<Index> subsample_size,
             std::optional<PlateDim> dim) {
  enter(std::move(name), size, subsample_size.value_or(size), dim, {});
}

Plate::Plate(std::string name, Index size, std::vector<Index> subsample, std::optional<PlateDim> dim) {
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
  if (size < 1 || n < 1 || n > size) {
    throw ValueError(fmt::format(
        "plate '{}': size is {} and subsample_size {}; need 1 <= subsample_size <= size", name,
        size, n));
  }
  frame_ = PlateFrame{std::move(name), size, n, dim.value_or(default_dim(this))};
  for (Messenger* m : handler_stack()) {
    const auto* p = dynamic_cast<const Plate*>(m);
    if (p != nullptr && p != this && p->dim() == frame_.dim) {
      throw ValueError(fmt::format("plate '{}' would index {} inside plate '{}', which already does",
                                   frame_.name, dim_name(frame_.dim), p->name()));
    }
  }
  // Send the plate's own site, so that outer handlers (trace, replay, seed) see it.
  Site site;
  site.kind = SiteKind::plate;
  site.name = frame_.name;
  site.plate_size = size;
  site.subsample_size = n;
  site.indices = std::move(given);
  apply_stack(site);
  if (static_cast<Index>(site.indices.size()) != n) {
    throw ShapeError(fmt::format("plate '{}': {} replayed indices for a subsample of {}", frame_.name,
                                 site.indices.size(), n));
  }
  indices_ = std::move(site.indices);
}

void Plate::process(Site& site) {
  if (site.kind != SiteKind::sample && site.kind != SiteKind::deterministic) return;
  site.frames.push_back(frame_);
  if (site.kind != SiteKind::sample) return;
  // Subsampling: each site sees n of N entries, so its log-probability counts N/n times.
  site.scale *= Scalar(frame_.size) / Scalar(frame_.subsample_size);
  // A distribution with one entry along the plate's dimension is broadcast to the plate
  // (Pyro does the same), so `sample("z", Normal(0, 1))` inside a plate of 10 draws 10.
  const Distribution& d = *site.dist;
  const bool rows = frame_.dim == PlateDim::rows;
  if (frame_.subsample_size > 1 && (rows ? d.batch_rows() : d.batch_cols()) == 1 &&
      (rows || d.event_dim() == 0)) {
    site.dist = d.expand(rows ? frame_.subsample_size : d.rows(), rows ? d.cols() : frame_.subsample_size);
  }
}

void Plate::postprocess(Site& site) {
  if (site.kind != SiteKind::sample) return;
  // The batch shape this site's log_prob will have: the distribution's, broadcast with the
  // value's (an observation may carry the batch).
  const Distribution& d = *site.dist;
  Index rows = d.batch_rows();
  Index cols = d.batch_cols();
  if (!site.value.empty()) {
    const Index vr = d.event_dim() < 2 ? site.value.rows() : 1;
    const Index vc = d.event_dim() < 1 ? site.value.cols() : 1;
    auto fit = [&](Index dist_n, Index value_n) {
      if (value_n == dist_n || value_n == 1) return dist_n;
      if (dist_n == 1) return value_n;
      throw ShapeError(fmt::format(
          "sample site '{}' inside plate '{}': its value is {} but its distribution {} has batch "
          "shape {}; they do not broadcast",
          site.name, frame_.name, site.value.shape(), d.describe(), shape_str(rows, cols)));
    };
    rows = fit(rows, vr);
    cols = fit(cols, vc);
  }
  const Index along = frame_.dim == PlateDim::rows ? rows : cols;
  if (along != frame_.subsample_size) {
    throw ShapeError(fmt::format(
        "sample site '{}' has batch shape {}, which does not fit plate '{}': the plate indexes "
        "{} and this run sees {} of its {} entries, so the site needs {} {} there",
        site.name, shape_str(rows, cols), frame_.name, dim_name(frame_.dim), frame_.subsample_size,
        frame_.size, frame_.subsample_size, dim_name(frame_.dim)));
  }
}

}  // namespace vesta
