// plate: a scope (or a callable) in which sample sites are conditionally independent along
// one dimension of their batch shape, optionally seeing a random subsample of it.
// Pyro's plate; like NumPyro's, it is a handler that first sends its own site, so a replay
// can fix its subsample indices. Its whole story is here and in plate.cpp: the subsample
// draw, the frame it records on each site inside, when it broadcasts a distribution, and the
// shapes it requires. (How a frame weighs a site's term is term_scale, in trace.hpp.)
#pragma once

#include <concepts>
#include <optional>
#include <string>
#include <vector>

#include <vesta/core/messenger.hpp>

namespace vesta {

/// A plate (see plate()): a handler in which sample sites are conditionally independent along one
/// dimension, optionally on a random subsample.
class Plate : public Messenger {
 public:
  /// A plate named `name` over `size` entries, of which sites see `subsample_size` (all by
  /// default), chosen at random without replacement. Sites index it along `dim`: rows by
  /// default, columns when nested inside a plate over rows.
  Plate(std::string name, Index size, std::optional<Index> subsample_size = std::nullopt,
        std::optional<PlateDim> dim = std::nullopt);
  /// A plate whose sites see the given entries (Pyro's `subsample=`): for walking a data set
  /// in minibatches, or for a guide that must use the indices its model chose. Each index must
  /// be in 0..size-1. A replay handler still overrides them.
  Plate(std::string name, Index size, std::vector<Index> subsample,
        std::optional<PlateDim> dim = std::nullopt);

  /// The plate's name.
  const std::string& name() const { return frame_.name; }
  /// Number of entries of the full dimension.
  Index size() const { return frame_.size; }
  /// Number of entries this run sees.
  Index subsample_size() const { return frame_.subsample_size; }
  /// The dimension its sites index: rows, or columns when nested in a plate over rows.
  PlateDim dim() const { return frame_.dim; }
  /// The indices of the entries this run sees (0..size-1 without subsampling): slice data
  /// with gather_rows(data, indices()).
  const std::vector<Index>& indices() const { return indices_; }

  void process(Site& site) override;
  void postprocess(Site& site) override;

 private:
  void enter(std::string name, Index size, Index n, std::optional<PlateDim> dim,
             std::vector<Index> given);

  PlateFrame frame_;
  std::vector<Index> indices_;
};

/// The plate as an RAII scope: `auto p = plate("data", N, 32); ... p.indices() ...`.
inline Plate plate(std::string name, Index size, std::optional<Index> subsample_size = std::nullopt,
                   std::optional<PlateDim> dim = std::nullopt) {
  return Plate(std::move(name), size, subsample_size, dim);
}

inline Plate plate(std::string name, Index size, std::vector<Index> subsample,
                   std::optional<PlateDim> dim = std::nullopt) {
  return Plate(std::move(name), size, std::move(subsample), dim);
}

/// The plate as a callable form: runs fn(indices) inside it and returns its result.
template <class F>
requires std::invocable < F&, const std::vector<Index>
& > decltype(auto) plate(std::string name, Index size, std::optional<Index> subsample_size,
                         F&& fn) {
  Plate p(std::move(name), size, subsample_size);
  return std::forward<F>(fn)(p.indices());
}

}  // namespace vesta
