// The Tensor handle: construction and Eigen conversion, leaves and gradients, detach,
// shape errors that name the op and both shapes, and backward's preconditions.
#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

using namespace vesta;
using Catch::Matchers::Contains;

TEST_CASE("Tensors convert to and from Eigen matrices", "[core][tensor]") {
  Matrix m(2, 3);
  m << 1, 2, 3, 4, 5, 6;
  const Tensor t(m);
  CHECK(t.rows() == 2);
  CHECK(t.cols() == 3);
  CHECK(t.shape() == "2x3");
  CHECK(t.matrix() == m);
  CHECK(t(1, 2) == 6);
  CHECK_FALSE(t.requires_grad());

  // Moving a matrix in takes over its buffer: no copy.
  Matrix big = Matrix::Random(100, 100);
  const Scalar* buffer = big.data();
  const Tensor moved(std::move(big));
  CHECK(moved.value().data() == buffer);

  const Tensor s = 2.5;
  CHECK(s.rows() == 1);
  CHECK(s.item() == 2.5);
  CHECK(Tensor().empty());
  CHECK(Tensor::zeros(2, 2).matrix() == Matrix::Zero(2, 2));
  CHECK(Tensor::full(3, 1, 7).matrix() == Matrix::Constant(3, 1, 7));
  CHECK_THROWS_WITH(t.item(), Contains("2x3"));
}

TEST_CASE("leaves accumulate gradients until zeroed", "[core][tensor]") {
  const Tensor x = Tensor::variable(Matrix::Constant(2, 2, 3));
  CHECK(x.is_leaf());
  CHECK(x.requires_grad());
  CHECK(x.grad() == Matrix::Zero(2, 2));

  sum(square(x)).backward();
  CHECK(x.grad() == Matrix::Constant(2, 2, 6));
  sum(x).backward();  // accumulates, as in PyTorch
  CHECK(x.grad() == Matrix::Constant(2, 2, 7));
  x.zero_grad();
  CHECK(x.grad() == Matrix::Zero(2, 2));
  sum(x * 2).backward();
  CHECK(x.grad() == Matrix::Constant(2, 2, 2));

  // A copy of a leaf is the same leaf.
  const Tensor y = x;
  y.zero_grad();
  CHECK(x.grad() == Matrix::Zero(2, 2));
  tape().reset();
}

TEST_CASE("a leaf used in several graphs, across tape resets, keeps one gradient",
          "[core][tensor]") {
  const Tensor w = Tensor::variable(Matrix::Constant(1, 1, 2));
  for (int step = 0; step < 3; ++step) {
    (w * w).backward();  // d/dw w^2 = 4 each time
    tape().reset();
  }
  CHECK(w.grad()(0, 0) == 12);
  // The optimizer's update between steps is seen by the next graph.
  w.set_value(Matrix::Constant(1, 1, 5));
  w.zero_grad();
  (w * w).backward();
  CHECK(w.grad()(0, 0) == 10);
  CHECK_THROWS_AS(w.set_value(Matrix::Zero(2, 1)), ShapeError);
  tape().reset();
}

TEST_CASE("constants are not differentiated", "[core][tensor]") {
  const Tensor c(Matrix::Constant(2, 2, 1));
  const Tensor x = Tensor::variable(Matrix::Constant(2, 2, 3));
  const Tensor only_constants = exp(c) * 2;
  CHECK_FALSE(only_constants.requires_grad());
  const Tensor mixed = c * x;
  CHECK(mixed.requires_grad());
  CHECK_FALSE(mixed.is_leaf());
  CHECK_THROWS_AS(sum(c).backward(), ValueError);
  CHECK_THROWS_WITH(c.grad(), Contains("Tensor::variable"));
  CHECK_THROWS_WITH(mixed.grad(), Contains("intermediate"));
  tape().reset();
}

TEST_CASE("a Tensor's dimensions are checked against the largest it keeps", "[core][tensor]") {
  // No entries, so nothing is allocated: only the shape is out of range.
  const Index too_many = Index(1) << 31;
  CHECK_THROWS_AS(Tensor(Matrix(too_many, 0)), ShapeError);
  CHECK_THROWS_WITH(Tensor(Matrix(0, too_many)), Contains("2147483648") && Contains("2^31 - 1"));
  Scalar* values = nullptr;
  CHECK_THROWS_AS(Tensor::uninitialized(too_many, 0, &values), ShapeError);
  const Tensor largest(Matrix(too_many - 1, 0));
  CHECK(largest.rows() == too_many - 1);
  CHECK(largest.size() == 0);
}

TEST_CASE("copies of a constant or a leaf share its values until the last goes", "[core][tensor]") {
  Matrix m = Matrix::Constant(4, 1, 1.5);
  const Scalar* buffer = m.data();
  std::vector<Tensor> copies;
  {
    const Tensor c(std::move(m));
    for (int i = 0; i < 100; ++i) copies.push_back(c);
    Tensor moved = copies.back();
    copies.back() = std::move(moved);
    copies.front() = copies[1];  // self-family assignment keeps the count right
  }
  for (const Tensor& t : copies) CHECK(t.value().data() == buffer);
  copies.resize(1);
  CHECK(copies[0].matrix() == Matrix::Constant(4, 1, 1.5));
  const Tensor leaf = Tensor::variable(Matrix::Constant(2, 1, 3));
  {
    const Tensor other = leaf;
    sum(other * other).backward();
  }
  tape().reset();
  CHECK(leaf.grad() == Matrix::Constant(2, 1, 6));
}

TEST_CASE("swap_leaf_values exchanges a leaf's values; the graph keeps the old ones",
          "[core][tensor]") {
  // An optimizer commits new values so, between a step's backward pass and the tape's reset.
  // One number lives in the leaf's own storage, more in a buffer: both must behave alike.
  for (const Index n : {Index(1), Index(3)}) {
    CAPTURE(n);
    const Tensor x = Tensor::variable(Matrix::Constant(n, 1, 2));
    const Tensor y = sum(x * x);  // its backward step reads x's values as recorded: 2
    Matrix next = Matrix::Constant(n, 1, 5);
    x.swap_leaf_values(next);
    CHECK(next == Matrix::Constant(n, 1, 2));
    CHECK(x.matrix() == Matrix::Constant(n, 1, 5));
    CHECK(x.leaf_values() == Matrix::Constant(n, 1, 5));
    y.backward();
    CHECK(x.grad() == Matrix::Constant(n, 1, 4));  // 2 x at x = 2, not at 5
    tape().reset();
    // And again: the values taken by the first exchange go back.
    Matrix again = Matrix::Constant(n, 1, 7);
    x.swap_leaf_values(again);
    CHECK(again == Matrix::Constant(n, 1, 5));
    CHECK(x.matrix() == Matrix::Constant(n, 1, 7));
    sum(x * x).backward();
    CHECK(x.grad() == Matrix::Constant(n, 1, 4 + 14));  // accumulated until zeroed
    tape().reset();
    x.zero_grad();
    CHECK(x.grad() == Matrix::Zero(n, 1));
    Matrix wrong = Matrix::Zero(n + 1, 1);
    CHECK_THROWS_AS(x.swap_leaf_values(wrong), ShapeError);
  }
}

TEST_CASE("swap_leaf_value exchanges one number the same way", "[core][tensor]") {
  // An optimizer keeps a scalar param's new value as a number and commits it so.
  const Tensor x = Tensor::variable(Matrix::Constant(1, 1, 2));
  const Tensor y = x * x;
  Scalar next = 5;
  x.swap_leaf_value(next);
  CHECK(next == 2);
  CHECK(x.item() == 5);
  y.backward();
  CHECK(x.grad()(0, 0) == 4);  // at the recorded 2
  tape().reset();
  // It takes turns with swap_leaf_values: both use the leaf's two slots.
  Matrix again = Matrix::Constant(1, 1, 7);
  x.swap_leaf_values(again);
  CHECK(again(0, 0) == 5);
  next = 9;
  x.swap_leaf_value(next);
  CHECK(next == 7);
  CHECK(x.item() == 9);
  // A leaf of more entries, or a Tensor that is not a leaf, has no one number to exchange.
  const Tensor wide = Tensor::variable(Matrix::Constant(2, 1, 1));
  CHECK_THROWS_AS(wide.swap_leaf_value(next), ShapeError);
  CHECK_THROWS_AS(Tensor(Scalar(1)).swap_leaf_value(next), ValueError);
  CHECK(next == 7);
}

TEST_CASE("a constant operand is kept alive until backward", "[core][tensor]") {
  const Tensor x = Tensor::variable(Matrix::Constant(3, 1, 2));
  Tensor loss;
  {
    const Tensor data(Matrix::Constant(3, 1, 5));  // goes out of scope before backward
    loss = sum(x * data);
  }
  loss.backward();
  CHECK(x.grad() == Matrix::Constant(3, 1, 5));
  tape().reset();
}

TEST_CASE("detach cuts a value off the graph and outlives the tape", "[core][tensor]") {
  const Tensor x = Tensor::variable(Matrix::Constant(2, 1, 3));
  const Tensor y = x * x;
  const Tensor d = y.detach();
  CHECK_FALSE(d.requires_grad());
  sum(x * d).backward();  // d is a constant: d/dx (x * 9) = 9
  CHECK(x.grad() == Matrix::Constant(2, 1, 9));
  tape().reset();
  CHECK(d.matrix() == Matrix::Constant(2, 1, 9));
}

TEST_CASE("same_as tells copies of one value from equal values", "[core][tensor]") {
  const Tensor x = Tensor::variable(Matrix::Constant(2, 1, 3));
  const Tensor y = x * x;
  const Tensor y_copy = y;
  CHECK(y.same_as(y_copy));
  CHECK_FALSE(y.same_as(x * x));  // equal values, another node
  CHECK(x.same_as(Tensor(x)));
  const Tensor c(Matrix::Ones(2, 2));
  CHECK(c.same_as(c));
  CHECK_FALSE(c.same_as(Tensor(Matrix::Ones(2, 2))));
  tape().reset();
  const Tensor z = x * x;  // may reuse y's slot on the new tape: a new generation all the same
  CHECK_FALSE(y.same_as(z));
  tape().reset();
}

TEST_CASE("backward starts from a 1x1 value", "[core][tensor]") {
  const Tensor x = Tensor::variable(Matrix::Ones(2, 3));
  CHECK_THROWS_WITH(exp(x).backward(), Contains("2x3") && Contains("sum"));
  // A 1x1 leaf differentiates to 1.
  const Tensor s = Tensor::variable(Matrix::Constant(1, 1, 4));
  s.backward();
  CHECK(s.grad()(0, 0) == 1);
  tape().reset();
}

TEST_CASE("shape mismatches name the op and both shapes", "[core][tensor]") {
  const Tensor a(Matrix::Ones(3, 4));
  const Tensor b(Matrix::Ones(2, 4));
  const Tensor c(Matrix::Ones(3, 2));
  CHECK_THROWS_AS(a + b, ShapeError);
  CHECK_THROWS_WITH(a + b, Contains("add") && Contains("3x4") && Contains("2x4"));
  CHECK_THROWS_WITH(a * c, Contains("mul") && Contains("3x4") && Contains("3x2"));
  CHECK_THROWS_WITH(matmul(a, b), Contains("matmul") && Contains("3x4") && Contains("2x4"));
  CHECK_THROWS_WITH(linear(a, b, Tensor(Matrix::Ones(1, 4))),
                    Contains("linear") && Contains("3x4") && Contains("2x4"));
  CHECK_THROWS_WITH(linear(a, transpose(b), Tensor(Matrix::Ones(2, 1))),
                    Contains("linear") && Contains("bias is 2x1") && Contains("1x2"));
  CHECK_THROWS_WITH(hstack({a, b}), Contains("hstack") && Contains("3x4") && Contains("2x4"));
  CHECK_THROWS_WITH(vstack({a, c}), Contains("vstack") && Contains("3x4") && Contains("3x2"));
  CHECK_THROWS_WITH(reshape(a, 5, 2), Contains("reshape") && Contains("3x4") && Contains("5x2"));
  CHECK_THROWS_WITH(gather_rows(a, {0, 3}), Contains("gather_rows") && Contains("indices[1] is 3"));
  CHECK_THROWS_WITH(slice_cols(a, 2, 3), Contains("slice_cols") && Contains("3x4"));
  CHECK_THROWS_WITH(where(Tensor(Matrix::Ones(2, 2)), a, a), Contains("where") && Contains("2x2"));
}

TEST_CASE("broadcasting follows 1x1, 1xC and Rx1 against RxC", "[core][tensor]") {
  Matrix m(2, 3);
  m << 1, 2, 3, 4, 5, 6;
  Matrix row(1, 3);
  row << 10, 20, 30;
  Matrix col(2, 1);
  col << 100, 200;
  const Tensor M(m);
  CHECK((M + Tensor(row)).matrix() == m + row.replicate(2, 1));
  CHECK((Tensor(row) - M).matrix() == row.replicate(2, 1) - m);
  CHECK((M * Tensor(col)).matrix() == m.cwiseProduct(col.replicate(1, 3)));
  CHECK((M / 2).matrix() == m / 2);
  CHECK((1 - M).matrix() == (1 - m.array()).matrix());
  CHECK((Tensor(col) + Tensor(row)).matrix() == col.replicate(1, 3) + row.replicate(2, 1));
}

TEST_CASE("ops compute the values of their definitions", "[core][tensor]") {
  Matrix m(2, 3);
  m << -1.5, 0.25, 2, 3, -0.5, 1;
  const Tensor x(m);
  const Eigen::ArrayXXd a = m.cast<double>().array();
  auto near = [](const Tensor& t, const Eigen::ArrayXXd& expected) {
    return (t.matrix().cast<double>().array() - expected).abs().maxCoeff() <=
           1e-5 * (1 + expected.abs().maxCoeff());
  };
  CHECK(near(exp(x), a.exp()));
  CHECK(near(tanh(x), a.tanh()));
  CHECK(near(sigmoid(x), 1 / (1 + (-a).exp())));
  CHECK(near(softplus(x), (1 + a.exp()).log()));
  CHECK(near(log_sigmoid(x), -(1 + (-a).exp()).log()));
  CHECK(near(relu(x), a.max(0)));
  CHECK(near(leaky_relu(x, 0.1), (a > 0).select(a, 0.1 * a)));
  CHECK(near(abs(x), a.abs()));
  CHECK(near(clamp(x, -1, 1), a.max(-1).min(1)));
  CHECK(near(pow(abs(x), 1.5), a.abs().pow(1.5)));
  CHECK(near(erf(x), a.unaryExpr([](double v) { return std::erf(v); })));
  CHECK(near(lgamma(abs(x)), a.abs().unaryExpr([](double v) { return std::lgamma(v); })));
  CHECK(near(rowwise_sum(x), a.rowwise().sum()));
  CHECK(near(colwise_mean(x), a.colwise().mean()));
  CHECK(near(rowwise_logsumexp(x), a.exp().rowwise().sum().log()));
  CHECK(near(logsumexp(x), Eigen::ArrayXXd::Constant(1, 1, std::log(a.exp().sum()))));
  CHECK(near(matmul(x, transpose(x)), (m * m.transpose()).cast<double>().array()));
  const Matrix bias{{-1, 1}};
  CHECK(near(linear(x, transpose(x), Tensor(bias)),
             (m * m.transpose() + bias.replicate(2, 1)).cast<double>().array()));
  CHECK(append_ones_column(x).matrix().col(3) == Matrix::Ones(2, 1));
  CHECK(append_ones_column(x).matrix().leftCols(3) == m);
  CHECK(near(reshape(x, 3, 2), Eigen::Map<const Eigen::ArrayXXd>(a.data(), 3, 2)));
  CHECK(gather_rows(x, {1, 1, 0}).matrix().row(2) == m.row(0));
  CHECK(slice_cols(x, 1, 2).matrix() == m.middleCols(1, 2));
}
