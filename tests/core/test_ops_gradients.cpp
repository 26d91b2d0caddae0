// Every op's gradient against central finite differences, as one table of cases run through
// the shared checker. Each broadcasting case of each binary op is its own row.
#include <vesta/vesta.hpp>

#include "support/gradcheck.hpp"

#if !VESTA_SCALAR_IS_FLOAT  // finite differences need double precision

using namespace vesta;
using vesta::testing::check_gradients;
using vesta::testing::random_matrix;

namespace {

struct Input {
  Index rows;
  Index cols;
  double lo = -2.0;
  double hi = 2.0;
  double gap = 0.0;  // keep |x| >= gap (away from kinks)
};

struct Case {
  std::string name;
  std::vector<Input> inputs;
  vesta::testing::Fn f;
};

using Xs = const std::vector<Tensor>&;

// One row holding 2 times the 3x3 identity, column-major: added to small entries, it makes
// every row's triangle well conditioned (for the rowwise_ ops).
Tensor near_two() {
  Matrix m = Matrix::Zero(1, 9);
  for (Index i = 0; i < 3; ++i) m(0, i * 3 + i) = 2;
  return Tensor(m);
}

std::vector<Case> unary_cases() {
  const Input any{3, 4};
  const Input pos{3, 4, 0.5, 3.0};
  const Input kinked{3, 4, -2.0, 2.0, 0.1};
  return {
      {"neg", {any}, [](Xs x) { return -x[0]; }},
      {"exp", {any}, [](Xs x) { return exp(x[0]); }},
      {"log", {pos}, [](Xs x) { return log(x[0]); }},
      {"log1p", {{3, 4, -0.5, 2.0}}, [](Xs x) { return log1p(x[0]); }},
      {"expm1", {any}, [](Xs x) { return expm1(x[0]); }},
      {"sqrt", {pos}, [](Xs x) { return sqrt(x[0]); }},
      {"square", {any}, [](Xs x) { return square(x[0]); }},
      {"pow scalar 2.5", {pos}, [](Xs x) { return pow(x[0], 2.5); }},
      {"pow scalar 3", {any}, [](Xs x) { return pow(x[0], 3); }},
      {"abs", {kinked}, [](Xs x) { return abs(x[0]); }},
      {"tanh", {any}, [](Xs x) { return tanh(x[0]); }},
      {"sigmoid", {{3, 4, -6, 6}}, [](Xs x) { return sigmoid(x[0]); }},
      {"relu", {kinked}, [](Xs x) { return relu(x[0]); }},
      {"relu beside another use of its input", {kinked}, [](Xs x) { return relu(x[0]) + x[0]; }},
      {"leaky_relu", {kinked}, [](Xs x) { return leaky_relu(x[0], 0.2); }},
      {"softplus", {{3, 4, -6, 6}}, [](Xs x) { return softplus(x[0]); }},
      {"log_sigmoid", {{3, 4, -6, 6}}, [](Xs x) { return log_sigmoid(x[0]); }},
      {"lgamma", {{3, 4, 0.3, 6.0}}, [](Xs x) { return lgamma(x[0]); }},
      {"digamma", {{3, 4, 0.3, 6.0}}, [](Xs x) { return digamma(x[0]); }},
      {"erf", {any}, [](Xs x) { return erf(x[0]); }},
      // Inputs in (-2, 2) against bounds +-1, nudged off the bounds by the scaling below.
      {"clamp", {kinked}, [](Xs x) { return clamp(x[0] * 0.9 + 0.05, -1.0, 1.0); }},
  };
}

std::vector<Case> reduction_cases() {
  const Input m{3, 4};
  const Input wide{3, 4, -5.0, 5.0};
  return {
      {"sum", {m}, [](Xs x) { return sum(x[0]); }},
      {"mean", {m}, [](Xs x) { return mean(x[0]); }},
      {"rowwise_sum", {m}, [](Xs x) { return rowwise_sum(x[0]); }},
      {"rowwise_mean", {m}, [](Xs x) { return rowwise_mean(x[0]); }},
      {"colwise_sum", {m}, [](Xs x) { return colwise_sum(x[0]); }},
      {"colwise_mean", {m}, [](Xs x) { return colwise_mean(x[0]); }},
      {"logsumexp", {wide}, [](Xs x) { return logsumexp(x[0]); }},
      {"rowwise_logsumexp", {wide}, [](Xs x) { return rowwise_logsumexp(x[0]); }},
      {"rowwise_log_softmax", {wide}, [](Xs x) { return rowwise_log_softmax(x[0]); }},
  };
}

std::vector<Case> linalg_and_shape_cases() {
  return {
      {"matmul", {{3, 4}, {4, 2}}, [](Xs x) { return matmul(x[0], x[1]); }},
      {"matmul row by matrix", {{1, 4}, {4, 3}}, [](Xs x) { return matmul(x[0], x[1]); }},
      {"matmul outer product", {{3, 1}, {1, 2}}, [](Xs x) { return matmul(x[0], x[1]); }},
      {"linear", {{3, 4}, {4, 2}, {1, 2}}, [](Xs x) { return linear(x[0], x[1], x[2]); }},
      {"linear with a reused input",
       {{3, 3}, {3, 3}, {1, 3}},
       [](Xs x) { return linear(x[0], x[1], x[2]) * x[0] + x[2]; }},
      {"transpose", {{3, 4}}, [](Xs x) { return transpose(x[0]); }},
      {"reshape 3x4 to 2x6", {{3, 4}}, [](Xs x) { return reshape(x[0], 2, 6); }},
      {"reshape to column", {{3, 4}}, [](Xs x) { return reshape(x[0], 12, 1); }},
      {"hstack",
       {{3, 2}, {3, 1}, {3, 3}},
       [](Xs x) {
         return hstack({x[0], x[1], x[2]});
       }},
      {"vstack",
       {{2, 3}, {1, 3}, {3, 3}},
       [](Xs x) {
         return vstack({x[0], x[1], x[2]});
       }},
      {"append_ones_column", {{3, 4}}, [](Xs x) { return append_ones_column(x[0]); }},
      {"gather_rows with repeats",
       {{4, 3}},
       [](Xs x) {
         return gather_rows(x[0], {2, 0, 2, 3});
       }},
      {"slice_cols", {{3, 5}}, [](Xs x) { return slice_cols(x[0], 1, 3); }},
      // Pyro's locs[z] with an enumerated z (every value, a row) and with drawn ones (a column).
      {"take with repeats",
       {{4, 1}},
       [](Xs x) {
         return take(x[0], Tensor(Matrix{{2, 0, 2, 3, 1}}));
       }},
      {"take into a matrix",
       {{2, 3}},
       [](Xs x) {
         return take(x[0], Tensor(Matrix{{5, 0}, {1, 5}, {3, 2}}));
       }},
      {"take_rows with repeats",
       {{3, 4}},
       [](Xs x) {
         return take_rows(x[0], Tensor(Matrix{{2, 0, 2}}));
       }},
      {"gather_cols with repeats",
       {{3, 4}},
       [](Xs x) {
         return gather_cols(x[0], {3, 0, 3, 1, 2});
       }},
      // A 2x3 matrix per row times a 3-vector per row, and each side broadcast from one row.
      {"rowwise_matvec", {{4, 6}, {4, 3}}, [](Xs x) { return rowwise_matvec(x[0], x[1]); }},
      {"rowwise_matvec one matrix",
       {{1, 6}, {4, 3}},
       [](Xs x) { return rowwise_matvec(x[0], x[1]); }},
      {"rowwise_matvec one vector",
       {{4, 6}, {1, 3}},
       [](Xs x) { return rowwise_matvec(x[0], x[1]); }},
      // 3x3 triangles per row with diagonals near 2 (well conditioned); the other triangle
      // is ignored. Each side broadcast from one row too.
      {"rowwise_solve_triangular lower",
       {{4, 9, -0.5, 0.5}, {4, 3}},
       [](Xs x) { return rowwise_solve_triangular(x[0] + near_two(), x[1]); }},
      {"rowwise_solve_triangular upper",
       {{4, 9, -0.5, 0.5}, {4, 3}},
       [](Xs x) { return rowwise_solve_triangular(x[0] + near_two(), x[1], false); }},
      {"rowwise_solve_triangular one triangle",
       {{1, 9, -0.5, 0.5}, {4, 3}},
       [](Xs x) { return rowwise_solve_triangular(x[0] + near_two(), x[1]); }},
      {"rowwise_solve_triangular one right-hand side",
       {{4, 9, -0.5, 0.5}, {1, 3}},
       [](Xs x) { return rowwise_solve_triangular(x[0] + near_two(), x[1]); }},
      // cholesky reads the symmetric part of a nonsymmetric perturbation of 4I (positive
      // definite for entries in [-0.5, 0.5]); and of a Gram matrix, as a covariance is built.
      {"cholesky",
       {{3, 3, -0.5, 0.5}},
       [](Xs x) { return cholesky(x[0] + Tensor(Matrix(4 * Matrix::Identity(3, 3)))); }},
      {"cholesky of a Gram matrix",
       {{4, 4}},
       [](Xs x) {
         return cholesky(matmul(x[0], transpose(x[0])) + Tensor(Matrix(Matrix::Identity(4, 4))));
       }},
      // Diagonals near 2 keep the triangle well conditioned; the other triangle is ignored.
      {"solve_triangular lower",
       {{3, 3, -0.5, 0.5}, {3, 2}},
       [](Xs x) {
         return solve_triangular(x[0] + Tensor(Matrix(2 * Matrix::Identity(3, 3))), x[1]);
       }},
      {"solve_triangular upper",
       {{3, 3, -0.5, 0.5}, {3, 2}},
       [](Xs x) {
         return solve_triangular(x[0] + Tensor(Matrix(2 * Matrix::Identity(3, 3))), x[1], false);
       }},
      {"solve_triangular one column",
       {{4, 4, -0.5, 0.5}, {4, 1}},
       [](Xs x) {
         return solve_triangular(x[0] + Tensor(Matrix(2 * Matrix::Identity(4, 4))), x[1]);
       }},
      {"diagonal", {{3, 3}}, [](Xs x) { return diagonal(x[0]); }},
      {"diagonal of a wide matrix", {{2, 4}}, [](Xs x) { return diagonal(x[0]); }},
      {"where with broadcast condition",
       {{3, 4}, {3, 4}},
       [](Xs x) {
         Matrix cond(1, 4);
         cond << 1, 0, 0, 1;
         return where(Tensor(cond), x[0], x[1]);
       }},
      {"where with broadcast branch",
       {{3, 4}, {1, 1}},
       [](Xs x) {
         Matrix cond = Matrix::Zero(3, 4);
         cond(0, 1) = cond(2, 3) = cond(1, 0) = 1;
         return where(Tensor(cond), x[0], x[1]);
       }},
      // A value used twice and a chain of ops: contributions must add up.
      {"shared subexpression",
       {{3, 4, 0.5, 2.0}},
       [](Xs x) {
         const Tensor s = square(x[0]);
         return s * x[0] + exp(s) / x[0] - rowwise_sum(s);
       }},
  };
}

// Binary ops under every broadcasting pattern: equal shapes, 1x1, 1xC and Rx1 on either
// side, and Rx1 against 1xC (outer).
std::vector<Case> broadcast_cases() {
  const std::vector<std::pair<std::pair<Index, Index>, std::pair<Index, Index>>> shapes = {
      {{3, 4}, {3, 4}}, {{3, 4}, {1, 1}}, {{1, 1}, {3, 4}}, {{3, 4}, {1, 4}}, {{1, 4}, {3, 4}},
      {{3, 4}, {3, 1}}, {{3, 1}, {3, 4}}, {{3, 1}, {1, 4}}, {{1, 1}, {1, 1}},
  };
  struct Op {
    const char* name;
    double lo_a, hi_a, lo_b, hi_b;
    Tensor (*f)(const Tensor&, const Tensor&);
  };
  const Op ops[] = {
      {"add", -2, 2, -2, 2, add},  {"sub", -2, 2, -2, 2, sub},      {"mul", -2, 2, -2, 2, mul},
      {"div", -2, 2, 0.5, 2, div}, {"pow", 0.5, 2, -1.5, 1.5, pow},
  };
  std::vector<Case> cases;
  for (const Op& op : ops) {
    for (const auto& [sa, sb] : shapes) {
      auto* f = op.f;
      cases.push_back(
          {fmt::format("{} {}x{} with {}x{}", op.name, sa.first, sa.second, sb.first, sb.second),
           {{sa.first, sa.second, op.lo_a, op.hi_a}, {sb.first, sb.second, op.lo_b, op.hi_b}},
           [f](Xs x) { return f(x[0], x[1]); }});
    }
  }
  // add and sub reduce a broadcast operand's gradient in one expression (accumulate_passed);
  // here each operand also receives gradients from other uses, before and after.
  for (const auto& [sa, sb] :
       {std::pair{std::pair<Index, Index>{3, 4}, std::pair<Index, Index>{1, 4}},
        {{3, 4}, {3, 1}},
        {{3, 1}, {1, 4}},
        {{1, 4}, {3, 4}}}) {
    cases.push_back(
        {fmt::format("add and sub of reused operands {}x{} with {}x{}", sa.first, sa.second,
                     sb.first, sb.second),
         {{sa.first, sa.second, -2, 2}, {sb.first, sb.second, -2, 2}},
         [](Xs x) { return sub(x[1] * x[0], x[1]) + sub(x[0], add(x[0], x[1]) * x[1]); }});
  }
  return cases;
}

void run(const std::vector<Case>& cases) {
  std::mt19937_64 gen(42);
  for (const Case& c : cases) {
    std::vector<Matrix> inputs;
    for (const Input& in : c.inputs)
      inputs.push_back(random_matrix(in.rows, in.cols, in.lo, in.hi, gen, in.gap));
    check_gradients(c.name, c.f, inputs);
  }
}

}  // namespace

TEST_CASE("gradients of elementwise functions match finite differences", "[core][gradients]") {
  run(unary_cases());
}

TEST_CASE("gradients of elementwise functions of one number match finite differences",
          "[core][gradients]") {
  // 1x1 inputs: the binary ops inside take their scalar path (scalar_binary_op).
  std::vector<Case> cases = unary_cases();
  for (Case& c : cases) {
    for (Input& in : c.inputs) in.rows = in.cols = 1;
  }
  run(cases);
}

TEST_CASE("an op on 1x1 Tensors gives the values and gradients it gives entry by entry",
          "[core][gradients]") {
  // The binary ops' and Normal's scalar paths (1x1 operands) against the same ops on 2x1
  // operands whose first entries are those numbers (the general path): bit for bit, values
  // and gradients, also where a leaf receives several contributions. Only arithmetic and
  // Normal's own log are compared so: a transcendental function of a 2x1 array may be computed
  // by Eigen's vectorised kernel (on a 128-bit instruction set), of one number by libm.
  std::mt19937_64 gen(7);
  const Tensor first(Matrix{{1}, {0}});
  auto compare = [&](const std::string& name, const vesta::testing::Fn& f,
                     const std::vector<Input>& inputs) {
    INFO("op: " << name);
    std::vector<Tensor> ones, twos;
    for (const Input& in : inputs) {
      const Matrix m = random_matrix(2, 1, in.lo, in.hi, gen, in.gap);
      ones.push_back(Tensor::variable(m.topRows(1)));
      twos.push_back(Tensor::variable(m));
    }
    const Tensor y1 = f(ones);
    const std::size_t nodes = tape().num_nodes();
    const Tensor y2 = f(twos);
    CHECK(y1.item() == y2(0, 0));
    y1.backward();
    sum(y2 * first).backward();
    for (std::size_t i = 0; i < ones.size(); ++i) {
      CHECK(ones[i].grad()(0, 0) == twos[i].grad()(0, 0));
    }
    tape().reset();
    return nodes;
  };
  Tensor (*const binary[])(const Tensor&, const Tensor&) = {add, sub, mul, div};
  for (auto* f : binary) {
    const std::size_t nodes =
        compare("binary", [f](Xs x) { return f(x[0], x[1]); }, {{1, 1, 0.5, 2}, {1, 1, 0.5, 2}});
    CHECK(nodes == 3);  // two leaves and the op: one node
  }
  // Elementwise functions of one number (scalar_unary_op) whose arithmetic is exact enough to
  // compare so: each records one node, and a leaf used by two of them sums both adjoints.
  Tensor (*const unary[])(const Tensor&) = {square, abs, relu};
  for (auto* f : unary) {
    const std::size_t nodes = compare("unary", [f](Xs x) { return f(x[0]); }, {{1, 1, 0.5, 2}});
    CHECK(nodes == 2);  // the leaf and the op
  }
  compare("two unary ops of one leaf", [](Xs x) { return square(x[0]) + abs(x[0]) * x[1]; },
          {{1, 1, -2, -0.5}, {1, 1}});
  compare("Normal log_prob", [](Xs x) { return Normal(x[1], x[2]).log_prob(x[0]); },
          {{1, 1}, {1, 1}, {1, 1, 0.3, 2}});
  // Constants on either side (numbers kept in the backward step), and leaves reached by
  // several ops.
  compare("constants and reuse",
          [](Xs x) {
            return x[0] * 1.5 - Tensor(Scalar(2)) / x[0] + x[0] * x[1] * x[1] + x[1] -
                   Normal(x[0], x[1] * x[1] + 0.5).log_prob(x[1]);
          },
          {{1, 1, 0.5, 2}, {1, 1}});
}

TEST_CASE("gradients of reductions match finite differences", "[core][gradients]") {
  run(reduction_cases());
}

TEST_CASE("sum_of adds 1x1 terms in one node, with their gradients", "[core][gradients]") {
  check_gradients(
      "sum_of",
      [](Xs x) {
        const std::vector<Tensor> terms = {x[0], x[1] * x[1], Tensor(Scalar(2)), x[0] * x[2]};
        return sum_of(terms);
      },
      {Matrix::Constant(1, 1, 0.3), Matrix::Constant(1, 1, -1.2), Matrix::Constant(1, 1, 0.7)});
  const Tensor a = Tensor::variable(Matrix::Constant(1, 1, 2));
  const std::vector<Tensor> terms = {a, a, a};
  const Tensor total = sum_of(terms);
  CHECK(tape().num_nodes() == 2);  // the leaf and the sum
  total.backward();
  CHECK(a.grad()(0, 0) == 3);
  CHECK(sum_of({}).item() == 0);
  const std::vector<Tensor> bad = {a, Tensor(Matrix::Zero(2, 1))};
  CHECK_THROWS_AS(sum_of(bad), ShapeError);
  tape().reset();
}

TEST_CASE("sum_of with weights adds weighted terms in one node, with their gradients",
          "[core][gradients]") {
  check_gradients(
      "weighted sum_of",
      [](Xs x) {
        const std::vector<Tensor> terms = {x[0], x[1] * x[1], Tensor(Scalar(2)), x[0] * x[2]};
        const std::vector<Scalar> weights = {1, -1, 0.5, -2.5};
        return sum_of(terms, weights);
      },
      {Matrix::Constant(1, 1, 0.3), Matrix::Constant(1, 1, -1.2), Matrix::Constant(1, 1, 0.7)});
  const Tensor a = Tensor::variable(Matrix::Constant(1, 1, 2));
  const std::vector<Tensor> terms = {a, a, Tensor(Scalar(5))};
  const std::vector<Scalar> weights = {1, -3, -1};
  const Tensor total = sum_of(terms, weights);
  CHECK(total.item() == 2 - 6 - 5);
  CHECK(tape().num_nodes() == 2);  // the leaf and the sum
  total.backward();
  CHECK(a.grad()(0, 0) == -2);
  const std::vector<Scalar> short_weights = {1, 1};
  CHECK_THROWS_WITH(sum_of(terms, short_weights),
                    Catch::Matchers::Contains("3 terms but 2 weights"));
  tape().reset();
}

TEST_CASE("gradients of linear algebra and shape ops match finite differences",
          "[core][gradients]") {
  run(linalg_and_shape_cases());
}

TEST_CASE("gradients of binary ops under every broadcast match finite differences",
          "[core][gradients]") {
  run(broadcast_cases());
}

#endif
