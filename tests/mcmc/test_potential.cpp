// The potential energy of a model: its value against the log-density written out by hand
// (Jacobian, scale and mask included), its gradient against finite differences, and the
// models it refuses, each named.
#include <cmath>
#include <functional>

#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

#include "support/svi.hpp"

using namespace vesta;
using Catch::Matchers::Contains;

namespace {

constexpr bool kFloat = sizeof(Scalar) == 4;

double normal_lpdf(double x, double mu, double s) {
  return -0.5 * std::pow((x - mu) / s, 2) - std::log(s) - 0.5 * std::log(2 * M_PI);
}

const double kY[3] = {0.5, 1.5, 3.0};

// z ~ N(1, 2); s ~ HalfNormal(1); three y ~ N(z, s), the second weighed twice by a scale
// handler around the whole plate and the third masked out.
void model() {
  const Tensor z = sample("z", Normal(1, 2));
  const Tensor s = sample("s", HalfNormal(1));
  auto data = plate("data", 3);
  Matrix y(3, 1);
  y << Scalar(kY[0]), Scalar(kY[1]), Scalar(kY[2]);
  Matrix keep(3, 1);
  keep << 1, 1, 0;
  auto twice = scale(2.0);
  auto m = mask(Tensor(keep));
  sample("y", Normal(z, s), y);
}

// -log p(z, s, y) - log s, the Jacobian of s = exp(u).
double by_hand(double z, double u) {
  const double s = std::exp(u);
  double lp = normal_lpdf(z, 1, 2) + std::log(2.0) + normal_lpdf(s, 0, 1) + u;
  lp += 2 * (normal_lpdf(kY[0], z, s) + normal_lpdf(kY[1], z, s));
  return -lp;
}

}  // namespace

TEST_CASE("potential: the model's weighed log-density plus the log-Jacobian", "[mcmc]") {
  Potential u(model);
  REQUIRE(u.dim() == 2);
  REQUIRE(u.latents()[0].name == "z");
  REQUIRE(u.latents()[1].name == "s");
  CHECK(u.latents()[1].offset == 1);
  for (const auto& [z, s] : {std::pair{0.3, -0.4}, std::pair{-1.2, 0.8}, std::pair{2.0, 0.0}}) {
    Eigen::VectorXd q(2);
    q << z, s;
    Eigen::VectorXd g;
    const double v = u.value_and_gradient(q, g);
    CHECK(v == Approx(by_hand(z, s)).epsilon(kFloat ? 1e-5 : 1e-12));
    CHECK(u.value(q) == Approx(v).epsilon(kFloat ? 1e-6 : 1e-14));
    // Central differences of the hand-written density (in double): the tape's gradient.
    const double h = 1e-6;
    CHECK(g[0] ==
          Approx((by_hand(z + h, s) - by_hand(z - h, s)) / (2 * h)).epsilon(kFloat ? 1e-4 : 1e-7));
    CHECK(g[1] ==
          Approx((by_hand(z, s + h) - by_hand(z, s - h)) / (2 * h)).epsilon(kFloat ? 1e-4 : 1e-7));
  }
}

TEST_CASE("potential: gradient of a model with simplex and matrix sites against differences",
          "[mcmc]") {
  // A Dirichlet (stick-breaking, K - 1 free entries), a 2x3 Normal matrix and a Gamma.
  auto m = [] {
    Matrix conc(1, 3);
    conc << 2, 3, 4;
    const Tensor p = sample("p", Dirichlet(Tensor(conc)));
    const Tensor w = sample("w", Normal(0, 1).expand(2, 3));
    const Tensor g = sample("g", Gamma(3, 2));
    Matrix obs(2, 3);
    obs << 0.1, 0.2, 0.7, 0.3, 0.3, 0.4;
    sample("x", Normal(w * g + p, 1).to_event(2), obs);
  };
  Potential u(m);
  REQUIRE(u.dim() == 2 + 6 + 1);
  CHECK(u.latents()[0].ucols == 2);
  Eigen::VectorXd q = Eigen::VectorXd::LinSpaced(u.dim(), -0.8, 0.9);
  Eigen::VectorXd g;
  u.value_and_gradient(q, g);
  const double h = kFloat ? 1e-2 : 1e-6;
  for (Eigen::Index i = 0; i < q.size(); ++i) {
    Eigen::VectorXd a = q, b = q;
    a[i] += h;
    b[i] -= h;
    const double fd = (u.value(a) - u.value(b)) / (2 * h);
    INFO("entry " << i);
    CHECK(g[i] == Approx(fd).epsilon(kFloat ? 2e-2 : 1e-6).margin(kFloat ? 2e-3 : 1e-8));
  }
  // Constrained values come back in the sites' shapes and supports.
  const std::vector<Matrix> c = u.constrained(q);
  REQUIRE(c[0].cols() == 3);
  CHECK(c[0].sum() == Approx(1));
  CHECK(c[1].rows() == 2);
  CHECK(c[1].cols() == 3);
  CHECK(c[2](0, 0) > 0);
}

TEST_CASE("potential: params are held at their values and copies evaluate alike", "[mcmc]") {
  vesta::testing::FreshParams fresh;
  auto m = [] {
    const Tensor loc = param("loc", Matrix::Constant(1, 1, 2));
    sample("z", Normal(loc, 1));
  };
  Potential u(m);
  Potential copy(u);
  Eigen::VectorXd q(1);
  q << 0.5;
  const double v = u.value(q);
  CHECK(v == Approx(-normal_lpdf(0.5, 2, 1)).epsilon(1e-5));
  CHECK(copy.value(q) == v);
  // A later change of the store does not reach the potential: MCMC samples one posterior.
  param_store().clear();
  CHECK(u.value(q) == v);
}

TEST_CASE("potential: discrete latents, subsampled plates and changing sites are named errors",
          "[mcmc]") {
  auto discrete = [] { sample("k", Poisson(3)); };
  CHECK_THROWS_WITH(Potential(discrete), Contains("'k'") && Contains("discrete"));
  auto subsampled = [] {
    const Tensor z = sample("z", Normal(0, 1));
    auto data = plate("data", 10, 5);
    sample("x", Normal(z, 1), Tensor(Matrix::Zero(5, 1)));
  };
  CHECK_THROWS_WITH(Potential(subsampled), Contains("'data'") && Contains("subsample"));
  int calls = 0;
  auto changing = [&calls] { sample(++calls == 1 ? "a" : "b", Normal(0, 1)); };
  Potential u(changing);
  CHECK_THROWS_WITH(u.value(Eigen::VectorXd::Zero(1)), Contains("'b'") && Contains("'a'"));
}

TEST_CASE("potential: -inf log-density is an infinite potential, not an error", "[mcmc]") {
  auto m = [] {
    const Tensor z = sample("z", Normal(0, 1));
    global_factor("wall", -square(z) * Scalar(INFINITY));
  };
  Potential u(m);
  Eigen::VectorXd g;
  CHECK(std::isinf(u.value_and_gradient(Eigen::VectorXd::Constant(1, 0.5), g)));
}
