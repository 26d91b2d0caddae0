// Per-op cost of the tape on scalars: forward and backward of a graph of ~50 ops on 1x1
// Tensors, then a tape reset. What remains is bookkeeping, not arithmetic.
#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "timing.hpp"

using namespace vesta;

int main() {
  const Tensor a = Tensor::variable(Matrix::Constant(1, 1, 0.3));
  const Tensor b = Tensor::variable(Matrix::Constant(1, 1, -0.7));
  const Tensor c(Scalar(0.5));

  // 10 rounds of 5 ops: mul, add, tanh, sub, mul with a constant.
  auto graph = [&] {
    Tensor t = a;
    for (int i = 0; i < 10; ++i) {
      t = tanh(t * a + b) - c * t;
    }
    return t;
  };
  graph().backward();
  const std::size_t ops = tape().num_nodes() - 2;  // minus the two leaves
  tape().reset();

  double sink = 0;
  const double seconds = bench::median_seconds_per_call(
      [&] {
        const Tensor loss = graph();
        loss.backward();
        sink += loss.value()(0, 0);
        tape().reset();
      },
      20000, 15);
  const double ns_per_op = seconds * 1e9 / static_cast<double>(ops);
  fmt::print("graph of {} scalar ops: {:.0f} ns forward+backward+reset, {:.1f} ns per op\n", ops,
             seconds * 1e9, ns_per_op);
  fmt::print(
      R"({{"bench": "op_overhead", "scalar": "{}", "ops_per_graph": {}, "ns_per_graph": {:.1f}, "ns_per_op": {:.2f}, "checksum": {:.6g}}})"
      "\n",
      bench::scalar_name(), ops, seconds * 1e9, ns_per_op, sink + a.grad()(0, 0));
}
