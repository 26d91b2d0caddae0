#include <vesta/inference/predictive.hpp>

#include <fmt/format.h>

namespace vesta::detail {

void SampleCollector::collect(const Trace& model_trace, Index i) {
  // The first draw decides the sites and their shapes.
  if (i == 0) {
    if (return_sites_.empty()) {
      for (const Site& s : model_trace.sites()) {
        if ((s.is_sample() && !s.auxiliary) || s.kind == SiteKind::deterministic) return_sites_.push_back(s.name);
      }
    }
    for (const std::string& name : return_sites_) {
      if (!model_trace.contains(name)) {
        throw ValueError(fmt::format("Predictive: return site '{}' is not a site of the model", name));
      }
      const Site& s = model_trace.site(name);
      if (s.kind != SiteKind::sample && s.kind != SiteKind::deterministic) {
        throw ValueError(fmt::format("Predictive: return site '{}' is a {} site, not a sample or deterministic one",
                                     name, to_string(s.kind)));
      }
      shapes_[name] = {s.value.rows(), s.value.cols()};
      out_[name] = Matrix(num_samples_, s.value.size());
    }
  }
  for (const std::string& name : return_sites_) {
    const Site& s = model_trace.site(name);
    const auto [rows, cols] = shapes_.at(name);
    if (s.value.rows() != rows || s.value.cols() != cols) {
      throw ShapeError(fmt::format("Predictive: site '{}' is {} in draw {} but was {} in the first", name,
                                   s.value.shape(), i, shape_str(rows, cols)));
    }
    // Row after row: entry (r, c) goes to column r * cols + c.
    const auto v = s.value.value();
    Matrix& out = out_.at(name);
    for (Index r = 0; r < rows; ++r) {
      for (Index c = 0; c < cols; ++c) out(i, r * cols + c) = v(r, c);
    }
  }
}

Matrix unflatten_row(const Matrix& samples, Index i, Index rows, Index cols) {
  Matrix m(rows, cols);
  for (Index r = 0; r < rows; ++r) {
    for (Index c = 0; c < cols; ++c) m(r, c) = samples(i, r * cols + c);
  }
  return m;
}

void check_num_samples(Index num_samples) {
  if (num_samples < 1) throw ValueError(fmt::format("Predictive: num_samples is {}, but must be at least 1", num_samples));
}

Index posterior_rows(const SiteSamples& samples) {
  if (samples.empty()) throw ValueError("Predictive: no posterior samples given");
  const auto& [first_name, first] = *samples.begin();
  for (const auto& [name, m] : samples) {
    if (m.rows() != first.rows()) {
      throw ShapeError(fmt::format("Predictive: posterior samples of '{}' have {} rows but those of '{}' have {}",
                                   name, m.rows(), first_name, first.rows()));
    }
  }
  check_num_samples(first.rows());
  return first.rows();
}

}  // namespace vesta::detail
