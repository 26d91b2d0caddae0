#include "support/checkpoint.hpp"

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <vector>

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

#if VESTA_MPI
TrainingCheckpoint::TrainingCheckpoint(std::string path, long every, DataParallel& dp)
    : TrainingCheckpoint(std::move(path), every) {
  dp_ = &dp;
}
#endif

namespace {

// Where rank r's generator is saved: "checkpoint.rng.W" for rank 0 (as in a run of one
// process), "checkpoint.rankR.rng.W" for the others.
std::string rng_name(int rank, std::size_t word) {
  return rank == 0 ? fmt::format("{}rng.{}", kPrefix, word)
                   : fmt::format("{}rank{}.rng.{}", kPrefix, rank, word);
}

// The generator state saved under rank's names, or nullopt if the file has none for it.
std::optional<Rng::State> saved_rng(const ParamStore& store, int rank) {
  Rng::State rng{};
  for (std::size_t w = 0; w < rng.size(); ++w) {
    const std::string name = rng_name(rank, w);
    const ParamStore::Entry* word = store.find(name);
    if (word == nullptr) return std::nullopt;
    rng[w] = from_quarters(word->unconstrained.matrix(), name);
  }
  return rng;
}

}  // namespace

void TrainingCheckpoint::save(long steps_done, const Optimizer& optimizer) const {
  ParamStore out = param_store().clone();
  optimizer.save_state(out, kPrefix + "optimizer");
  out.set(kPrefix + "steps", quarters(static_cast<std::uint64_t>(steps_done)));
  const Rng::State rng = thread_rng().state();
#if VESTA_MPI
  if (dp_ != nullptr) {
    // Every rank's generator, its words' quarters as doubles (exact), gathered for rank 0.
    std::vector<double> mine;
    for (std::uint64_t word : rng) {
      const Matrix q = quarters(word);
      mine.insert(mine.end(), q.data(), q.data() + q.size());
    }
    const std::vector<std::vector<double>> all = dp_->communicator().all_gather(mine);
    if (!dp_->communicator().is_root()) return;
    for (std::size_t r = 0; r < all.size(); ++r) {
      for (std::size_t w = 0; w < rng.size(); ++w) {
        const Eigen::Map<const Eigen::RowVector4d> q(all[r].data() + 4 * w);
        out.set(rng_name(static_cast<int>(r), w), Matrix(q.cast<Scalar>()));
      }
    }
    out.save(path_);
    return;
  }
#endif
  for (std::size_t w = 0; w < rng.size(); ++w) out.set(rng_name(0, w), quarters(rng[w]));
  out.save(path_);
}

long TrainingCheckpoint::resume(Optimizer& optimizer) const {
  struct stat info;
  bool exists = enabled() && ::stat(path_.c_str(), &info) == 0;
  int rank = 0;
#if VESTA_MPI
  // Rank 0 decides whether there is a file to resume from, so that the ranks agree.
  if (dp_ != nullptr) {
    const Communicator& comm = dp_->communicator();
    rank = comm.rank();
    exists = comm.broadcast(exists ? "1" : "0") == "1";
  }
#endif
  if (!exists) return 0;
  ParamStore& store = param_store();
  store.load(path_);
  const ParamStore::Entry* steps = store.find(kPrefix + "steps");
  if (steps == nullptr) {
    throw ValueError(
        fmt::format("checkpoint: '{}' is a param store file but no checkpoint", path_));
  }
  const long done =
      static_cast<long>(from_quarters(steps->unconstrained.matrix(), kPrefix + "steps"));
  const std::optional<Rng::State> rank0 = saved_rng(store, 0);
  if (!rank0) throw ValueError(fmt::format("checkpoint: '{}' has no '{}'", path_, rng_name(0, 0)));
  std::optional<Rng::State> rng = saved_rng(store, rank);
  optimizer.load_state(store, kPrefix + "optimizer");
  // The checkpoint's own entries leave the store: it holds the model's params only.
  for (const std::string& name : store.names()) {
    if (name.rfind(kPrefix, 0) == 0) store.erase(name);
  }
  if (rng) {
    thread_rng().set_state(*rng);
  } else {
    // A rank the saved run did not have: rank 0's generator, forked by the rank.
    Rng base;
    base.set_state(*rank0);
    thread_rng() = base.fork(static_cast<std::uint64_t>(rank));
  }
#if VESTA_MPI
  if (dp_ != nullptr) {
    dp_->broadcast_params(store);
    if (!dp_->communicator().is_root()) return done;
  }
#endif
  fmt::print("resumed from {} at step {}\n", path_, done);
  return done;
}

}  // namespace vesta::examples
