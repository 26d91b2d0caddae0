// One SVI step of the Fashion-MNIST BNN (ANCHORS.md workload W3, the model of
// examples/bnn_fashion_mnist.cpp): HiddenLayers 784(+1)-100(+1)-10, ReLU, Categorical
// likelihood, batch 128, the KL counted once (KL_factor 1), Adam lr 1e-3, Trace_ELBO with an empty
// guide. A step is the forward pass, the ELBO, the backward pass and the Adam update of the
// four params; minibatches are made beforehand (their copying is not timed). Prints the median
// time per step, images per second, the GEMM throughput reached, and the process's peak
// resident memory. Use a float build (-DVESTA_SCALAR=float) for the figure ANCHORS.md quotes.
// Besides the wall-clock median it reports the median thread CPU time per step (steadier
// when other work shares the machine) and the minor page faults per step (buffers that the
// C library returned to the system and that must be touched afresh).
//
// Options: --hidden N (100), --batch N (128). Needs Fashion-MNIST (dataset-fashion-mnist).
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "support/fashion_mnist.hpp"
#include "timing.hpp"

using namespace vesta;
using namespace vesta::examples;

namespace {

constexpr Index kTrainSize = 60000;

struct Bnn {
  void operator()(const Tensor& X, const std::optional<Tensor>& labels,
                  const std::vector<Index>& rows) const {
    const Tensor a1_mean = param("a1_mean"), a1_scale = param("a1_scale");
    const Tensor a2_mean = param("a2_mean"), a2_scale = param("a2_scale");
    auto data = plate("data", kTrainSize, rows);
    const Tensor h1 = sample("h1", HiddenLayer(X, a1_mean, a1_scale));
    const Tensor logits =
        sample("logits", HiddenLayer(h1, a2_mean, a2_scale,
                                     {.include_hidden_bias = false, .non_linearity = identity}));
    sample("label", Categorical::from_logits(logits), labels);
  }
};

}  // namespace

int main(int argc, char** argv) {
  const Index H = bench::option(argc, argv, "--hidden", 100);
  const Index B = bench::option(argc, argv, "--batch", 128);
  const Index num_batches = 16;
  const Index D1 = kFashionMnistPixels + 1, D2 = H + 1, K = kFashionMnistClasses;
  if (H < 1 || B < 1 || B * num_batches > kTrainSize) {
    fmt::print(stderr,
               "bnn_step: --hidden is {} and --batch {}; need hidden >= 1 and 1 <= batch <= {}\n",
               H, B, kTrainSize / num_batches);
    return 2;
  }

  Dataset train;
  try {
    train = load_fashion_mnist("train", default_fashion_mnist_dir(), B * num_batches);
  } catch (const DatasetError& e) {
    fmt::print(stderr, "bnn_step: {}\n", e.what());
    return 1;
  }
  struct Batch {
    Tensor X;
    std::optional<Tensor> labels;
    std::vector<Index> rows;
  };
  std::vector<Batch> batches;
  for (Index b = 0; b < num_batches; ++b) {
    std::vector<Index> rows(static_cast<std::size_t>(B));
    for (Index k = 0; k < B; ++k) rows[static_cast<std::size_t>(k)] = b * B + k;
    batches.push_back(
        {Tensor(gather_images(train, rows, true)), Tensor(gather_labels(train, rows)), rows});
  }

  set_rng_seed(1);
  Rng rng(2);
  param("a1_mean", rng.normal(D1, H) / std::sqrt(Scalar(D1)));
  param("a1_scale", Matrix::Constant(D1, H, Scalar(0.01)), constraints::positive());
  param("a2_mean", rng.normal(D2, K) / std::sqrt(Scalar(D2)));
  param("a2_scale", Matrix::Constant(D2, K, Scalar(0.01)), constraints::positive());
  Adam adam(Scalar(1e-3));
  SVI svi(
      Bnn{}, [](auto&&...) {}, adam);

  std::size_t next = 0;
  double loss = 0;
  const auto step = [&] {
    const Batch& b = batches[next++ % batches.size()];
    loss = svi.step(b.X, b.labels, b.rows);
  };
  const bench::StepTiming timing = bench::time_steps(step, 20, 15);

  // GEMM flops per step (2 per multiply-add). Layer 1 (X is data, so no gradient for it):
  // forward X A_mean and X^2 A_scale^2, backward X^T G and (X^2)^T G' for the two params:
  // 4 GEMMs of B x D1 x H. Layer 2 (its input h1 needs a gradient): the same two forward and
  // two param-gradient GEMMs, plus G A_mean^T and G' (A_scale^2)^T for h1: 6 of B x D2 x K.
  // The elementwise work (KL, square roots, exp of the scales, Adam) is not counted.
  const double flops = 4 * 2.0 * double(B * D1 * H) + 6 * 2.0 * double(B * D2 * K);
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
      flops * 1e-6, rss, timing.faults, Eigen::nbThreads(), loss);
}
