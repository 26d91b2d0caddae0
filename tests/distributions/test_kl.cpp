// kl_divergence: every registered pair against a Monte Carlo estimate, its batch shape,
// KL(p || p) = 0, the to_event and expanded versions, Delta against anything, gradients, and
// the error for a pair with no formula.
#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

#include "support/distcheck.hpp"

using namespace vesta;
using namespace vesta::testing;
using Catch::Matchers::Contains;

namespace {

Matrix tril(std::initializer_list<double> v, Index d) {
  Matrix m = Matrix::Zero(d, d);
  auto it = v.begin();
  for (Index i = 0; i < d; ++i)
    for (Index j = 0; j <= i; ++j) m(i, j) = static_cast<Scalar>(*it++);
  return m;
}

struct Pair {
  std::string name;
  DistributionPtr p;
  DistributionPtr q;
};

std::vector<Pair> pairs() {
  const Matrix two_rows = (Matrix(2, 3) << 1.5, 0.7, 2.0, 0.4, 3.0, 1.1).finished();
  return {
      {"Normal", std::make_shared<Normal>(Tensor(col({0.3, -1})), Tensor(col({1.2, 0.5}))),
       std::make_shared<Normal>(Tensor(col({-0.2, 0.4})), Tensor(col({0.8, 2.0})))},
      {"LogNormal", std::make_shared<LogNormal>(0.2, 0.6), std::make_shared<LogNormal>(-0.1, 0.9)},
      {"Exponential", std::make_shared<Exponential>(Tensor(col({1.5, 0.3}))),
       std::make_shared<Exponential>(Tensor(col({0.7, 0.9})))},
      {"Laplace", std::make_shared<Laplace>(0.5, 1.3), std::make_shared<Laplace>(-0.4, 0.8)},
      {"Gamma", std::make_shared<Gamma>(Tensor(col({2.5, 0.6})), Tensor(col({1.5, 2.0}))),
       std::make_shared<Gamma>(Tensor(col({1.2, 1.0})), Tensor(col({0.7, 3.0})))},
      {"Beta", std::make_shared<Beta>(2.0, 3.5), std::make_shared<Beta>(1.2, 0.8)},
      {"Dirichlet", std::make_shared<Dirichlet>(Tensor(two_rows)),
       std::make_shared<Dirichlet>(Tensor(row({1.0, 2.0, 0.5})))},
      {"Bernoulli", std::make_shared<Bernoulli>(Bernoulli::from_probs(Tensor(col({0.2, 0.9})))),
       std::make_shared<Bernoulli>(Bernoulli::from_probs(Tensor(col({0.6, 0.5}))))},
      {"Categorical",
       std::make_shared<Categorical>(Categorical::from_probs(Tensor(row({0.1, 0.6, 0.3})))),
       std::make_shared<Categorical>(Categorical::from_probs(Tensor(row({0.3, 0.3, 0.4}))))},
      {"MultivariateNormal",
       std::make_shared<MultivariateNormal>(MultivariateNormal::from_scale_tril(
           Tensor(row({0.5, -1, 2})), Tensor(tril({1.2, 0.3, 0.8, -0.4, 0.2, 1.5}, 3)))),
       std::make_shared<MultivariateNormal>(MultivariateNormal::from_scale_tril(
           Tensor(row({0, 0.5, 1.5})), Tensor(tril({0.9, -0.2, 1.1, 0.1, 0.4, 0.7}, 3))))},
      // A factor per row (an amortised guide's) against one shared factor (a prior), and
      // against a factor per row.
      {"MultivariateNormal with a factor per row",
       std::make_shared<MultivariateNormal>(MultivariateNormal::from_scale_tril(
           Tensor(rows_of({{0.5, -1}, {0, 2}})),
           Tensor(rows_of({{1.2, 0.3, 0, 0.8}, {0.5, -0.6, 0, 1.4}})))),
       std::make_shared<MultivariateNormal>(MultivariateNormal::from_scale_tril(
           Tensor(row({0.2, 0.1})), Tensor(tril({0.9, -0.2, 1.1}, 2))))},
      {"MultivariateNormal with factors per row on both sides",
       std::make_shared<MultivariateNormal>(MultivariateNormal::from_scale_tril(
           Tensor(rows_of({{0.5, -1}, {0, 2}})),
           Tensor(rows_of({{1.2, 0.3, 0, 0.8}, {0.5, -0.6, 0, 1.4}})))),
       std::make_shared<MultivariateNormal>(MultivariateNormal::from_scale_tril(
           Tensor(row({0.2, 0.1})), Tensor(rows_of({{0.9, -0.2, 0, 1.1}, {2.0, 0.5, 0, 0.3}}))))},
      // to_event on both sides, and an expanded family.
      {"Independent(Normal)", Normal(Tensor(row({0.3, -1, 2})), 1.5).to_event(1),
       Normal(Tensor(row({0.1, 0.2, 0.3})), Tensor(row({1.0, 2.0, 0.5}))).to_event(1)},
      {"expanded Gamma", Gamma(2.0, 1.0).expand(3, 1),
       std::make_shared<Gamma>(Tensor(col({1, 2, 3})), 1.5)},
  };
}

}  // namespace

TEST_CASE("every registered KL agrees with its Monte Carlo estimate", "[distributions][kl]") {
  for (const Pair& c : pairs()) {
    INFO(c.name);
    const Tensor kl = kl_divergence(*c.p, *c.q);
    CHECK(kl.rows() == c.p->batch_rows());
    CHECK(kl.cols() == c.p->batch_cols());
    CHECK(has_kl_divergence(*c.p, *c.q));
    check_kl_monte_carlo(*c.p, *c.q, sum(kl).item());
    // KL(p || p) = 0.
    CHECK(sum(kl_divergence(*c.p, *c.p)).item() == Approx(0).margin(1e-5));
  }
}

TEST_CASE("KL from a Delta is its log_density minus the other's at its point",
          "[distributions][kl]") {
  const Delta d(Tensor(col({0.5, 2.0})));
  const Normal q(0, 2);
  CHECK(kl_divergence(d, q).matrix().isApprox((-q.log_prob(Tensor(col({0.5, 2.0})))).matrix()));
  const Gamma g(2.0, 1.0);
  CHECK(kl_divergence(d, g).matrix().isApprox((-g.log_prob(Tensor(col({0.5, 2.0})))).matrix()));
  const Delta dd(Tensor(col({0.5, 2.0})), Tensor(col({-1.0, 0.25})));
  const Matrix expected = col({-1.0, 0.25}) - q.log_prob(Tensor(col({0.5, 2.0}))).matrix();
  CHECK(kl_divergence(dd, q).matrix().isApprox(expected));
}

TEST_CASE("asking for an unregistered pair names both families", "[distributions][kl]") {
  CHECK_THROWS_WITH(kl_divergence(Gamma(2.0, 1.0), Normal(0, 1)),
                    Contains("Gamma") && Contains("Normal"));
  CHECK_FALSE(has_kl_divergence(Gamma(2.0, 1.0), Normal(0, 1)));
  // Mismatched event dimensions are not a registered pair either.
  CHECK_THROWS_AS(kl_divergence(*Normal(0, 1).to_event(1), Normal(0, 1)), ValueError);
  // A user-registered formula is found.
  register_kl<Gamma, Normal>([](const Gamma&, const Normal&) { return Tensor(Scalar(42)); });
  CHECK(kl_divergence(Gamma(2.0, 1.0), Normal(0, 1)).item() == 42);
}

#if !VESTA_SCALAR_IS_FLOAT
TEST_CASE("KL gradients match finite differences", "[distributions][kl][gradients]") {
  check_gradients("KL Normal",
                  [](const std::vector<Tensor>& x) {
                    return kl_divergence(Normal(x[0], x[1]), Normal(x[2], x[3]));
                  },
                  {col({0.3, -1}), col({1.2, 0.5}), col({0.1, 0.2}), col({0.8, 2.0})});
  check_gradients("KL Gamma",
                  [](const std::vector<Tensor>& x) {
                    return kl_divergence(Gamma(x[0], x[1]), Gamma(x[2], x[3]));
                  },
                  {col({2.5, 0.6}), col({1.5, 2.0}), col({1.2, 1.0}), col({0.7, 3.0})});
  // The factors' upper triangles are masked out, so finite differences stay lower triangular.
  const Tensor lower(tril({1, 1, 1}, 2));
  check_gradients(
      "KL MultivariateNormal",
      [lower](const std::vector<Tensor>& x) {
        return kl_divergence(MultivariateNormal::from_scale_tril(x[0], where(lower, x[1], 0)),
                             MultivariateNormal::from_scale_tril(x[2], where(lower, x[3], 0)));
      },
      {row({0.5, -1}), tril({1.2, 0.3, 0.8}, 2), row({0, 0.5}), tril({0.9, -0.2, 1.1}, 2)});
  // A factor per row (rows of 4 column-major entries; entry 2 is above the diagonal).
  const Tensor lower_rows(row({1, 1, 0, 1}));
  check_gradients("KL MultivariateNormal with a factor per row",
                  [lower_rows](const std::vector<Tensor>& x) {
                    return kl_divergence(
                        MultivariateNormal::from_scale_tril(x[0], where(lower_rows, x[1], 0)),
                        MultivariateNormal::from_scale_tril(x[2], where(lower_rows, x[3], 0)));
                  },
                  {rows_of({{0.5, -1}, {0, 2}}), rows_of({{1.2, 0.3, 0, 0.8}, {0.5, -0.6, 0, 1.4}}),
                   row({0, 0.5}), rows_of({{0.9, -0.2, 0, 1.1}, {2.0, 0.5, 0, 0.3}})});
  check_gradients(
      "normal_kl_to_centered_sum, scalar prior",
      [](const std::vector<Tensor>& x) { return normal_kl_to_centered_sum(x[0], x[1], x[2]); },
      {mat(2, 2, {0.3, -1, 0.5, 2}), mat(2, 2, {1.2, 0.5, 0.3, 0.9}), Matrix::Constant(1, 1, 0.7)});
  check_gradients(
      "normal_kl_to_centered_sum, per-entry prior",
      [](const std::vector<Tensor>& x) { return normal_kl_to_centered_sum(x[0], x[1], x[2]); },
      {mat(2, 2, {0.3, -1, 0.5, 2}), mat(2, 2, {1.2, 0.5, 0.3, 0.9}),
       mat(2, 2, {0.7, 1.5, 2, 0.4})});
}
#endif

TEST_CASE("the fused Normal KL sum equals the registered KL summed", "[distributions][kl]") {
  const Matrix m = mat(2, 3, {0.3, -1, 0.5, 2, 0, 0.1}), s = mat(2, 3, {1.2, 0.5, 0.3, 0.9, 1, 2});
  const Matrix p = mat(2, 3, {0.7, 1.5, 2, 0.4, 1, 3});
  const double per_entry = sum(kl_divergence(Normal(Tensor(m), Tensor(s)),
                                             Normal(Tensor(Matrix::Zero(2, 3)), Tensor(p))))
                               .item();
  CHECK(normal_kl_to_centered_sum(Tensor(m), Tensor(s), Tensor(p)).item() ==
        Approx(per_entry).epsilon(1e-5));
  const double scalar = sum(kl_divergence(Normal(Tensor(m), Tensor(s)), Normal(0, 2))).item();
  CHECK(normal_kl_to_centered_sum(Tensor(m), Tensor(s), Tensor(Scalar(2))).item() ==
        Approx(scalar).epsilon(1e-5));
  CHECK_THROWS_WITH(
      normal_kl_to_centered_sum(Tensor(m), Tensor(Matrix::Ones(3, 2)), Tensor(Scalar(1))),
      Contains("2x3") && Contains("3x2"));
}
