#include <vesta/inference/initialization.hpp>

#include <algorithm>
#include <vector>

#include <fmt/format.h>

namespace vesta {

namespace {

Matrix draw(const Site& site, Rng& rng) { return site.dist->sample(rng).matrix(); }

}  // namespace

InitStrategy init_to_median(int num_samples) {
  if (num_samples < 1) {
    throw ValueError(
        fmt::format("init_to_median: num_samples is {}, but must be at least 1", num_samples));
  }
  return [num_samples](const Site& site, Rng& rng) -> Matrix {
    std::vector<Matrix> draws;
    draws.reserve(static_cast<std::size_t>(num_samples));
    for (int k = 0; k < num_samples; ++k) draws.push_back(draw(site, rng));
    Matrix median(draws[0].rows(), draws[0].cols());
    std::vector<Scalar> column(draws.size());
    for (Index e = 0; e < median.size(); ++e) {
      for (std::size_t k = 0; k < draws.size(); ++k) column[k] = draws[k].data()[e];
      auto mid = column.begin() + static_cast<std::ptrdiff_t>(column.size() / 2);
      std::nth_element(column.begin(), mid, column.end());
      median.data()[e] = *mid;
    }
    // An elementwise median can leave a joint support (a simplex row need not sum to 1):
    // then one draw, which is inside it.
    return site.dist->support()->check(median) ? median : draws[0];
  };
}

InitStrategy init_to_mean() {
  return [median = init_to_median()](const Site& site, Rng& rng) -> Matrix {
    try {
      Matrix m = site.dist->mean().matrix();
      if (m.allFinite() && site.dist->support()->check(m)) return m;
    } catch (const ValueError&) {
      // no closed-form mean: fall through to the median
    }
    return median(site, rng);
  };
}

InitStrategy init_to_sample() {
  return [](const Site& site, Rng& rng) { return draw(site, rng); };
}

InitStrategy init_to_value(std::unordered_map<std::string, Matrix> values, InitStrategy fallback) {
  std::vector<std::string> names = fallback.named_sites();
  for (const auto& [name, value] : values) names.push_back(name);
  return InitStrategy(
      [values = std::move(values), fallback = std::move(fallback)](const Site& site,
                                                                   Rng& rng) -> Matrix {
        if (auto it = values.find(site.name); it != values.end()) return it->second;
        return fallback(site, rng);
      },
      std::move(names));
}

InitMessenger::InitMessenger(InitStrategy strategy)
    : strategy_(std::move(strategy)), names_(strategy_.named_sites()) {}

InitMessenger::~InitMessenger() noexcept(false) { names_.check("init_to_value", "latent sample"); }

void InitMessenger::process(Site& site) {
  // A site marked for enumeration is summed out, not started anywhere: it is drawn.
  if (!site.is_sample() || site.observed || !site.value.empty() || site.enumerate ||
      site.dist->log_prob_is_folded_term())
    return;
  names_.seen(site.name);
  Matrix v = strategy_(site, site.rng());
  const Distribution& d = *site.dist;
  if (v.rows() != d.rows() || v.cols() != d.cols()) {
    throw ShapeError(fmt::format("init of site '{}': the value is {}, but a draw of {} is {}",
                                 site.name, shape_str(v.rows(), v.cols()), d.describe(),
                                 shape_str(d.rows(), d.cols())));
  }
  const ConstraintPtr support = d.support();
  if (const Index k = support->first_violation(v); k >= 0) {
    throw ValueError(fmt::format("init of site '{}': value{} is {}, but must be in {}", site.name,
                                 entry_str(v.rows(), v.cols(), k), v.data()[k], support->name()));
  }
  site.value = Tensor(std::move(v));
}

}  // namespace vesta
