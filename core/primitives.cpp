// The path of a primitive, top to bottom: build the Site, apply_stack() runs the handlers'
// process() from the innermost outwards, the default behaviour fills in what no handler did
// (draw, read the parameter, choose the subsample), then the handlers' postprocess().
#include <vesta/core/primitives.hpp>

#include <numeric>
#include <unordered_map>

#include <fmt/format.h>

#include <vesta/core/ops.hpp>
#include <vesta/core/param_store.hpp>

namespace vesta {

namespace {

// A factor site's "distribution": its log_prob is the given term, whatever the value.
class Factor final : public Family<Factor> {
 public:
  explicit Factor(Tensor log_factor) : log_factor_(std::move(log_factor)) {}
  std::string name() const override { return "Factor"; }
  Index rows() const override { return log_factor_.rows(); }
  Index cols() const override { return log_factor_.cols(); }
  ConstraintPtr support() const override { return constraints::real(); }
  Tensor log_prob(const Tensor&) const override { return log_factor_; }
  bool log_prob_is_folded_term() const override { return true; }
  // Inside a plate, a 1x1 term is spread evenly over the plate's entries, so it counts once
  // (then scaled by the plate's subsample factor, like every term), not once per entry.
  DistributionPtr expand(Index rows, Index cols) const override {
    if (log_factor_.rows() != 1 || log_factor_.cols() != 1) return Distribution::expand(rows, cols);
    return std::make_shared<Factor>(Tensor::full(rows, cols, Scalar(1) / Scalar(rows * cols)) * log_factor_);
  }

 private:
  Tensor log_factor_;
};

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

void default_process(Site& site) {
  Rng& rng = site.rng ? *site.rng : thread_rng();
  switch (site.kind) {
    case SiteKind::sample:
      if (site.value.empty() && !site.observed) {
        site.value = site.dist->has_rsample() ? site.dist->rsample(rng) : site.dist->sample(rng);
      }
      break;
    case SiteKind::param:
      if (site.value.empty()) {
        const ParamStore::Entry& e = param_store().get_or_create(
            site.name, site.init.empty() ? Matrix() : site.init.matrix(), site.constraint);
        site.value = e.constraint->transform(e.unconstrained);
      }
      break;
    case SiteKind::plate:
      if (site.indices.empty()) {
        if (site.subsample_size < site.plate_size) {
          site.indices = subsample_indices(site.plate_size, site.subsample_size, rng);
        } else {
          site.indices.resize(static_cast<std::size_t>(site.plate_size));
          std::iota(site.indices.begin(), site.indices.end(), Index{0});
        }
      }
      break;
    case SiteKind::deterministic:
      break;
  }
}

}  // namespace

void apply_stack(Site& site) {
  const auto stack = handler_stack();
  std::size_t seen = 0;  // handlers, from the innermost, that processed the site
  for (auto it = stack.rbegin(); it != stack.rend(); ++it) {
    ++seen;
    (*it)->process(site);
    if (site.stop) break;
  }
  default_process(site);
  for (std::size_t i = stack.size() - seen; i < stack.size(); ++i) stack[i]->postprocess(site);
}

namespace {

Tensor sample_site(const std::string& name, DistributionPtr dist, std::optional<Tensor> obs, bool auxiliary) {
  if (!dist) throw ValueError(fmt::format("sample '{}': the distribution is null", name));
  Site site;
  site.kind = SiteKind::sample;
  site.name = name;
  site.dist = std::move(dist);
  site.auxiliary = auxiliary;
  if (obs) {
    site.value = std::move(*obs);
    site.observed = true;
  }
  apply_stack(site);
  return site.value;
}

}  // namespace

Tensor sample(const std::string& name, DistributionPtr dist, std::optional<Tensor> obs) {
  return sample_site(name, std::move(dist), std::move(obs), false);
}

Tensor sample_auxiliary(const std::string& name, DistributionPtr dist) {
  return sample_site(name, std::move(dist), std::nullopt, true);
}

Tensor param(const std::string& name, const Matrix& init, ConstraintPtr constraint) {
  return param(name, [&init] { return init; }, std::move(constraint));
}

Tensor param(const std::string& name, const ParamInit& init, ConstraintPtr constraint) {
  Site site;
  site.kind = SiteKind::param;
  site.name = name;
  // The initial value matters only on first use: skip building it on every later read.
  if (!param_store().contains(name)) site.init = Tensor(init());
  site.constraint = std::move(constraint);
  apply_stack(site);
  return site.value;
}

Tensor param(const std::string& name) {
  Site site;
  site.kind = SiteKind::param;
  site.name = name;
  apply_stack(site);
  return site.value;
}

void factor(const std::string& name, const Tensor& log_factor) {
  sample(name, std::make_shared<Factor>(log_factor), Tensor());
}

Tensor deterministic(const std::string& name, const Tensor& value) {
  Site site;
  site.kind = SiteKind::deterministic;
  site.name = name;
  site.value = value;
  apply_stack(site);
  return site.value;
}

const char* to_string(SiteKind kind) {
  switch (kind) {
    case SiteKind::sample: return "sample";
    case SiteKind::param: return "param";
    case SiteKind::plate: return "plate";
    case SiteKind::deterministic: return "deterministic";
  }
  return "?";
}

}  // namespace vesta
