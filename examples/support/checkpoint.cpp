#include "support/checkpoint.hpp"

#include <sys/stat.h>

#include <cstdint>

#include <fmt/format.h>

#include <vesta/core/param_store.hpp>

namespace vesta::examples {

namespace {

// Names of the checkpoint's own entries, beside the params.
const std::string kPrefix = "checkpoint.";

// A 64-bit word as four 16-bit quarters, each exact in a float or double Scalar.
Matrix quarters(std::uint64_t w) {
  Matrix m(1, 4);
  for (int k = 0; k < 4; ++k) m(0, k) = static_cast<Scalar>((w >> (16 * k)) & 0xffff);
  return m;
}

std::uint64_t from_quarters(const Matrix& m, const std::string& name) {
  if (m.rows() != 1 || m.cols() != 4) {
    throw ValueError(
        fmt::format("checkpoint: '{}' is {}, not 1x4", name, shape_str(m.rows(), m.cols())));
  }
  std::uint64_t w = 0;
  for (int k = 0; k < 4; ++k) {
    const Scalar q = m(0, k);
    if (!(q >= 0 && q <= 0xffff) || q != static_cast<Scalar>(static_cast<long>(q))) {
      throw ValueError(fmt::format("checkpoint: '{}' is malformed", name));
    }
    w |= static_cast<std::uint64_t>(q) << (16 * k);
  }
  return w;
}

}  // namespace

TrainingCheckpoint::TrainingCheckpoint(std::string path, long every)
    : path_(std::move(path)), every_(every) {
  if (every_ < 1) {
    throw ValueError(fmt::format("checkpoint: every is {}, but must be at least 1", every_));
  }
}

void TrainingCheckpoint::save(long steps_done, const Optimizer& optimizer) const {
  ParamStore out = param_store().clone();
  optimizer.save_state(out, kPrefix + "optimizer");
  out.set(kPrefix + "steps", quarters(static_cast<std::uint64_t>(steps_done)));
  const Rng::State rng = thread_rng().state();
  for (std::size_t w = 0; w < rng.size(); ++w) {
    out.set(fmt::format("{}rng.{}", kPrefix, w), quarters(rng[w]));
  }
  out.save(path_);
}

long TrainingCheckpoint::resume(Optimizer& optimizer) const {
  struct stat info;
  if (!enabled() || ::stat(path_.c_str(), &info) != 0) return 0;
  ParamStore& store = param_store();
  store.load(path_);
  const ParamStore::Entry* steps = store.find(kPrefix + "steps");
  if (steps == nullptr) {
    throw ValueError(
        fmt::format("checkpoint: '{}' is a param store file but no checkpoint", path_));
  }
  const long done =
      static_cast<long>(from_quarters(steps->unconstrained.matrix(), kPrefix + "steps"));
  Rng::State rng{};
  for (std::size_t w = 0; w < rng.size(); ++w) {
    const std::string name = fmt::format("{}rng.{}", kPrefix, w);
    const ParamStore::Entry* word = store.find(name);
    if (word == nullptr) throw ValueError(fmt::format("checkpoint: '{}' has no '{}'", path_, name));
    rng[w] = from_quarters(word->unconstrained.matrix(), name);
  }
  optimizer.load_state(store, kPrefix + "optimizer");
  // The checkpoint's own entries leave the store: it holds the model's params only.
  for (const std::string& name : store.names()) {
    if (name.rfind(kPrefix, 0) == 0) store.erase(name);
  }
  thread_rng().set_state(rng);
  fmt::print("resumed from {} at step {}\n", path_, done);
  return done;
}

}  // namespace vesta::examples
