// A dense layer's SVI step over batch sizes: y ~ N(X W, 1) observed, W a 785 x 100 param (an
// empty guide: MAP), Trace_ELBO, Adam. Its two GEMMs (X W forward, X^T G for W's gradient;
// X is data) pack blocks larger than Eigen keeps on the stack (128 KiB) at every batch size
// here; the step must keep them, as it keeps every other buffer, so that page faults per step
// stay at 0 and the cost per example does not jump between neighbouring batch sizes.
// One JSON line per batch size; --batch N runs that one only.
#include <vector>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "timing.hpp"

using namespace vesta;

int main(int argc, char** argv) {
  const Index D = bench::option(argc, argv, "--inputs", 785);
  const Index H = bench::option(argc, argv, "--outputs", 100);
  const long only = bench::option(argc, argv, "--batch", 0);
  std::vector<Index> batches = {32, 64, 96, 128, 192, 256, 512, 1024};
  if (only > 0) batches = {Index(only)};
  for (const Index B : batches) {
    param_store().clear();
    Rng rng(1);
    const Tensor X(rng.normal(B, D));
    const Tensor Y(rng.normal(B, H));
    auto model = [&] {
      const Tensor W = param("W", Matrix::Zero(D, H));
      sample("y", Normal(matmul(X, W), 1), Y);
    };
    auto guide = [] {};
    Adam adam(Scalar(1e-3));
    SVI svi(model, guide, adam);
    svi.set_progress(nullptr);
    double loss = 0;
    const double flops = 2.0 * 2.0 * double(B) * double(D) * double(H);
    // About a tenth of a second per batch of calls.
    const int calls = static_cast<int>(std::max(1.0, 2e9 / flops));
    const bench::StepTiming t = bench::time_steps([&] { loss = svi.step(); }, calls, 7);
    fmt::print(
        R"({{"bench": "linear_step", "scalar": "{}", "batch": {}, "inputs": {}, "outputs": {}, )"
        R"("us_per_step": {:.1f}, "cpu_us_per_step": {:.1f}, "ns_per_example": {:.1f}, )"
        R"("gflops": {:.2f}, "page_faults_per_step": {:.1f}, "threads": {}, "loss": {:.6g}}})"
        "\n",
        bench::scalar_name(), B, D, H, t.wall * 1e6, t.cpu * 1e6, t.wall * 1e9 / double(B),
        flops / t.wall * 1e-9, t.faults, num_threads(), loss);
  }
}
