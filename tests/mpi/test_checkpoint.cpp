// A checkpoint saved during a 2-rank run (written by rank 0, read by all) resumes on 2 ranks
// and on 1 rank to the params of the run that was never stopped, each rank with its own
// generator.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <vesta/inference/distributed/data_parallel.hpp>
#include <vesta/vesta.hpp>

#include "mpi/fixtures.hpp"
#include "mpi/world.hpp"
#include "support/checkpoint.hpp"

using namespace vesta;
using namespace vesta::testing;

namespace {

constexpr int kFirst = 3, kThen = 3;

// Steps [from, to) of a data-parallel run of the BNN over `comm`, from the checkpoint at
// `path` if it exists (else from the start), writing one after step `save_at` (0: none).
ParamStore run(const Communicator& comm, const std::string& path, int to, int save_at) {
  const SmallBnn bnn;
  const auto batches = global_batches(SmallBnn::N, 8, kFirst + kThen);
  ParamStore store;
  ParamStoreScope use(store);
  SmallBnn::init_params();
  DataParallel dp(comm);
  dp.broadcast_params();
  // Ranks seeded alike draw the weights one process draws (see fixtures.hpp), so any number
  // of ranks gives the same params; the checkpoint keeps every rank's generator.
  set_rng_seed(11);
  Adam adam(Scalar(0.01));
  SVI svi(bnn, empty_guide, adam);
  svi.set_reducer(&dp);
  const examples::TrainingCheckpoint checkpoint(path, save_at > 0 ? save_at : 1000, dp);
  const long done = checkpoint.resume(adam);
  for (long s = done; s < to; ++s) {
    bnn.step(svi, dp.shard(batches[std::size_t(s)]));
    if (save_at > 0 && checkpoint.due(s + 1)) checkpoint.save(s + 1, adam);
  }
  return store.clone();
}

}  // namespace

TEST_CASE("a 2-rank checkpoint resumes on 2 ranks and on 1 rank as the run never stopped",
          "[mpi]") {
  const Communicator& comm = world();
  const std::string path = "mpi_checkpoint_test.params";
  if (comm.is_root()) std::remove(path.c_str());
  comm.barrier();

  const ParamStore uninterrupted = run(comm, "", kFirst + kThen, 0);
  const ParamStore stopped = run(comm, path, kFirst, kFirst);  // writes at step kFirst
  comm.barrier();
  CHECK(max_param_difference(stopped, uninterrupted) > 1e-4);  // there was more to do

  const ParamStore resumed_on_all = run(comm, path, kFirst + kThen, 0);
  CHECK(max_param_difference(resumed_on_all, uninterrupted) < rounding_tolerance());

  // Each rank alone (a group of one rank) resumes the same file: the whole batch per step.
  const Communicator alone = comm.split(comm.rank());
  REQUIRE(alone.size() == 1);
  const ParamStore resumed_alone = run(alone, path, kFirst + kThen, 0);
  CHECK(max_param_difference(resumed_alone, uninterrupted) < rounding_tolerance());

  comm.barrier();
  if (comm.is_root()) std::remove(path.c_str());
}

TEST_CASE("a 2-rank checkpoint gives each rank back its own generator", "[mpi]") {
  const Communicator& comm = world();
  const std::string path = "mpi_checkpoint_rng_test.params";
  if (comm.is_root()) std::remove(path.c_str());
  comm.barrier();
  {
    // No params: the file holds the checkpoint's own entries only.
    ParamStore store;
    ParamStoreScope use(store);
    DataParallel dp(comm);
    Adam adam(Scalar(0.01));
    const examples::TrainingCheckpoint checkpoint(path, 1, dp);
    // A generator of each rank's own, unlike those of the other ranks.
    set_rng_seed(static_cast<std::uint64_t>(100 + comm.rank()));
    const Rng::State saved = thread_rng().state();
    checkpoint.save(1, adam);
    comm.barrier();
    thread_rng().uniform();
    REQUIRE(thread_rng().state() != saved);
    CHECK(checkpoint.resume(adam) == 1);
    CHECK(thread_rng().state() == saved);
  }
  comm.barrier();
  if (comm.is_root()) std::remove(path.c_str());
}
