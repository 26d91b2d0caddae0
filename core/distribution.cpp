#include <vesta/core/distribution.hpp>

#include <fmt/format.h>

namespace vesta {

Tensor Distribution::rsample(Rng&) const {
  throw ValueError(fmt::format(
      "{} has no reparameterised sampler (rsample); draw with sample(), whose value carries no "
      "gradient",
      name()));
}

Tensor Distribution::sample(Rng& rng) const { return rsample(rng).detach(); }

DistributionPtr Distribution::expand(Index rows, Index cols) const {
  throw ShapeError(fmt::format("{} cannot be expanded to {}", describe(), shape_str(rows, cols)));
}

std::string Distribution::describe() const {
  return fmt::format("{}({})", name(), shape_str(rows(), cols()));
}

}  // namespace vesta
