// How the Fashion-MNIST VAE step (bench/vae_step's, from bench/fashion_vae.hpp: latent 10,
// Trace_ELBO) grows with the batch: 32, 64, 128, 256, 512. For each batch one JSON line: the
// wall and thread CPU time per step, the GEMM flops per step (counted as vae_step counts
// them) and the GFLOP/s reached, page faults per step, and gemm_us, the time of the same
// GEMMs done bare (by the kernel the step uses) on preallocated matrices, timed in alternating
// rounds with the step (bench/gemm_floor.hpp); gemm_ratio = gemm_us / us_per_step is the share
// of the GEMM floor the step reaches, and eigen_gemm_ratio the same against the GEMMs done by
// Eigen's own product. Each batch takes about a second unless one step takes longer. Use a
// float build (-DVESTA_SCALAR=float).
//
//   build-float/bench/vae_size_sweep > vae_size_sweep.jsonl
//
// Options: --batch N runs that one batch only. Needs Fashion-MNIST (dataset-fashion-mnist).
#include <vector>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "fashion_vae.hpp"
#include "gemm_floor.hpp"
#include "timing.hpp"

using namespace vesta;

int main(int argc, char** argv) {
  using Step = bench::FashionVaeStep<>;
  const Index latent = 10;
  std::vector<Index> batches = {32, 64, 128, 256, 512};
  const Index only_batch = bench::option(argc, argv, "--batch", 0);
  if (only_batch < 0 || only_batch * Step::kNumBatches > bench::kFashionTrainSize) {
    fmt::print(stderr, "vae_size_sweep: --batch is {}; need 1 <= batch <= {}\n", only_batch,
               bench::kFashionTrainSize / Step::kNumBatches);
    return 2;
  }
  if (only_batch != 0) batches = {only_batch};
  Index most = 0;
  for (const Index B : batches) most = std::max(most, B);
  const auto train = bench::load_fashion_train("vae_size_sweep", most * Step::kNumBatches);
  if (!train) return 1;

  for (const Index B : batches) {
    Step vae(*train, B, latent);
    double loss = 0;
    const bench::FloorMeasurement m =
        bench::measure_against_gemm_floor([&] { loss = vae.step(); }, vae.gemms(), 1.0);
    bench::print_floor_line(
        fmt::format(R"("bench": "vae_size_sweep", "batch": {}, "latent": {})", B, latent), m, loss);
  }
}
