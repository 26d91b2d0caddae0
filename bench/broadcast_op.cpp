// Cost of a broadcasting binary op, forward and backward, against the same op on operands of
// equal shape: x + b where b is a row (1 x C, a bias), a column (R x 1) or all of x's shape,
// and x * b with a row for comparison. Both operands are leaves; each call records the op,
// sums it, runs backward and resets the tape. One JSON line per case.
#include <string>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "timing.hpp"

using namespace vesta;

int main() {
  struct Case {
    Index rows, cols;
  };
  struct Operand {
    const char* kind;
    const char* op;
  };
  for (const Case c : {Case{32, 784}, Case{128, 100}, Case{100, 20}}) {
    Rng rng(1);
    const Tensor x = Tensor::variable(rng.normal(c.rows, c.cols));
    for (const Operand o : {Operand{"full", "add"}, Operand{"row", "add"}, Operand{"column", "add"},
                            Operand{"row", "mul"}}) {
      const std::string kind = o.kind;
      const bool is_add = std::string(o.op) == "add";
      const Index br = kind == "row" ? 1 : c.rows;
      const Index bc = kind == "column" ? 1 : c.cols;
      const Tensor b = Tensor::variable(rng.normal(br, bc));
      double sink = 0;
      const double seconds = bench::median_seconds_per_call(
          [&] {
            const Tensor total = sum(is_add ? x + b : x * b);
            total.backward();
            sink += total.item();
            tape().reset();
          },
          std::max<int>(20, int(2000000 / (c.rows * c.cols))), 15);
      fmt::print(
          R"({{"bench": "broadcast_op", "scalar": "{}", "op": "{}", "x": "{}x{}", "b": "{}x{}", )"
          R"("us": {:.3f}, "ns_per_entry": {:.3f}, "checksum": {:.6g}}})"
          "\n",
          bench::scalar_name(), o.op, c.rows, c.cols, br, bc, seconds * 1e6,
          seconds * 1e9 / double(c.rows * c.cols), sink);
    }
  }
}
