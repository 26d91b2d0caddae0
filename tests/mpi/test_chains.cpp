// MCMC chains over ranks: the gathered draws and R-hat equal those of the same chains run in
// one process with the same seed.
#include <memory>

#include <catch2/catch.hpp>

#include <vesta/inference/distributed/chains_over_ranks.hpp>
#include <vesta/vesta.hpp>

#include "mpi/world.hpp"

using namespace vesta;
using namespace vesta::testing;

TEST_CASE("chains over ranks equal the same chains in one process", "[mpi]") {
  Rng data_rng(4);
  const Matrix y = data_rng.normal(12, 1).array() + Scalar(1);
  auto model = [&] {
    const Tensor mu = sample("mu", Normal(0, 2));
    const Tensor sigma = sample("sigma", HalfNormal(1));
    auto data = plate("data", y.rows());
    sample("y", Normal(mu, sigma), Tensor(y));
  };
  const int chains = 2 * world().size();
  MCMCOptions options;
  options.seed = 9;
  options.progress = nullptr;
  NUTS kernel(model);
  MCMC alone(kernel, 100, 60, chains, options);
  alone.run();
  options.exchange = std::make_shared<ChainsOverRanks>(world());
  MCMC spread(kernel, 100, 60, chains, options);
  spread.run();

  REQUIRE(spread.chains().size() == std::size_t(chains));
  for (int c = 0; c < chains; ++c) {
    // Exactly: the same chain computed alike, sent as doubles.
    CHECK(spread.chains()[std::size_t(c)].draws == alone.chains()[std::size_t(c)].draws);
    CHECK(spread.chains()[std::size_t(c)].step_size == alone.chains()[std::size_t(c)].step_size);
  }
  const MCMCSummary a = alone.summary(), s = spread.summary();
  REQUIRE(s.num_chains == chains);
  for (const char* name : {"mu", "sigma"}) {
    CHECK(s.at(name).rhat == a.at(name).rhat);
    CHECK(s.at(name).ess_bulk == a.at(name).ess_bulk);
    CHECK(s.at(name).mean == a.at(name).mean);
  }
  // The chains differ from one another (each its own stream), so equality is no accident.
  CHECK(spread.chains()[0].draws != spread.chains()[1].draws);
}
