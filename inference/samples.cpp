#include <vesta/inference/samples.hpp>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include <vesta/core/error.hpp>

namespace vesta {

SiteSamples::SiteSamples(
    std::initializer_list<std::pair<const std::string, std::vector<Matrix>>> draws) {
  for (const auto& [name, ds] : draws) {
    for (const Matrix& d : ds) add(name, d);
  }
}

void SiteSamples::add(const std::string& name, Matrix draw) {
  std::vector<Matrix>& ds = draws_[name];
  if (!ds.empty() && (draw.rows() != ds.front().rows() || draw.cols() != ds.front().cols())) {
    throw ShapeError(fmt::format(
        "SiteSamples: draw {} of site '{}' is {}, but its first draw is {}", ds.size(), name,
        shape_str(draw.rows(), draw.cols()), shape_str(ds.front().rows(), ds.front().cols())));
  }
  ds.push_back(std::move(draw));
}

std::vector<std::string> SiteSamples::sites() const {
  std::vector<std::string> out;
  for (const auto& [name, ds] : draws_) out.push_back(name);
  return out;
}

Index SiteSamples::num_samples() const {
  if (draws_.empty()) return 0;
  const auto& [first_name, first] = *draws_.begin();
  for (const auto& [name, ds] : draws_) {
    if (ds.size() != first.size()) {
      throw ShapeError(fmt::format("SiteSamples: site '{}' has {} draws but site '{}' has {}", name,
                                   ds.size(), first_name, first.size()));
    }
  }
  return static_cast<Index>(first.size());
}

const std::vector<Matrix>& SiteSamples::draws(const std::string& name) const {
  auto it = draws_.find(name);
  if (it == draws_.end()) {
    throw ValueError(fmt::format("SiteSamples: there are no draws of site '{}'", name));
  }
  return it->second;
}

const Matrix& SiteSamples::draw(const std::string& name, Index k) const {
  const std::vector<Matrix>& ds = draws(name);
  if (k < 0 || k >= static_cast<Index>(ds.size())) {
    throw ValueError(fmt::format("SiteSamples: draw {} of site '{}' is asked for, but it has {}", k,
                                 name, ds.size()));
  }
  return ds[static_cast<std::size_t>(k)];
}

Matrix SiteSamples::mean(const std::string& name) const {
  const std::vector<Matrix>& ds = draws(name);
  Matrix total = Matrix::Zero(ds.front().rows(), ds.front().cols());
  for (const Matrix& d : ds) total += d;
  return total / Scalar(ds.size());
}

Matrix SiteSamples::quantile(const std::string& name, double q) const {
  if (!(q >= 0 && q <= 1))
    throw ValueError(fmt::format("SiteSamples::quantile: q is {}, but must be in [0, 1]", q));
  const std::vector<Matrix>& ds = draws(name);
  Matrix out(ds.front().rows(), ds.front().cols());
  std::vector<Scalar> column(ds.size());
  for (Index e = 0; e < out.size(); ++e) {
    for (std::size_t k = 0; k < ds.size(); ++k) column[k] = ds[k].data()[e];
    std::sort(column.begin(), column.end());
    const double pos = q * double(column.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const std::size_t hi = std::min(lo + 1, column.size() - 1);
    const double w = pos - double(lo);
    out.data()[e] = static_cast<Scalar>((1 - w) * double(column[lo]) + w * double(column[hi]));
  }
  return out;
}

Matrix SiteSamples::flat(const std::string& name) const {
  const std::vector<Matrix>& ds = draws(name);
  const Index rows = ds.front().rows(), cols = ds.front().cols();
  Matrix out(static_cast<Index>(ds.size()), rows * cols);
  for (std::size_t k = 0; k < ds.size(); ++k) {
    for (Index r = 0; r < rows; ++r) {
      for (Index c = 0; c < cols; ++c) out(static_cast<Index>(k), r * cols + c) = ds[k](r, c);
    }
  }
  return out;
}

}  // namespace vesta
