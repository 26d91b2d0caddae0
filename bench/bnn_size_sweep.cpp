// How the Fashion-MNIST BNN step (bench/bnn_step's, from bench/fashion_bnn.hpp) grows with
// the batch and the hidden width: batch 32, 64, ..., 1024 times hidden 50, 100, 200, 400,
// 800. For each size one JSON line: the wall and thread CPU time per step, the GEMM flops
// per step (counted as bnn_step counts them) and the GFLOP/s reached, page faults per step,
// and gemm_us, the time of the same GEMMs done bare (by the kernel the step uses) on
// preallocated matrices. gemm_ratio = gemm_us / us_per_step is the share of the GEMM floor the
// step reaches (1 would be a step that costs only its GEMMs); eigen_gemm_ratio is the same
// against the GEMMs done by Eigen's own product. The step and the bare GEMMs are timed in
// alternating rounds (bench/gemm_floor.hpp), so the ratio holds up on a shared machine better
// than either time. Each size takes about a second unless one step takes longer; the whole
// sweep under a minute on a quiet machine in a float build (-DVESTA_SCALAR=float).
//
//   build-float/bench/bnn_size_sweep > bnn_size_sweep.jsonl
//
// Options: --batch N and --hidden N run that one batch / hidden width only. Needs
// Fashion-MNIST (dataset-fashion-mnist).
#include <vector>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "fashion_bnn.hpp"
#include "gemm_floor.hpp"
#include "timing.hpp"

using namespace vesta;

int main(int argc, char** argv) {
  std::vector<Index> batches = {32, 64, 128, 256, 512, 1024};
  std::vector<Index> hiddens = {50, 100, 200, 400, 800};
  const Index only_batch = bench::option(argc, argv, "--batch", 0);
  const Index only_hidden = bench::option(argc, argv, "--hidden", 0);
  const Index num_batches = bench::FashionBnnStep::kNumBatches;
  if (only_batch != 0) batches = {only_batch};
  if (only_hidden != 0) hiddens = {only_hidden};
  if (only_batch < 0 || only_hidden < 0 || only_batch * num_batches > bench::kFashionTrainSize) {
    fmt::print(stderr,
               "bnn_size_sweep: --batch is {} and --hidden {}; need 1 <= batch <= {} and hidden "
               ">= 1\n",
               only_batch, only_hidden, bench::kFashionTrainSize / num_batches);
    return 2;
  }
  Index most = 0;
  for (const Index B : batches) most = std::max(most, B);
  const auto train = bench::load_fashion_train("bnn_size_sweep", most * num_batches);
  if (!train) return 1;

  for (const Index H : hiddens) {
    for (const Index B : batches) {
      bench::FashionBnnStep bnn(*train, B, H);
      double loss = 0;
      const bench::FloorMeasurement m =
          bench::measure_against_gemm_floor([&] { loss = bnn.step(); }, bnn.gemms(), 1.0);
      bench::print_floor_line(
          fmt::format(R"("bench": "bnn_size_sweep", "batch": {}, "hidden": {})", B, H), m, loss);
    }
  }
}
