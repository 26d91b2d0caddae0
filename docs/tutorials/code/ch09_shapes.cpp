// Chapter 9: shapes in vesta. 2-D tensors, batch rows and event columns, plates over rows
// and columns, and the errors a wrong shape gives.
#include <string>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "tutorial.hpp"

using namespace vesta;
using vesta::tutorial::Output;
using vesta::tutorial::report;

namespace {

// [snippet describe]
// One line per distribution: the shape of a draw, event_dim, and the shape of log_prob of a
// draw (the batch shape).
void describe(const std::string& label, const Distribution& d) {
  const Tensor draw = d.sample(thread_rng());
  fmt::print("{:<34} draw {:<6} event_dim {}  log_prob {}\n", label, draw.shape(), d.event_dim(),
             d.log_prob(draw).shape());
}
// [end]

// [snippet grid_model]
// A grid of counts: rows are fields (plate over rows), columns are years (a nested plate,
// which takes the columns). Each field has its own rate; each cell (field, year) its own
// effect, since that site sits inside both plates.
void grid_model(const Matrix& counts) {
  auto fields = plate("fields", counts.rows());
  const Tensor field_rate = sample("field_rate", Gamma(2.0, 1.0));  // fields x 1
  auto years = plate("years", counts.cols());                       // nested: columns
  const Tensor effect = sample("effect", LogNormal(0.0, 0.3));      // fields x years
  sample("count", Poisson(field_rate * effect), counts);
}
// [end]

}  // namespace

int main() {
  set_rng_seed(1);
  // [snippet broadcasting]
  const Tensor a = Tensor(Matrix::Constant(3, 2, 1.0));      // 3x2
  const Tensor row = Tensor(Matrix::Constant(1, 2, 10.0));   // 1x2: added to every row
  const Tensor col = Tensor(Matrix::Constant(3, 1, 100.0));  // 3x1: added to every column
  const Tensor b = a + row + col + 1000.0;                   // a scalar is 1x1
  fmt::print("{} + {} + {} + 1x1 -> {}; b(2, 1) = {}\n", a.shape(), row.shape(), col.shape(),
             b.shape(), b.value()(2, 1));
  // [end]
  report("broadcast_entry", b.value()(2, 1));

  {
    Output out("distributions");
    // [snippet shapes]
    describe("Normal(0, 1)", Normal(0, 1));
    describe("Normal(zeros(3, 2), 1)", Normal(Tensor::zeros(3, 2), 1));
    describe("... .to_event(1)", *Normal(Tensor::zeros(3, 2), 1).to_event(1));
    describe("... .to_event(2)", *Normal(Tensor::zeros(3, 2), 1).to_event(2));
    describe("Dirichlet(ones(3, 4))", Dirichlet(Tensor::ones(3, 4)));
    describe("MultivariateNormal(zeros(3, 2), I)",
             MultivariateNormal::from_scale_tril(Tensor::zeros(3, 2), Matrix::Identity(2, 2)));
    // [end]
  }

  Matrix counts(4, 3);
  counts << 2, 3, 1, 0, 1, 0, 5, 4, 6, 2, 2, 3;
  // [snippet grid_trace]
  const Trace t = trace(seed(grid_model, 3)).get_trace(counts);
  fmt::print("{}", t.format());
  // [end]
  {
    Output out("grid");
    fmt::print("{}", t.format());
  }
  report("field_rate_rows", static_cast<double>(t["field_rate"].value.rows()));
  report("effect_cols", static_cast<double>(t["effect"].value.cols()));
  tape().reset();

  // [snippet wrong_shape]
  // Data as a 1 x 4 row where the plate over 4 rows expects 4 x 1: an error, not 16 terms.
  const Matrix as_row = Matrix::Constant(1, 4, 9.0);
  try {
    auto data = plate("data", 4);
    sample("reading", Normal(9.0, 0.75), as_row);
  } catch (const ShapeError& e) {
    fmt::print("{}\n", e.what());
  }
  // [end]
  try {
    auto data = plate("data", 4);
    sample("reading", Normal(9.0, 0.75), as_row);
  } catch (const ShapeError& e) {
    Output out("wrong_shape");
    fmt::print("{}\n", e.what());
  }
  tape().reset();
  return 0;
}
