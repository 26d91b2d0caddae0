// Writing your own differentiable op, the way vesta's own are written
// (<vesta/core/op_support.hpp>).
//
// The op here is SiLU (swish), x * sigmoid(x), a common activation that vesta does not ship.
// Composed from vesta's ops it records three nodes (sigmoid, a product, and the matrices
// between them); fused, it records one node whose backward step is the derivative in closed
// form,
//
//     d/dx [x s(x)] = s(x) (1 + x (1 - s(x))),   s = sigmoid,
//
// so a forward and backward pass read and write each matrix once, with no intermediate nodes.
// The example checks the fused op's value and gradient against the composed one and against
// finite differences, times both (the exponential dominates this op, so fusing gains little
// here; it pays most where a chain of cheap elementwise steps would each read and write a
// whole matrix), and then uses it as a HiddenLayer's non-linearity in a model like any op.
//
// The last line printed is one JSON object of the results.
#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include <vesta/core/op_support.hpp>
#include <vesta/vesta.hpp>

#include "support/command_line.hpp"

using namespace vesta;

namespace {

// x * sigmoid(x), one node. The forward fill computes the value and keeps sigmoid(x) in tape
// memory (valid until the tape is reset) for the backward step, which may capture only
// pointers and numbers (it lives on the tape) and passes adj * derivative back to x.
Tensor silu(const Tensor& x) {
  const Operand X = Operand::of(x);
  if (!X.requires_grad()) {
    return constant_result(X.rows, X.cols, [&](Scalar* out) {
      ArrayMap(out, X.rows, X.cols) = X.array() / (1 + (-X.array()).exp());
    });
  }
  Scalar* s = tape().allocate(static_cast<std::size_t>(X.size()));
  auto fill = [&](Scalar* out) {
    ArrayMap sig(s, X.rows, X.cols);
    sig = 1 / (1 + (-X.array()).exp());
    ArrayMap(out, X.rows, X.cols) = X.array() * sig;
  };
  return recorded_result(X.rows, X.cols, fill, [xn = X.node, s](Node& y) {
    const ConstArrayMap v = xn->value_array();
    const ConstArrayMap sig(s, v.rows(), v.cols());
    xn->accumulate(y.adj_array() * sig * (1 + v * (1 - sig)));
  });
}

// The same function from vesta's ops: three nodes.
Tensor silu_composed(const Tensor& x) { return x * sigmoid(x); }

// Seconds per forward + backward pass of f on a 256 x 256 leaf.
template <class F>
double seconds_per_pass(F f, const Tensor& x, int reps) {
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) {
    TapeStep step;
    sum(f(x)).backward();
    x.zero_grad();
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / reps;
}

}  // namespace

int main(int argc, char** argv) {
  if (const int status = vesta::examples::no_options(
          argc, argv,
          "Writes a fused differentiable op (SiLU), checks its gradient and uses it in a model.");
      status >= 0) {
    return status;
  }
  Rng rng(1);
  const Tensor x = Tensor::variable(rng.normal(5, 3) * 3);

  // Value and gradient against the composed op.
  Matrix grad_fused, grad_composed;
  {
    TapeStep step;
    const Tensor a = silu(x), b = silu_composed(x);
    fmt::print("largest difference of the values: {:.3g}\n",
               (a.value() - b.value()).cwiseAbs().maxCoeff());
    sum(a).backward();
    grad_fused = x.grad();
    x.zero_grad();
    sum(b).backward();
    grad_composed = x.grad();
    x.zero_grad();
  }
  const double vs_composed = (grad_fused - grad_composed).cwiseAbs().maxCoeff();

  // And against central finite differences of the function itself.
  const double h = sizeof(Scalar) == 4 ? 1e-2 : 1e-6;
  double vs_fd = 0;
  const Matrix x0 = x.matrix();
  for (Index k = 0; k < x0.size(); ++k) {
    Matrix up = x0, down = x0;
    up.data()[k] += Scalar(h);
    down.data()[k] -= Scalar(h);
    const double fd = (silu(Tensor(up)).value().sum() - silu(Tensor(down)).value().sum()) / (2 * h);
    vs_fd = std::max(vs_fd, std::abs(fd - double(grad_fused.data()[k])));
  }
  fmt::print(
      "gradient: largest difference {:.3g} from the composed op, {:.3g} from finite differences\n",
      vs_composed, vs_fd);

  // Speed: one node against three.
  const Tensor big = Tensor::variable(rng.normal(256, 256));
  const int reps = 400;
  seconds_per_pass(silu, big, 20);  // warm up the tape's arena
  const double fused = seconds_per_pass(silu, big, reps);
  const double composed = seconds_per_pass(silu_composed, big, reps);
  fmt::print("forward + backward on 256x256: fused {:.1f} us, composed {:.1f} us ({:.2f}x)\n",
             fused * 1e6, composed * 1e6, composed / fused);

  // In a model: the fused op is a HiddenLayer's non-linearity like any other.
  const Matrix X = rng.normal(8, 3);
  const Trace t = trace([&] {
                    sample("h", HiddenLayer(X, Matrix::Constant(3, 4, 0.2),
                                            Matrix::Constant(3, 4, 0.1), {.non_linearity = silu}));
                  }).get_trace();
  fmt::print("a HiddenLayer with SiLU draws {} activations\n", t["h"].value.shape());

  const bool ok = vs_composed < (sizeof(Scalar) == 4 ? 1e-4 : 1e-12) &&
                  vs_fd < (sizeof(Scalar) == 4 ? 5e-2 : 1e-6);
  fmt::print(
      R"({{"example": "custom_op", "grad_vs_composed": {:.3g}, "grad_vs_finite_differences": {:.3g}, )"
      R"("fused_us": {:.2f}, "composed_us": {:.2f}, "speedup": {:.2f}, "ok": {}}})"
      "\n",
      vs_composed, vs_fd, fused * 1e6, composed * 1e6, composed / fused, ok ? "true" : "false");
  return ok ? 0 : 1;
}
