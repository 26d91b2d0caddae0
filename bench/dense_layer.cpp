// A dense layer's training step, relu(X W + b) summed, forward and backward, against bare
// Eigen GEMMs of the same shapes in the same run: how close the tape gets to the GEMM floor.
#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "timing.hpp"

using namespace vesta;

int main() {
  const Index B = 128, D = 784, H = 400;
  const Tensor X(Matrix::Random(B, D));
  const Tensor W = Tensor::variable(Matrix::Random(D, H) * Scalar(0.05));
  const Tensor b = Tensor::variable(Matrix::Zero(1, H));

  // The step needs two GEMMs: X W forward and X^T G for W's gradient (X is data).
  const double flops = 2.0 * (2.0 * B * D * H);

  const double step = bench::median_seconds_per_call(
      [&] {
        W.zero_grad();
        b.zero_grad();
        sum(relu(matmul(X, W) + b)).backward();
        tape().reset();
      },
      20, 15);

  const Matrix Xm = X.matrix();
  const Matrix Wm = W.matrix();
  const Matrix G = Matrix::Random(B, H);
  Matrix Y(B, H), dW(D, H);
  const double gemm = bench::median_seconds_per_call(
      [&] {
        Y.noalias() = Xm * Wm;
        dW.noalias() = Xm.transpose() * G;
      },
      20, 15);

  const double gflops = flops / step * 1e-9;
  const double eigen_gflops = flops / gemm * 1e-9;
  fmt::print(
      "step {:.1f} us ({:.1f} GFLOP/s); bare Eigen GEMMs {:.1f} us ({:.1f} GFLOP/s); threads {}\n",
      step * 1e6, gflops, gemm * 1e6, eigen_gflops, num_threads());
  fmt::print(
      R"({{"bench": "dense_layer", "scalar": "{}", "us_per_step": {:.1f}, "gflops": {:.2f}, "eigen_gemm_gflops": {:.2f}, "ratio": {:.3f}, "threads": {}, "checksum": {:.6g}}})"
      "\n",
      bench::scalar_name(), step * 1e6, gflops, eigen_gflops, gflops / eigen_gflops, num_threads(),
      static_cast<double>(W.grad().sum() + Y.sum() + dW.sum()));
}
