// One SVI step of the Fashion-MNIST BNN (ANCHORS.md workload W3, the model of
// examples/bnn_fashion_mnist.cpp, as bench/fashion_bnn.hpp defines it): HiddenLayers
// 784(+1)-100(+1)-10, ReLU, Categorical likelihood, batch 128, the KL counted once (KL_factor
// 1), Adam lr 1e-3, Trace_ELBO with an empty guide. A step is the forward pass, the ELBO, the
// backward pass and the Adam update of the four params; minibatches are made beforehand
// (their copying is not timed). Prints the median time per step, images per second, the GEMM
// throughput reached, and the process's peak resident memory. Use a float build
// (-DVESTA_SCALAR=float) for the figure ANCHORS.md quotes. Besides the wall-clock median it
// reports the median thread CPU time per step (steadier when other work shares the machine)
// and the minor page faults per step (buffers that the C library returned to the system and
// that must be touched afresh). bench/bnn_size_sweep runs the same step over many sizes.
//
// Options: --hidden N (100), --batch N (128). Needs Fashion-MNIST (dataset-fashion-mnist).
#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "fashion_bnn.hpp"
#include "timing.hpp"

using namespace vesta;

int main(int argc, char** argv) {
  const Index H = bench::option(argc, argv, "--hidden", 100);
  const Index B = bench::option(argc, argv, "--batch", 128);
  const Index num_batches = bench::FashionBnnStep::kNumBatches;
  if (H < 1 || B < 1 || B * num_batches > bench::kFashionTrainSize) {
    fmt::print(stderr,
               "bnn_step: --hidden is {} and --batch {}; need hidden >= 1 and 1 <= batch <= {}\n",
               H, B, bench::kFashionTrainSize / num_batches);
    return 2;
  }
  const auto train = bench::load_fashion_train("bnn_step", B * num_batches);
  if (!train) return 1;

  bench::FashionBnnStep bnn(*train, B, H);
  double loss = 0;
  const bench::StepTiming timing = bench::time_steps([&] { loss = bnn.step(); }, 20, 15);

  const double flops = bench::gemm_flops(bnn.gemms());
  const double seconds = timing.wall;
  const double gflops = flops / seconds * 1e-9;
  const double rss = bench::peak_rss_mb();
  fmt::print(
      "BNN 784(+1)-{}(+1)-10, batch {}, {} scalars: {:.0f} us per step ({:.0f} us CPU, {:.1f} page "
      "faults), "
      "{:.0f} images/s, {:.1f} GFLOP/s of GEMM, peak RSS {:.1f} MB\n",
      H, B, bench::scalar_name(), seconds * 1e6, timing.cpu * 1e6, timing.faults,
      double(B) / seconds, gflops, rss);
  fmt::print(
      R"({{"bench": "bnn_step", "scalar": "{}", "batch": {}, "hidden": {}, "us_per_step": {:.1f}, )"
      R"("cpu_us_per_step": {:.1f}, "examples_per_s": {:.0f}, "gflops": {:.2f}, "mflop_per_step": {:.1f}, )"
      R"("peak_rss_mb": {:.1f}, "page_faults_per_step": {:.1f}, "threads": {}, "loss": {:.6g}}})"
      "\n",
      bench::scalar_name(), B, H, seconds * 1e6, timing.cpu * 1e6, double(B) / seconds, gflops,
      flops * 1e-6, rss, timing.faults, num_threads(), loss);
}
