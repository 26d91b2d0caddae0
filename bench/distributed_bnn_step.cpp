// Data-parallel SVI steps of the Fashion-MNIST BNN (the model of examples/bnn_fashion_mnist:
// HiddenLayers 784(+1)-100(+1)-10, ReLU, Categorical likelihood, Adam lr 1e-3) with a global
// batch of 256, first on rank 0 alone (the whole batch), then on every rank (each its share),
// with DataParallel's one gradient all-reduce per step. Prints one JSON line per
// configuration: the median time per step, the all-reduce's share of the step (time inside
// DataParallel::reduce, the wait for the slowest rank included), the bytes reduced per step,
// and how busy the machine was: the load average (/proc/loadavg) before and after, and the
// CPU seconds of all ranks per wall second (ranks x 1 when each rank had a core to itself).
// The last line is the comparison: throughput ratio and scaling efficiency (the ratio over
// the number of ranks). While rank 0 runs alone, the other ranks sleep (they do not spin in
// MPI's busy-waiting barrier).
//
// Build with -DVESTA_MPI=ON (cmake --build build-mpi --target distributed_bnn_step) and run:
//
//   mpirun -np 2 --oversubscribe build-mpi/bench/distributed_bnn_step
//
// (as root, add --allow-run-as-root). Options: --batch N (global, 256), --hidden N (100),
// --calls N (steps per timed batch, 10), --batches N (timed batches, 10). Needs Fashion-MNIST
// (dataset-fashion-mnist).
#include <chrono>
#include <ctime>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include <vesta/inference/distributed/data_parallel.hpp>
#include <vesta/vesta.hpp>

#include "support/fashion_mnist.hpp"
#include "support/fashion_mnist_bnn.hpp"
#include "timing.hpp"

using namespace vesta;
using namespace vesta::examples;

namespace {

constexpr Index kTrainSize = 60000;

std::string loadavg() {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  if (f == nullptr) return "unknown";
  double one = 0, five = 0, fifteen = 0;
  const int n = std::fscanf(f, "%lf %lf %lf", &one, &five, &fifteen);
  std::fclose(f);
  return n == 3 ? fmt::format("{:.2f} {:.2f} {:.2f}", one, five, fifteen) : "unknown";
}

double process_cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

// Waits for every rank of `comm` without spinning: a non-blocking barrier polled every ms.
void quiet_barrier(const Communicator& comm) {
  MPI_Request request;
  MPI_Ibarrier(comm.handle(), &request);
  int done = 0;
  while (MPI_Test(&request, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && !done) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

struct Result {
  double us_per_step;
  double allreduce_share;
  std::size_t bytes;
  double cpu_per_wall;  // all ranks' CPU seconds per wall second
};

// Times data-parallel steps over `comm` on the global batches.
Result measure(const Communicator& comm, const Dataset& train,
               const std::vector<std::vector<Index>>& batches, Index hidden, int calls,
               int timed_batches) {
  ParamStore store;
  ParamStoreScope use(store);
  Rng init_rng(2);
  init_fashion_mnist_bnn(hidden, init_rng);
  DataParallel dp(comm);
  dp.broadcast_params();
  dp.seed(1);
  struct Shard {
    Tensor X;
    std::optional<Tensor> labels;
    std::vector<Index> rows;
  };
  std::vector<Shard> shards;
  for (const auto& global : batches) {
    const std::vector<Index> rows = dp.shard(global);
    shards.push_back(
        {Tensor(gather_images(train, rows, true)), Tensor(gather_labels(train, rows)), rows});
  }
  Adam adam(Scalar(1e-3));
  const FashionMnistBnn model{kTrainSize};
  SVI svi(
      model, [](auto&&...) {}, adam);
  svi.set_reducer(&dp);
  std::size_t next = 0;
  const auto step = [&] {
    const std::size_t k = next++ % shards.size();
    dp.shard(batches[k]);  // records this rank's weight
    svi.step(shards[k].X, shards[k].labels, shards[k].rows);
  };
  comm.barrier();
  dp.reset_stats();
  const auto wall0 = std::chrono::steady_clock::now();
  const double cpu0 = process_cpu_seconds();
  const bench::StepTiming timing = bench::time_steps(step, calls, timed_batches);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  std::vector<double> cpu = {process_cpu_seconds() - cpu0};
  comm.all_reduce_sum(cpu);
  return {timing.wall * 1e6, dp.stats().seconds / wall, dp.stats().bytes, cpu[0] / wall};
}

void print(const Result& r, int ranks, Index batch, Index hidden, const std::string& load_before,
           const std::string& load_after) {
  fmt::print(
      R"({{"bench": "distributed_bnn_step", "scalar": "{}", "ranks": {}, "global_batch": {}, )"
      R"("hidden": {}, "us_per_step": {:.1f}, "allreduce_share": {:.3f}, "bytes_per_step": {}, )"
      R"("cpu_per_wall": {:.2f}, "loadavg_before": "{}", "loadavg_after": "{}"}})"
      "\n",
      bench::scalar_name(), ranks, batch, hidden, r.us_per_step, r.allreduce_share, r.bytes,
      r.cpu_per_wall, load_before, load_after);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  MpiSession mpi(argc, argv);
  const Communicator world = mpi.world();
  return world.guard([&] {
    const Index B = bench::option(argc, argv, "--batch", 256);
    const Index H = bench::option(argc, argv, "--hidden", 100);
    const int calls = static_cast<int>(bench::option(argc, argv, "--calls", 10));
    const int timed = static_cast<int>(bench::option(argc, argv, "--batches", 10));
    const Index num_batches = 8;
    if (B < world.size() || H < 1 || calls < 1 || timed < 1 || B * num_batches > kTrainSize) {
      throw ValueError(
          fmt::format("distributed_bnn_step: bad options (--batch {} --hidden {})", B, H));
    }
    const Dataset train = load_fashion_mnist("train", default_fashion_mnist_dir(), B * num_batches);
    std::vector<std::vector<Index>> batches;
    for (Index b = 0; b < num_batches; ++b) {
      std::vector<Index> rows(static_cast<std::size_t>(B));
      for (Index k = 0; k < B; ++k) rows[static_cast<std::size_t>(k)] = b * B + k;
      batches.push_back(std::move(rows));
    }

    // Rank 0 alone, the others asleep.
    const Communicator alone = world.split(world.rank() == 0 ? 0 : 1);
    std::optional<Result> one;
    std::string before = loadavg();
    if (world.is_root()) one = measure(alone, train, batches, H, calls, timed);
    quiet_barrier(world);
    if (world.is_root()) print(*one, 1, B, H, before, loadavg());

    // Every rank.
    before = loadavg();
    const Result all = measure(world, train, batches, H, calls, timed);
    if (world.is_root()) {
      print(all, world.size(), B, H, before, loadavg());
      const double speedup = one->us_per_step / all.us_per_step;
      fmt::print(
          R"({{"bench": "distributed_bnn_step", "summary": true, "ranks": {}, "throughput_ratio": {:.3f}, )"
          R"("scaling_efficiency": {:.3f}}})"
          "\n",
          world.size(), speedup, speedup / world.size());
    }
    return 0;
  });
}
