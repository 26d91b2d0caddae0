// Data-parallel SVI over 2 ranks equals one process on the whole batch: K steps on R ranks,
// each with its share of every global minibatch, give the params (and losses) of K steps of
// one process with the whole minibatches, the same indices and the same draws, to rounding.
#include <vector>

#include <catch2/catch.hpp>

#include <vesta/inference/distributed/data_parallel.hpp>
#include <vesta/vesta.hpp>

#include "mpi/fixtures.hpp"
#include "mpi/world.hpp"
#include "support/vae_networks.hpp"

using namespace vesta;
using namespace vesta::testing;

namespace {

constexpr int kSteps = 4;

}  // namespace

TEST_CASE("shard deals a global batch out as evenly as possible, in order", "[mpi]") {
  DataParallel dp(world());
  const int R = world().size(), r = world().rank();
  for (Index B : {Index(0), Index(1), Index(7), Index(10)}) {
    std::vector<Index> rows(static_cast<std::size_t>(B));
    for (Index i = 0; i < B; ++i) rows[std::size_t(i)] = 100 + i;
    const std::vector<Index> mine = dp.shard(rows);
    // Every rank's share, gathered, is the batch again, each share B / R rounded up or down.
    std::vector<double> as_doubles(mine.begin(), mine.end());
    std::vector<double> all;
    for (const auto& part : world().all_gather(as_doubles)) {
      CHECK(std::abs(double(part.size()) - double(B) / R) < 1);
      all.insert(all.end(), part.begin(), part.end());
    }
    CHECK(all == std::vector<double>(rows.begin(), rows.end()));
    CHECK(mine.size() == static_cast<std::size_t>(B / R + (r < B % R ? 1 : 0)));
  }
}

TEST_CASE("data-parallel SVI of a HiddenLayer BNN equals one process on the whole batch", "[mpi]") {
  const SmallBnn bnn;
  // Batches of 9 rows: with 2 ranks the shares are 5 and 4, so the weighting by share is
  // what makes the runs agree.
  const auto batches = global_batches(SmallBnn::N, 9, kSteps);
  ParamStore reference, distributed;
  std::vector<double> reference_losses, distributed_losses;
  {
    ParamStoreScope use(reference);
    SmallBnn::init_params();
    set_rng_seed(11);
    Adam adam(Scalar(0.01));
    SVI svi(bnn, empty_guide, adam);
    for (const auto& rows : batches) reference_losses.push_back(bnn.step(svi, rows));
  }
  {
    ParamStoreScope use(distributed);
    SmallBnn::init_params();
    DataParallel dp(world());
    dp.broadcast_params();
    set_rng_seed(11);  // every rank draws the weights the one process drew (see fixtures.hpp)
    Adam adam(Scalar(0.01));
    SVI svi(bnn, empty_guide, adam);
    svi.set_reducer(&dp);
    for (const auto& rows : batches) distributed_losses.push_back(bnn.step(svi, dp.shard(rows)));
    CHECK(dp.stats().steps == kSteps);
    // Every param's gradient, a flag per param, the loss and the weight.
    std::size_t entries = 0;
    for (const auto& e : distributed.entries())
      entries += std::size_t(e.second.unconstrained.size());
    CHECK(dp.stats().bytes == (entries + distributed.size() + 2) * sizeof(Scalar));
  }
  // The params moved (by about the learning rate per step), and alike in both runs.
  ParamStore start;
  {
    ParamStoreScope use(start);
    SmallBnn::init_params();
  }
  CHECK(max_param_difference(reference, start) > 1e-3);
  CHECK(max_param_difference(reference, distributed) < rounding_tolerance());
  for (int s = 0; s < kSteps; ++s) {
    CHECK(distributed_losses[std::size_t(s)] ==
          Approx(reference_losses[std::size_t(s)]).epsilon(rounding_tolerance()));
  }
}

namespace {

// Gives the guide's site "z" the reparameterised draw loc + scale * eps with eps fixed per
// datum (row i of `eps` for datum i), so a datum's noise is the same whichever rank's share
// holds it. Only the guide's z (whose loc depends on params) is given one; the model's z is
// replayed from the guide before this handler sees it.
class DatumNoise : public Messenger {
 public:
  DatumNoise(const Matrix& eps, const std::vector<Index>& rows) : eps_(eps), rows_(rows) {}
  void process(Site& site) override {
    if (site.kind != SiteKind::sample || site.name != "z" || !site.value.empty()) return;
    const auto* independent = dynamic_cast<const Independent*>(site.dist.get());
    REQUIRE(independent != nullptr);
    const auto* normal = dynamic_cast<const Normal*>(independent->base().get());
    REQUIRE(normal != nullptr);
    if (!normal->loc().requires_grad()) return;
    Matrix e(Index(rows_.size()), eps_.cols());
    for (std::size_t i = 0; i < rows_.size(); ++i) e.row(Index(i)) = eps_.row(rows_[i]);
    site.value = normal->loc() + normal->scale() * Tensor(e);
  }

 private:
  const Matrix& eps_;
  const std::vector<Index>& rows_;
};

}  // namespace

TEST_CASE("data-parallel SVI of the VAE equals one process on the whole batch", "[mpi]") {
  constexpr Index N = 16, L = 3, B = 8;
  Rng data_rng(3);
  const Matrix images = data_rng.uniform(N, examples::kFashionMnistPixels);
  const examples::VaeModel model(N, L);
  const examples::VaeGuide guide(N, L);
  const auto batches = global_batches(N, B, kSteps);
  std::vector<Matrix> noise;  // per step, a row of noise per datum
  for (int s = 0; s < kSteps; ++s) noise.push_back(data_rng.normal(N, L));
  auto rows_of = [&](const std::vector<Index>& rows) {
    Matrix X(Index(rows.size()), images.cols());
    for (std::size_t i = 0; i < rows.size(); ++i) X.row(Index(i)) = images.row(rows[i]);
    return Tensor(X);
  };
  // The networks' params are made on first use, from the thread's generator: one loss
  // evaluation on the first whole batch, seeded alike, makes the same params everywhere.
  auto make_params = [&](auto& svi) {
    set_rng_seed(21);
    svi.evaluate_loss(rows_of(batches[0]), batches[0]);
  };
  ParamStore reference, distributed;
  std::vector<double> reference_losses, distributed_losses;
  {
    ParamStoreScope use(reference);
    Adam adam(Scalar(1e-3));
    SVI svi(model, guide, adam);
    make_params(svi);
    for (int s = 0; s < kSteps; ++s) {
      const auto& rows = batches[std::size_t(s)];
      DatumNoise eps(noise[std::size_t(s)], rows);
      reference_losses.push_back(svi.step(rows_of(rows), rows));
    }
  }
  {
    ParamStoreScope use(distributed);
    Adam adam(Scalar(1e-3));
    SVI svi(model, guide, adam);
    make_params(svi);
    DataParallel dp(world());
    dp.broadcast_params();
    svi.set_reducer(&dp);
    for (int s = 0; s < kSteps; ++s) {
      const std::vector<Index> rows = dp.shard(batches[std::size_t(s)]);
      DatumNoise eps(noise[std::size_t(s)], rows);
      distributed_losses.push_back(svi.step(rows_of(rows), rows));
    }
  }
  CHECK(max_param_difference(reference, distributed) < rounding_tolerance());
  for (int s = 0; s < kSteps; ++s) {
    CHECK(distributed_losses[std::size_t(s)] ==
          Approx(reference_losses[std::size_t(s)]).epsilon(rounding_tolerance()));
  }
}

TEST_CASE("a step with params other than the broadcast ones is an error on every rank", "[mpi]") {
  const SmallBnn bnn;
  ParamStore store;
  ParamStoreScope use(store);
  SmallBnn::init_params();
  DataParallel dp(world());
  Adam adam(Scalar(0.01));
  SVI svi(bnn, empty_guide, adam);
  svi.set_reducer(&dp);
  // No broadcast_params() yet.
  CHECK_THROWS_WITH(bnn.step(svi, dp.shard({0, 1, 2, 3})),
                    Catch::Contains("not those of the last broadcast_params()"));
  dp.broadcast_params();
  CHECK_NOTHROW(bnn.step(svi, dp.shard({0, 1, 2, 3})));
}
