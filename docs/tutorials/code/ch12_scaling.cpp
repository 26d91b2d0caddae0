// Chapter 12: scaling out over MPI ranks. A Bayesian linear layer fitted by data-parallel SVI
// (each rank's loss and the combined one, the rule for global terms, one rank against two
// against the closed form, a checkpoint resumed), then NUTS chains over the ranks against the
// exact posterior. Built with -DVESTA_MPI=ON; its test runs it as `mpiexec -n 2 ch12_scaling`.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <Eigen/LU>

#include <vesta/inference/distributed/chains_over_ranks.hpp>
#include <vesta/inference/distributed/data_parallel.hpp>
#include <vesta/vesta.hpp>

#include "support/checkpoint.hpp"
#include "tutorial.hpp"

using namespace vesta;

namespace {

// [snippet constants]
constexpr Index N = 1000;         // rows of the data set
constexpr Index D = 3;            // columns: x1, x2 and a column of ones
constexpr Scalar kNoise = 1;      // the noise sd, known
constexpr Index B = 100;          // rows of a global minibatch, over all ranks
constexpr long kSteps = 4000;     // SVI steps of a run
constexpr long kAveraged = 2000;  // the last steps, whose params are averaged
// [end]

// [snippet data]
// y = x1 - 2 x2 + 0.5 + noise (sd 1), with x1 and x2 correlated (0.8). Every rank makes the
// same N rows from the same seed; a rank of a real job would read the rows it is dealt.
void make_data(Matrix& X, Matrix& y) {
  Rng rng(12);
  const Matrix z = rng.normal(N, 2), eps = rng.normal(N, 1);
  X.resize(N, D);
  X.col(0) = z.col(0);
  X.col(1) = 0.8 * z.col(0) + 0.6 * z.col(1);
  X.col(2).setOnes();
  y = X * Matrix{{1.0}, {-2.0}, {0.5}} + kNoise * eps;
}
// [end]

// [snippet model]
// Bayesian linear regression as one HiddenLayer: weights w (D x 1) with the prior N(0, 1) and
// the mean-field posterior N(w_mean, w_scale), their KL folded into the model; the guide is
// empty. X_rows and y_rows are the rows `rows` of a data set of n rows. The layer draws one
// weight vector per run (weight_space_sampling), shared by all the rows it sees.
void model(const Tensor& X_rows, const Tensor& y_rows, Index n, const std::vector<Index>& rows) {
  auto data = plate("data", n, rows);
  const Tensor w_mean = param("w_mean", Matrix::Zero(D, 1));
  const Tensor w_scale = param("w_scale", Matrix::Constant(D, 1, 0.1), constraints::positive());
  const Tensor f = sample("f", HiddenLayer(X_rows, w_mean, w_scale,
                                           {.include_hidden_bias = false,
                                            .non_linearity = identity,
                                            .weight_space_sampling = true}));
  sample("y", Normal(f, kNoise), y_rows);
}

void guide(const Tensor&, const Tensor&, Index, const std::vector<Index>&) {}
// [end]

// The rows `rows` of `m`.
Tensor rows_of(const Matrix& m, const std::vector<Index>& rows) {
  Matrix out(Index(rows.size()), m.cols());
  for (std::size_t i = 0; i < rows.size(); ++i) out.row(Index(i)) = m.row(rows[i]);
  return Tensor(out);
}

// 0, 1, ..., n - 1.
std::vector<Index> first_rows(Index n) {
  std::vector<Index> rows(static_cast<std::size_t>(n));
  std::iota(rows.begin(), rows.end(), Index(0));
  return rows;
}

// [snippet batches]
// The global minibatch of step s: a block of B rows of its epoch's shuffle, drawn from a seed
// of the epoch's own, so every rank, and a run resumed at any step, sees the same batches.
std::vector<Index> global_batch(long s) {
  const long per_epoch = N / B;
  std::vector<Index> order = first_rows(N);
  Rng shuffle = Rng(17).fork(std::uint64_t(s / per_epoch));
  std::shuffle(order.begin(), order.end(), shuffle);
  const auto first = order.begin() + (s % per_epoch) * B;
  return {first, first + B};
}
// [end]

// [snippet fit]
// Steps [done, stop) of data-parallel SVI over the ranks of `comm`, where `done` is the step
// of the checkpoint at `path` (0 without one). Returns the guide's w_mean and w_scale (D x 2)
// averaged over the last kAveraged of kSteps steps: the same on every rank.
Matrix fit(const Communicator& comm, const Matrix& X, const Matrix& y, const std::string& path = "",
           long stop = kSteps) {
  ParamStore store;
  ParamStoreScope use(store);  // this run's params, apart from the other runs'
  DataParallel dp(comm);
  dp.seed(2026);  // rank 0 draws from Rng(2026), as one process would; rank r from a fork
  Adam adam(0.05);
  adam.set_schedule(schedules::exponential_decay(0.05, std::pow(0.02, 1.0 / kSteps)));
  SVI svi(model, guide, adam);
  svi.set_progress(nullptr);
  // Every param made (one loss makes them), then rank 0's values on every rank.
  const std::vector<Index> row0 = {0};
  svi.evaluate_loss(rows_of(X, row0), rows_of(y, row0), N, row0);
  dp.broadcast_params();
  svi.set_reducer(&dp);  // every step's gradients and loss combined over the ranks
  const examples::TrainingCheckpoint checkpoint(path, 1000, dp);
  const long done = checkpoint.resume(adam);  // 0 if there is no file
  Matrix average = Matrix::Zero(D, 2);
  for (long s = done; s < stop; ++s) {
    const std::vector<Index> mine = dp.shard(global_batch(s));  // this rank's share
    svi.step(rows_of(X, mine), rows_of(y, mine), N, mine);
    if (checkpoint.due(s + 1)) checkpoint.save(s + 1, adam);
    if (s >= kSteps - kAveraged) {
      average.col(0) += param("w_mean").value() / double(kAveraged);
      average.col(1) += param("w_scale").value() / double(kAveraged);
    }
  }
  return average;
}
// [end]

// [snippet nuts_model]
// The same regression for NUTS: the weights are a latent site (1 x D), prior N(0, 1).
void regression(const Matrix& X, const Matrix& y) {
  const Tensor w = sample("w", Normal(Tensor(Matrix::Zero(1, D)), 1).to_event(1));
  auto data = plate("data", X.rows());
  sample("y", Normal(matmul(Tensor(X), transpose(w)), kNoise), Tensor(y));
}
// [end]

// The largest difference between the entries of two matrices of one shape.
double max_difference(const Matrix& a, const Matrix& b) { return (a - b).cwiseAbs().maxCoeff(); }

int run(const Communicator& world) {
  const bool root = world.is_root();
  auto report = [&](const std::string& name, double value) {
    if (root) tutorial::report(name, value);
  };
  Matrix X, y;
  make_data(X, y);

  // [snippet closed_form]
  // The exact posterior, N(m, inverse(precision)), and the best mean-field guide: the same
  // mean m, and the scales 1 / sqrt(precision_jj).
  const Matrix precision = Matrix::Identity(D, D) + X.transpose() * X / (kNoise * kNoise);
  const Matrix covariance = precision.inverse();
  const Matrix exact_mean = covariance * X.transpose() * y / (kNoise * kNoise);
  const Matrix meanfield_sd = precision.diagonal().cwiseInverse().cwiseSqrt();
  // [end]
  for (Index j = 0; j < D; ++j) {
    report(fmt::format("exact_mean{}", j), exact_mean(j, 0));
    report(fmt::format("exact_sd{}", j), std::sqrt(covariance(j, j)));
    report(fmt::format("meanfield_sd{}", j), meanfield_sd(j, 0));
  }

  // [snippet split_loss]
  // The loss of the whole data set at the initial params, split over the ranks: each rank
  // scores its share of the N rows. Every rank draws the same weights (the same seed), so
  // the split is the only difference from one process scoring all N rows.
  DataParallel dp(world);
  const std::vector<Index> all = first_rows(N), mine = dp.shard(all);
  set_rng_seed(3);
  const double loss_mine =
      Trace_ELBO().loss(model, guide, rows_of(X, mine), rows_of(y, mine), N, mine);
  // Rank r's loss weighs B_r / B, as DataParallel weighs every step's loss and gradients.
  std::vector<double> combined = {double(mine.size()) / double(N) * loss_mine};
  world.all_reduce_sum(combined);
  set_rng_seed(3);
  const double loss_all = Trace_ELBO().loss(model, guide, rows_of(X, all), rows_of(y, all), N, all);
  // [end]
  // [snippet trace]
  set_rng_seed(3);
  const Trace t = trace(model).get_trace(rows_of(X, mine), rows_of(y, mine), N, mine);
  if (world.is_root()) fmt::print("{}", t.format());
  // [end]
  if (root) {
    tutorial::Output out("trace");
    fmt::print("{}", t.format());
  }
  {
    const auto losses = world.all_gather({double(mine.size()), loss_mine});
    if (root) {
      tutorial::Output out("rank_losses");
      fmt::print("rank   rows   loss\n");
      for (std::size_t r = 0; r < losses.size(); ++r)
        fmt::print("{:<6} {:<6} {:.3f}\n", r, losses[r][0], losses[r][1]);
    }
  }
  // DataParallel's own reduction (what SVI::step calls) of the same losses, with the share
  // that shard() recorded above: it must give the same number.
  dp.broadcast_params();  // reduce() checks that the ranks hold the params broadcast last
  const double reduced = dp.reduce(loss_mine, param_store());
  report("reduced_minus_combined", reduced - combined[0]);
  report("combined_loss", combined[0]);
  report("one_process_loss", loss_all);
  report("combined_minus_one_process", combined[0] - loss_all);

  // [snippet naive]
  // The mistake: each rank takes its share for a data set of its own (a plate of
  // mine.size() rows, not N), and the ranks add their losses.
  const auto n_mine = Index(mine.size());
  set_rng_seed(3);
  const double loss_alone = Trace_ELBO().loss(model, guide, rows_of(X, mine), rows_of(y, mine),
                                              n_mine, first_rows(n_mine));
  std::vector<double> naive = {loss_alone};
  world.all_reduce_sum(naive);
  // [end]
  double kl = 0;
  {
    set_rng_seed(3);
    const Trace t = trace(model).get_trace(rows_of(X, all), rows_of(y, all), N, all);
    kl = -t.log_prob("f").item();
  }
  report("naive_minus_one_process", naive[0] - loss_all);
  report("kl", kl);

  // [snippet fits]
  const Communicator alone = world.split(world.rank());  // each rank a group of its own
  const Matrix one_rank = fit(alone, X, y);              // a run of one process
  const Matrix all_ranks = fit(world, X, y);             // over every rank of the job
  // [end]
  for (Index j = 0; j < D; ++j) {
    report(fmt::format("one_rank_mean{}", j), one_rank(j, 0));
    report(fmt::format("one_rank_scale{}", j), one_rank(j, 1));
    report(fmt::format("all_ranks_mean{}", j), all_ranks(j, 0));
    report(fmt::format("all_ranks_scale{}", j), all_ranks(j, 1));
  }
  {
    report("one_rank_mean_error", max_difference(one_rank.col(0), exact_mean));
    report("all_ranks_mean_error", max_difference(all_ranks.col(0), exact_mean));
    report("one_rank_scale_error", max_difference(one_rank.col(1), meanfield_sd));
    report("all_ranks_scale_error", max_difference(all_ranks.col(1), meanfield_sd));
    // Every rank ends with the same params: rank 0's averages against every other rank's.
    const std::vector<double> flat(all_ranks.data(), all_ranks.data() + all_ranks.size());
    double differ = 0;
    for (const auto& other : world.all_gather(flat)) {
      for (std::size_t k = 0; k < flat.size(); ++k)
        differ = std::max(differ, std::abs(other[k] - flat[k]));
    }
    report("ranks_differ", differ);
  }

  // [snippet checkpoint]
  const std::string path = "ch12_checkpoint.params";
  if (world.is_root()) std::remove(path.c_str());
  world.barrier();                                // no rank looks for the file before it is gone
  fit(world, X, y, path, 1000);                   // stopped after step 1000, saved there
  const Matrix resumed = fit(world, X, y, path);  // resumes at step 1000
  // [end]
  report("resumed_differ", max_difference(resumed, all_ranks));
  world.barrier();
  if (root) std::remove(path.c_str());

  // [snippet nuts]
  MCMCOptions options;
  options.seed = 7;
  options.progress = nullptr;
  options.parallel = false;  // one core per rank here: a rank runs its chains one by one
  options.exchange = std::make_shared<ChainsOverRanks>(world);  // chain c on rank c mod R
  NUTS kernel(regression);
  MCMC mcmc(kernel, 500, 500, 4, options);  // 4 chains of 500 warm-up + 500 draws
  mcmc.run(X, y);
  const MCMCSummary summary = mcmc.summary();  // every rank has every chain
  if (world.is_root()) fmt::print("{}", summary.format());
  // [end]
  // Each posterior mean against the exact one, in Monte Carlo standard errors sd / sqrt(ESS).
  double largest_z = 0;
  for (Index j = 0; j < D; ++j) {
    const SummaryRow& row = summary.at(fmt::format("w[{}]", j));
    report(fmt::format("nuts_mean{}", j), row.mean);
    report(fmt::format("nuts_sd{}", j), row.sd);
    report(fmt::format("nuts_ess{}", j), row.ess_bulk);
    report(fmt::format("nuts_rhat{}", j), row.rhat);
    const double z = (row.mean - exact_mean(j, 0)) / (row.sd / std::sqrt(row.ess_bulk));
    largest_z = std::max(largest_z, std::abs(z));
  }
  report("nuts_largest_z", largest_z);
  report("divergences", double(summary.divergences));
  // The same chains in one process (rank 0 only): the same draws, bit for bit.
  if (root) {
    options.exchange = nullptr;
    MCMC alone_mcmc(kernel, 500, 500, 4, options);
    alone_mcmc.run(X, y);
    double differ = 0;
    for (std::size_t c = 0; c < 4; ++c)
      differ =
          std::max(differ, max_difference(alone_mcmc.chains()[c].draws, mcmc.chains()[c].draws));
    report("chains_differ", differ);
  }
  tape().reset();
  return 0;
}

}  // namespace

// [snippet main]
int main(int argc, char** argv) {
  MpiSession mpi(argc, argv);                      // starts MPI; ends it when main returns
  const Communicator world = mpi.world();          // every rank of the job
  return world.guard([&] { return run(world); });  // one rank's error stops every rank
}
// [end]
