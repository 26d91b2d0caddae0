// A rank whose step throws (bad data on its shard) stops every rank with its error, instead
// of leaving the others waiting in the gradient all-reduce; and the ranks can go on after it.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <vesta/inference/distributed/chains_over_ranks.hpp>
#include <vesta/inference/distributed/data_parallel.hpp>
#include <vesta/vesta.hpp>

#include "mpi/fixtures.hpp"
#include "mpi/world.hpp"

using namespace vesta;
using namespace vesta::testing;

TEST_CASE("a rank whose step throws stops every rank with its error", "[mpi]") {
  const Communicator& comm = world();
  REQUIRE(comm.size() >= 2);
  SmallBnn bnn;
  // The last rank's share of the batch below holds row 39, whose label is out of range.
  bnn.y(SmallBnn::N - 1, 0) = 7;
  ParamStore store;
  ParamStoreScope use(store);
  SmallBnn::init_params();
  DataParallel dp(comm);
  dp.broadcast_params();
  Adam adam(Scalar(0.01));
  SVI svi(bnn, empty_guide, adam);
  svi.set_reducer(&dp);
  const ParamStore before = store.clone();
  const std::vector<Index> bad = {0, 1, 2, 3, 4, 5, 6, SmallBnn::N - 1};
  const std::string failing = fmt::format("rank {} of {} failed: ", comm.size() - 1, comm.size());
  try {
    bnn.step(svi, dp.shard(bad));
    FAIL("the step did not throw");
  } catch (const DistributedError& e) {
    // Every rank names the failing rank and gives its message (the label's check).
    CHECK_THAT(e.what(), Catch::StartsWith(failing) && Catch::Contains("label"));
  }
  // Nothing moved, and the next (good) step runs on every rank.
  CHECK(max_param_difference(store, before) == 0);
  CHECK_NOTHROW(bnn.step(svi, dp.shard({0, 1, 2, 3, 4, 5})));
  CHECK(max_param_difference(store, before) > 0);
}

TEST_CASE("a chain that fails on one rank stops every rank with its error", "[mpi]") {
  const Communicator& comm = world();
  // The model throws on the last rank only (its data differs), on the first evaluation.
  const bool bad = comm.rank() == comm.size() - 1;
  auto model = [bad] {
    const Tensor mu = sample("mu", Normal(0, 1));
    if (bad) throw ValueError("bad data on this rank");
    sample("y", Normal(mu, 1), Tensor(Scalar(0.5)));
  };
  MCMCOptions options;
  options.progress = nullptr;
  options.exchange = std::make_shared<ChainsOverRanks>(comm);
  NUTS kernel(model);
  MCMC mcmc(kernel, 10, 10, 2 * comm.size(), options);
  CHECK_THROWS_AS(mcmc.run(), DistributedError);
  CHECK_THROWS_WITH(mcmc.run(), Catch::Contains("bad data on this rank") &&
                                    Catch::Contains(fmt::format("rank {}", comm.size() - 1)));
}
