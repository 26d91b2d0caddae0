// Modules and deterministic layers: parameter names under a module's prefix, reuse across
// calls, Linear against x W + b by hand, MLP shapes and names, PyTorch's default
// initialisation, gradients against finite differences, training through the ParamStore,
// and the errors that name the module.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

#include "support/distcheck.hpp"
#include "support/gradcheck.hpp"
#include "support/svi.hpp"

using namespace vesta;
using Catch::Matchers::Contains;
using Fresh = vesta::testing::FreshParams;
using vesta::testing::rows_of;

namespace {

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

TEST_CASE("a Module names its parameters under its prefix and reuses them", "[nn][module]") {
  Fresh fresh;
  set_rng_seed(1);
  const Module encoder("encoder");
  CHECK(encoder.full_name("scale") == "encoder.scale");
  CHECK(encoder.child_prefix("fc1") == "encoder.fc1");
  CHECK(encoder.parameter_names().empty());

  const Linear fc1(encoder.child_prefix("fc1"), 3, 2);
  const Linear fc10(encoder.child_prefix("fc10"), 2, 1);
  const Tensor x(rows_of({{1, 2, 3}, {-1, 0.5, 2}}));
  const Tensor y = fc10(fc1(x));
  CHECK(y.rows() == 2);
  CHECK(y.cols() == 1);
  const std::vector<std::string> names = param_store().names();
  REQUIRE(names.size() == 4);
  CHECK(contains(names, "encoder.fc1.weight"));
  CHECK(contains(names, "encoder.fc1.bias"));
  CHECK(contains(names, "encoder.fc10.weight"));
  CHECK(param_store().get("encoder.fc1.weight").rows() == 3);
  CHECK(param_store().get("encoder.fc1.weight").cols() == 2);
  CHECK(param_store().get("encoder.fc1.bias").rows() == 1);
  // The parent sees its children's parameters; "encoder.fc1." is not a prefix of "encoder.fc10.".
  CHECK(encoder.parameter_names().size() == 4);
  CHECK(fc1.parameter_names() ==
        std::vector<std::string>{"encoder.fc1.weight", "encoder.fc1.bias"});

  // A second call reads the same parameters: no new ones, the same values, the same output.
  const Matrix w = param_store().get("encoder.fc1.weight").matrix();
  const Matrix y2 = fc10(fc1(x)).matrix();
  CHECK(param_store().size() == 4);
  CHECK(param_store().get("encoder.fc1.weight").matrix() == w);
  CHECK(y2 == y.matrix());

  // They are param sites: a trace records them by their full names.
  const Trace t = trace([&] { fc1(x); }).get_trace();
  REQUIRE(t.contains("encoder.fc1.weight"));
  CHECK(t["encoder.fc1.weight"].kind == SiteKind::param);
  CHECK(t.contains("encoder.fc1.bias"));
  tape().reset();
}

TEST_CASE("a Module's 1x1 parameter takes its initial value as a number", "[nn][module]") {
  Fresh fresh;
  const Module head("head");
  const Tensor sd = head.param("noise_sd", 0.5, constraints::positive());
  CHECK(sd.rows() == 1);
  CHECK(sd.cols() == 1);
  CHECK(sd.item() == Approx(0.5).epsilon(1e-12));
  CHECK(param_store().contains("head.noise_sd"));
  // Later reads return the stored value, as with a Matrix; a stored value of another shape is
  // an error naming the parameter.
  CHECK(head.param("noise_sd", 3.0, constraints::positive()).item() == Approx(0.5).epsilon(1e-12));
  CHECK(head.param("bias", Matrix::Zero(1, 2)).cols() == 2);
  CHECK_THROWS_WITH(head.param("bias", 1.0), Contains("head.bias"));
  CHECK_THROWS_AS(head.param("offset", -1.0, constraints::positive()), ValueError);
  tape().reset();
}

TEST_CASE("Linear computes x W + b, and without bias x W", "[nn][module]") {
  Fresh fresh;
  const Linear fc("fc", 3, 2);
  const Linear no_bias("nb", 3, 2, false);
  const Matrix W = rows_of({{0.5, -1}, {2, 0.25}, {-0.75, 1.5}});
  const Matrix b = rows_of({{0.1, -0.2}});
  param_store().set("fc.weight", W);
  param_store().set("fc.bias", b);
  param_store().set("nb.weight", W);
  const Matrix x = rows_of({{1, 2, 3}, {-1, 0.5, 2}, {0, 0, 0}, {4, -3, 1}});
  const Matrix expected = (x * W).rowwise() + b.row(0);
  CHECK(fc(Tensor(x)).matrix().isApprox(expected));
  CHECK(no_bias(Tensor(x)).matrix().isApprox(x * W));
  CHECK_FALSE(param_store().contains("nb.bias"));
  CHECK_THROWS_WITH(no_bias.bias(), Contains("Linear 'nb'") && Contains("without a bias"));
  tape().reset();
}

TEST_CASE("Linear starts as PyTorch's nn.Linear: uniform on (-1/sqrt(in), 1/sqrt(in))",
          "[nn][module]") {
  Fresh fresh;
  set_rng_seed(3);
  const Index in = 100, out = 200;
  const Linear fc("fc", in, out);
  const Matrix w = fc.weight().matrix();
  const Matrix b = fc.bias().matrix();
  const double bound = 1 / std::sqrt(double(in));
  CHECK(w.cwiseAbs().maxCoeff() < bound);
  CHECK(b.cwiseAbs().maxCoeff() < bound);
  // Mean 0 and variance bound^2 / 3 of a uniform, within 5 standard errors of n = 20000 draws.
  const double n = double(w.size());
  const double mean = w.mean();
  const double var = (w.array() - mean).square().mean();
  const double sd = bound / std::sqrt(3.0);
  CHECK(std::abs(mean) < 5 * sd / std::sqrt(n));
  // The variance of x^2 for x uniform on (-c, c) is 4 c^4 / 45.
  CHECK(std::abs(var - sd * sd) < 5 * std::sqrt(4 * std::pow(bound, 4) / 45 / n));
  tape().reset();
}

TEST_CASE("MLP stacks Linear layers named fc1, fc2, ... with its activations", "[nn][module]") {
  Fresh fresh;
  set_rng_seed(4);
  const MLP mlp("mlp", {4, 8, 6, 2}, vesta::tanh, vesta::sigmoid);
  Rng rng(5);
  const Matrix x = rng.normal(10, 4);
  const Tensor y = mlp(Tensor(x));
  CHECK(y.rows() == 10);
  CHECK(y.cols() == 2);
  REQUIRE(mlp.layers().size() == 3);
  CHECK(mlp.layers()[1].prefix() == "mlp.fc2");
  CHECK(mlp.parameter_names() == std::vector<std::string>{"mlp.fc1.weight", "mlp.fc1.bias",
                                                          "mlp.fc2.weight", "mlp.fc2.bias",
                                                          "mlp.fc3.weight", "mlp.fc3.bias"});
  CHECK(param_store().get("mlp.fc2.weight").rows() == 8);
  CHECK(param_store().get("mlp.fc2.weight").cols() == 6);
  // By hand: tanh after the hidden layers, the output activation (sigmoid) after the last.
  auto dense = [](const Matrix& h, const std::string& name) {
    return Matrix((h * param_store().get(name + ".weight").matrix()).rowwise() +
                  param_store().get(name + ".bias").matrix().row(0));
  };
  const Matrix h1 = dense(x, "mlp.fc1").array().tanh().matrix();
  const Matrix h2 = dense(h1, "mlp.fc2").array().tanh().matrix();
  const Matrix out = (1 + (-dense(h2, "mlp.fc3").array()).exp()).inverse().matrix();
  CHECK(y.matrix().isApprox(out, sizeof(Scalar) == 4 ? 1e-5 : 1e-12));

  // The default: relu between layers, nothing after the last.
  const MLP plain("plain", {4, 3, 1});
  const Matrix z = plain(Tensor(x)).matrix();
  const Matrix expected = dense(dense(x, "plain.fc1").cwiseMax(0), "plain.fc2");
  CHECK(z.isApprox(expected, sizeof(Scalar) == 4 ? 1e-5 : 1e-12));
  tape().reset();
}

TEST_CASE("modules name themselves in their errors", "[nn][module]") {
  Fresh fresh;
  CHECK_THROWS_AS(Module(""), ValueError);
  CHECK_THROWS_WITH(Module("fc1."), Contains("'fc1.'"));
  CHECK_THROWS_WITH(Linear("fc", 0, 3), Contains("Linear 'fc'") && Contains("in_features is 0"));
  CHECK_THROWS_WITH(MLP("mlp", {3}), Contains("MLP 'mlp'") && Contains("at least two"));
  CHECK_THROWS_WITH(MLP("mlp", {3, -2, 1}), Contains("sizes[1] is -2"));

  const Linear fc("encoder.fc1", 4, 2);
  CHECK_THROWS_AS(fc(Tensor(Matrix::Zero(5, 3))), ShapeError);
  CHECK_THROWS_WITH(fc(Tensor(Matrix::Zero(5, 3))),
                    Contains("Linear 'encoder.fc1'") && Contains("5x3") &&
                        Contains("4 input columns") && Contains("weight 4x2"));
  // A parameter left in the store by another module of the same prefix, with another shape.
  param_store().set("other.weight", Matrix::Zero(3, 3));
  const Linear clash("other", 4, 2);
  CHECK_THROWS_WITH(clash(Tensor(Matrix::Zero(1, 4))),
                    Contains("'other.weight' is 3x3") && Contains("needs 4x2"));
  tape().reset();
}

#if !VESTA_SCALAR_IS_FLOAT
TEST_CASE("Linear's gradients match finite differences", "[nn][module][gradients]") {
  Fresh fresh;
  const Linear fc("fc", 3, 2);
  const MLP mlp("mlp", {3, 4, 2}, vesta::tanh);
  std::mt19937_64 gen(8);
  const Matrix x = vesta::testing::random_matrix(5, 3, -2, 2, gen);
  const Matrix W = vesta::testing::random_matrix(3, 2, -1, 1, gen);
  const Matrix b = vesta::testing::random_matrix(1, 2, -1, 1, gen);
  // The parameters enter as Tensors through substitute, so the checker can perturb them.
  vesta::testing::check_gradients("Linear",
                                  [&](const std::vector<Tensor>& in) {
                                    auto s = substitute({{"fc.weight", in[1]}, {"fc.bias", in[2]}});
                                    return fc(in[0]);
                                  },
                                  {x, W, b});
  const Matrix W1 = vesta::testing::random_matrix(3, 4, -1, 1, gen);
  const Matrix W2 = vesta::testing::random_matrix(4, 2, -1, 1, gen);
  vesta::testing::check_gradients(
      "MLP",
      [&](const std::vector<Tensor>& in) {
        auto s = substitute({{"mlp.fc1.weight", in[1]},
                             {"mlp.fc2.weight", in[2]},
                             {"mlp.fc1.bias", Tensor(Matrix::Constant(1, 4, 0.1))},
                             {"mlp.fc2.bias", Tensor(b)}});
        return mlp(in[0]);
      },
      {x, W1, W2});

  // Through the ParamStore: d sum(x W + b) / dW = x^T 1, d / db = 1^T 1 (the batch size).
  const Tensor loss = sum(fc(Tensor(x)));
  loss.backward();
  const Matrix gW = param_store().entry("fc.weight").unconstrained.grad();
  const Matrix gb = param_store().entry("fc.bias").unconstrained.grad();
  CHECK(gW.isApprox(x.transpose() * Matrix::Ones(5, 2)));
  CHECK(gb.isApprox(Matrix::Constant(1, 2, 5)));
}
#endif

TEST_CASE("an optimizer trains a Linear layer through the ParamStore, which saves it",
          "[nn][module]") {
  Fresh fresh;
  set_rng_seed(9);
  Rng rng(10);
  const Matrix x = rng.normal(64, 2);
  const Matrix y = ((x * rows_of({{2}, {-1}})).array() + 0.5).matrix();
  const Linear fc("fc", 2, 1);
  Adam adam(0.05);
  for (int step = 0; step < 1500; ++step) {
    mean(square(fc(Tensor(x)) - Tensor(y))).backward();
    adam.step();
    tape().reset();
  }
  // A noiseless least-squares problem: the fit is exact up to the optimizer's tolerance.
  CHECK(fc.weight().matrix().isApprox(rows_of({{2}, {-1}}), 1e-3));
  CHECK(fc.bias().item() == Approx(0.5).margin(1e-3));

  const std::string path = "test_nn_module_params.bin";
  param_store().save(path);
  const Matrix w = fc.weight().matrix();
  param_store().clear();
  param_store().load(path);
  std::remove(path.c_str());
  CHECK(fc.weight().matrix() == w);
  tape().reset();
}
