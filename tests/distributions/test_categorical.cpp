// Bernoulli, Categorical and OneHotCategorical: log_prob against Boost.Math or log p_k
// computed here, samplers by chi-square, moments and entropy, gradients with respect to probs
// and logits, the two parameterisations agreeing, and argument validation.
#include <boost/math/distributions/bernoulli.hpp>
#include <boost/math/distributions/chi_squared.hpp>
#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

#include "support/distcheck.hpp"

using namespace vesta;
using namespace vesta::testing;
using Catch::Matchers::Contains;

namespace {

double logit(double p) { return std::log(p) - std::log1p(-p); }

// log(p) - log(1 - p) of each entry: logits equivalent to the probabilities p.
Matrix logits_of(const Matrix& p) {
  return p.unaryExpr([](Scalar x) { return static_cast<Scalar>(logit(x)); });
}

// log p_k = l_k - logsumexp(l) of row r, in double.
double log_softmax_ref(const Matrix& l, Index r, Index k) {
  double m = -INFINITY;
  for (Index j = 0; j < l.cols(); ++j) m = std::max(m, double(l(r, j)));
  double s = 0;
  for (Index j = 0; j < l.cols(); ++j) s += std::exp(double(l(r, j)) - m);
  return double(l(r, k)) - m - std::log(s);
}

// Chi-square test of category counts against probabilities p (bins expecting fewer than 5
// merged into their neighbour); passes unless p < 0.001.
void check_counts(const std::vector<double>& counts, const std::vector<double>& p) {
  double n = 0;
  for (double c : counts) n += c;
  std::vector<double> e, o;
  double acc_e = 0, acc_o = 0;
  for (std::size_t k = 0; k < p.size(); ++k) {
    if (p[k] == 0) {
      INFO("category " << k << " has probability 0");
      CHECK(counts[k] == 0);
    }
    acc_e += n * p[k];
    acc_o += counts[k];
    if (acc_e >= 5) {
      e.push_back(acc_e);
      o.push_back(acc_o);
      acc_e = acc_o = 0;
    }
  }
  if (acc_e > 0 || acc_o > 0) {
    e.back() += acc_e;
    o.back() += acc_o;
  }
  double chi2 = 0;
  for (std::size_t k = 0; k < e.size(); ++k) chi2 += (o[k] - e[k]) * (o[k] - e[k]) / e[k];
  const double dof = double(e.size()) - 1;
  REQUIRE(dof >= 1);
  const double critical = boost::math::quantile(boost::math::chi_squared(dof), 0.999);
  INFO("chi2 " << chi2 << " on " << dof << " degrees of freedom, critical " << critical);
  CHECK(chi2 < critical);
}

// Turns validation off for a scope: finite differences step off the probability simplex.
struct ValidationOff {
  ValidationOff() { set_validation(false); }
  ~ValidationOff() { set_validation(true); }
  ValidationOff(const ValidationOff&) = delete;
  ValidationOff& operator=(const ValidationOff&) = delete;
};

}  // namespace

// ---- Bernoulli ------------------------------------------------------------------------

TEST_CASE("Bernoulli log_prob matches Boost.Math's mass function", "[distributions][categorical]") {
  const Matrix p = col({0.1, 0.5, 0.93, 0.02, 0.7});
  check_log_prob(
      Bernoulli::from_probs(Tensor(p)), col({1, 0, 1, 0, 0}), [&](Index i, Index, double x) {
        return std::log(boost::math::pdf(boost::math::bernoulli_distribution<double>(p(i, 0)), x));
      });
  // A single probability broadcast against a column of values.
  check_log_prob(Bernoulli::from_probs(0.25), col({1, 0, 1}), [](Index, Index, double x) {
    return std::log(boost::math::pdf(boost::math::bernoulli_distribution<double>(0.25), x));
  });
}

TEST_CASE("Bernoulli log_prob from logits is exact where p rounds to 0 or 1",
          "[distributions][categorical]") {
  // log sigmoid(l) = -log1p(exp(-l)) and log(1 - sigmoid(l)) = -log1p(exp(l)): at l = 40,
  // 1 - p is about 4e-18, which a probability in double cannot represent.
  const Matrix l = col({-3, 0, 2.5, 40, -50, 40});
  check_log_prob(Bernoulli::from_logits(Tensor(l)), col({1, 0, 1, 0, 1, 1}),
                 [&](Index i, Index, double x) {
                   const double li = l(i, 0);
                   return x == 1 ? -std::log1p(std::exp(-li)) : -std::log1p(std::exp(li));
                 });
}

TEST_CASE("Bernoulli at probability 0 and 1 scores -inf or 0 with finite gradients",
          "[distributions][categorical]") {
  const Tensor p = Tensor::variable(col({0, 1, 0, 1}));
  const Tensor lp = Bernoulli::from_probs(p).log_prob(Tensor(col({0, 1, 1, 0})));
  CHECK(lp(0, 0) == 0);
  CHECK(lp(1, 0) == 0);
  CHECK(lp(2, 0) == -INFINITY);
  CHECK(lp(3, 0) == -INFINITY);
  // The certain outcomes: d/dp log(1 - p) = -1 at p = 0, d/dp log p = 1 at p = 1.
  sum(gather_rows(lp, {0, 1})).backward();
  CHECK(p.grad()(0, 0) == Approx(-1));
  CHECK(p.grad()(1, 0) == Approx(1));
  tape().reset();
  // 0 log 0 = 0 in the entropy, with a finite gradient.
  const Tensor q = Tensor::variable(col({0, 1, 0.5}));
  const Tensor h = Bernoulli::from_probs(q).entropy();
  CHECK(h(0, 0) == 0);
  CHECK(h(1, 0) == 0);
  CHECK(h(2, 0) == Approx(std::log(2.0)));
  sum(h).backward();
  CHECK(q.grad().allFinite());
  tape().reset();
}

TEST_CASE("Bernoulli draws follow its mass function, moments and entropy",
          "[distributions][categorical]") {
  const auto pmf = [](double p) {
    return [p](long k) { return k == 0 ? 1 - p : k == 1 ? p : 0.0; };
  };
  check_chi_square(Bernoulli::from_probs(0.3), pmf(0.3));
  check_chi_square(Bernoulli::from_logits(Scalar(logit(0.85))), pmf(0.85));
  check_moments(Bernoulli::from_probs(Tensor(col({0.2, 0.7, 0.5}))));
  check_moments(Bernoulli::from_logits(Tensor(col({-1.5, 2}))));
  check_entropy_monte_carlo(Bernoulli::from_probs(Tensor(col({0.2, 0.7, 0.5}))));
  check_entropy_monte_carlo(Bernoulli::from_logits(Tensor(col({-1.5, 2}))));
  // Certain outcomes are always drawn.
  Rng rng(9);
  const Matrix x = Bernoulli::from_probs(Tensor(col({0, 1}))).expand(2, 50)->sample(rng).matrix();
  CHECK((x.row(0).array() == 0).all());
  CHECK((x.row(1).array() == 1).all());
}

TEST_CASE("Bernoulli from_probs and from_logits agree", "[distributions][categorical]") {
  const Matrix p = col({0.2, 0.5, 0.9, 0.999});
  const Bernoulli a = Bernoulli::from_probs(Tensor(p));
  const Bernoulli b = Bernoulli::from_logits(Tensor(logits_of(p)));
  const Tensor x(col({1, 0, 0, 1}));
  const double tol = sizeof(Scalar) == 4 ? 1e-5 : 1e-12;
  CHECK(a.log_prob(x).matrix().isApprox(b.log_prob(x).matrix(), tol));
  CHECK(a.entropy().matrix().isApprox(b.entropy().matrix(), tol));
  CHECK(a.mean().matrix().isApprox(b.mean().matrix(), tol));
  CHECK(a.variance().matrix().isApprox(b.variance().matrix(), tol));
  CHECK(b.probs().matrix().isApprox(p, tol));
  CHECK(a.logits().matrix().isApprox(logits_of(p), tol));
  CHECK(b.has_logits());
  CHECK_FALSE(a.has_logits());
  CHECK(a.support()->name() == "boolean");
  const DistributionPtr wide = Bernoulli::from_logits(0.5).expand(3, 4);
  CHECK(wide->rows() == 3);
  CHECK(wide->cols() == 4);
}

#if !VESTA_SCALAR_IS_FLOAT
TEST_CASE("Bernoulli log_prob and entropy gradients match finite differences",
          "[distributions][categorical][gradients]") {
  const Factory probs = [](const std::vector<Tensor>& p) {
    return std::make_shared<Bernoulli>(Bernoulli::from_probs(p[0]));
  };
  const Factory logits = [](const std::vector<Tensor>& p) {
    return std::make_shared<Bernoulli>(Bernoulli::from_logits(p[0]));
  };
  check_log_prob_gradients("Bernoulli probs", probs, {col({0.3, 0.8, 0.6})}, col({1, 0, 0}));
  check_log_prob_gradients("Bernoulli logits", logits, {col({0.3, -2, 25})}, col({1, 0, 1}));
  check_gradients("Bernoulli probs entropy",
                  [&](const std::vector<Tensor>& p) { return probs(p)->entropy(); },
                  {col({0.3, 0.8, 0.6})});
  check_gradients("Bernoulli logits entropy",
                  [&](const std::vector<Tensor>& p) { return logits(p)->entropy(); },
                  {col({0.3, -2, 7})});
  check_gradients("Bernoulli logits variance",
                  [&](const std::vector<Tensor>& p) { return logits(p)->variance(); },
                  {col({0.3, -2, 7})});
}
#endif

TEST_CASE("Bernoulli with soft targets scores values in [0, 1] by the cross-entropy",
          "[distributions][categorical]") {
  const Matrix p = col({0.1, 0.5, 0.93, 0.02, 0.7, 0.3});
  const Matrix x = col({0.25, 0, 1, 0.5, 0.9, 1});
  const auto cross_entropy = [&](Index i, Index, double v) {
    const double q = p(i, 0);
    return v * std::log(q) + (1 - v) * std::log1p(-q);
  };
  const Bernoulli from_probs = Bernoulli::from_probs(Tensor(p)).with_soft_targets();
  const Bernoulli from_logits = Bernoulli::from_logits(Tensor(logits_of(p))).with_soft_targets();
  CHECK(from_probs.soft_targets());
  CHECK_FALSE(Bernoulli::from_probs(Tensor(p)).soft_targets());
  CHECK(from_probs.support()->name() == "unit_interval");
  check_log_prob(from_probs, x, cross_entropy);
  check_log_prob(from_logits, x, cross_entropy);
  // At 0 and 1 it is the mass function.
  const Tensor binary(col({1, 0, 1, 0, 0, 1}));
  const double tol = sizeof(Scalar) == 4 ? 1e-5 : 1e-12;
  CHECK(from_probs.log_prob(binary).matrix().isApprox(
      Bernoulli::from_probs(Tensor(p)).log_prob(binary).matrix(), tol));
  // Logits beyond what a probability can hold, and certain probabilities where the value
  // makes them possible, stay finite (no 0 * -inf); an impossible value scores -inf.
  const Matrix big = col({40, -40});
  const Matrix lp = Bernoulli::from_logits(Tensor(big))
                        .with_soft_targets()
                        .log_prob(Tensor(col({0.5, 0.5})))
                        .matrix();
  CHECK(lp(0, 0) == Approx(-20).epsilon(1e-6));
  CHECK(lp(1, 0) == Approx(-20).epsilon(1e-6));
  const Matrix edge = Bernoulli::from_probs(Tensor(col({0, 1, 0})))
                          .with_soft_targets()
                          .log_prob(Tensor(col({0, 1, 0.5})))
                          .matrix();
  CHECK(edge(0, 0) == 0);
  CHECK(edge(1, 0) == 0);
  CHECK(edge(2, 0) == -INFINITY);
  // Draws, moments and entropy are the 0/1 Bernoulli's; expanding keeps the soft targets.
  check_chi_square(Bernoulli::from_probs(0.3).with_soft_targets(), [](long k) {
    return k == 0 ? 0.7 : k == 1 ? 0.3 : 0.0;
  });
  CHECK(from_logits.entropy().matrix().isApprox(Bernoulli::from_probs(Tensor(p)).entropy().matrix(),
                                                tol));
  const DistributionPtr wide = Bernoulli::from_logits(0.5).with_soft_targets().expand(2, 3);
  CHECK(wide->log_prob(Tensor(Matrix::Constant(2, 3, 0.5)))
            .matrix()
            .isApprox(Matrix::Constant(2, 3, Scalar(0.5 * 0.5 - std::log1p(std::exp(0.5)))), tol));
  // Validation still rejects what is not in [0, 1], naming the support; the 0/1 Bernoulli
  // still rejects the grey levels.
  CHECK_THROWS_WITH(
      from_logits.log_prob(Tensor(col({0, 0.5, 1, 1.5, 0, 0}))),
      Contains("Bernoulli: value[3] is 1.5, but must be in the support unit_interval"));
  CHECK_THROWS_WITH(from_probs.log_prob(Tensor(col({0, std::nan(""), 1, 1, 0, 0}))),
                    Contains("Bernoulli: value[1] is nan"));
  CHECK_THROWS_WITH(Bernoulli::from_logits(Tensor(logits_of(p))).log_prob(Tensor(x)),
                    Contains("Bernoulli: value[0] is 0.25, but must be in the support boolean"));
}

#if !VESTA_SCALAR_IS_FLOAT
TEST_CASE("Bernoulli soft-target log_prob gradients match finite differences",
          "[distributions][categorical][gradients]") {
  const Factory probs = [](const std::vector<Tensor>& p) {
    return std::make_shared<Bernoulli>(Bernoulli::from_probs(p[0]).with_soft_targets());
  };
  const Factory logits = [](const std::vector<Tensor>& p) {
    return std::make_shared<Bernoulli>(Bernoulli::from_logits(p[0]).with_soft_targets());
  };
  check_log_prob_gradients("soft Bernoulli probs", probs, {col({0.3, 0.8, 0.6})}, col({0.2, 0, 1}));
  check_log_prob_gradients("soft Bernoulli logits", logits, {col({0.3, -2, 25})},
                           col({0.7, 0, 0.5}));
}
#endif

TEST_CASE("Bernoulli rejects bad parameters and values, naming the index and value",
          "[distributions][categorical]") {
  CHECK_THROWS_WITH(Bernoulli::from_probs(Tensor(col({0.5, 1.5}))),
                    Contains("Bernoulli: probs[1] is 1.5, but must be in [0, 1]"));
  CHECK_THROWS_WITH(Bernoulli::from_probs(Tensor(col({0.5, 0.25, std::nan("")}))),
                    Contains("Bernoulli: probs[2] is nan, but must be in [0, 1]"));
  CHECK_THROWS_WITH(Bernoulli::from_probs(-0.1), Contains("Bernoulli: probs is -0.1"));
  CHECK_THROWS_WITH(Bernoulli::from_logits(Tensor(col({0, std::nan("")}))),
                    Contains("Bernoulli: logits[1] is nan, but must be real (not NaN)"));
  CHECK_THROWS_AS(Bernoulli::from_probs(0.5).log_prob(Tensor(col({0, 2}))), ValueError);
  CHECK_THROWS_WITH(Bernoulli::from_probs(0.5).log_prob(Tensor(col({0, 1, 0.5}))),
                    Contains("Bernoulli: value[2] is 0.5, but must be in the support boolean"));
  CHECK_THROWS_AS(Bernoulli::from_probs(Tensor(col({0.5, 0.5}))).expand(3, 1), ShapeError);
  set_validation(false);
  CHECK_NOTHROW(Bernoulli::from_probs(2));
  set_validation(true);
}

// ---- Categorical ----------------------------------------------------------------------

TEST_CASE("Categorical log_prob is log p of each row's category", "[distributions][categorical]") {
  const Matrix p = mat(3, 4,
                       {0.1, 0.2, 0.3, 0.4,      //
                        0.25, 0.25, 0.25, 0.25,  //
                        0.7, 0.0, 0.2, 0.1});
  const Categorical d = Categorical::from_probs(Tensor(p));
  CHECK(d.rows() == 3);
  CHECK(d.cols() == 1);
  CHECK(d.event_dim() == 0);
  CHECK(d.num_categories() == 4);
  check_log_prob(d, col({3, 1, 2}),
                 [&](Index i, Index, double x) { return std::log(p(i, Index(x))); });
  // An impossible category scores -inf.
  CHECK(d.log_prob(Tensor(col({0, 0, 1})))(2, 0) == -INFINITY);

  const Matrix l = mat(2, 3,
                       {1.5, -0.5, 3,  //
                        -INFINITY, 40, 38});
  check_log_prob(Categorical::from_logits(Tensor(l)), col({2, 2}),
                 [&](Index i, Index, double x) { return log_softmax_ref(l, i, Index(x)); });

  // One row of parameters broadcast against a column of values, and one value against rows.
  const Matrix row = mat(1, 3, {0.5, 0.3, 0.2});
  check_log_prob(Categorical::from_probs(Tensor(row)), col({0, 2, 1, 2}),
                 [&](Index, Index, double x) { return std::log(row(0, Index(x))); });
  const Matrix lp = Categorical::from_probs(Tensor(p)).log_prob(Tensor(Scalar(0))).matrix();
  REQUIRE(lp.rows() == 3);
  CHECK(lp(2, 0) == Approx(std::log(0.7)));
}

TEST_CASE("Categorical draws follow its probabilities", "[distributions][categorical]") {
  const auto pmf = [](std::vector<double> p) {
    return [p](long k) { return k < long(p.size()) ? p[std::size_t(k)] : 0.0; };
  };
  check_chi_square(Categorical::from_probs(Tensor(mat(1, 4, {0.1, 0.2, 0.3, 0.4}))),
                   pmf({0.1, 0.2, 0.3, 0.4}));
  // Logits far from 0 (softmax of [1000, 1001, 999]) must not overflow.
  const double e = std::exp(1.0);
  const double z = 1 + e + 1 / e;
  check_chi_square(Categorical::from_logits(Tensor(mat(1, 3, {1000, 1001, 999}))),
                   pmf({1 / z, e / z, 1 / e / z}));

  // Each row draws from its own distribution; a category of probability 0 never appears.
  const Matrix p = mat(2, 3,
                       {0.5, 0.0, 0.5,  //
                        0.1, 0.6, 0.3});
  const Categorical d = Categorical::from_probs(Tensor(p));
  Rng rng(11);
  std::vector<std::vector<double>> counts(2, std::vector<double>(3, 0));
  for (int k = 0; k < 20000; ++k) {
    const Matrix x = d.sample(rng).matrix();
    REQUIRE(x.rows() == 2);
    REQUIRE(x.cols() == 1);
    for (Index r = 0; r < 2; ++r) counts[std::size_t(r)][std::size_t(x(r, 0))] += 1;
  }
  check_counts(counts[0], {0.5, 0.0, 0.5});
  check_counts(counts[1], {0.1, 0.6, 0.3});
}

TEST_CASE("Categorical entropy matches the sum and Monte Carlo", "[distributions][categorical]") {
  const Matrix p = mat(2, 3,
                       {0.2, 0.3, 0.5,  //
                        0.0, 0.9, 0.1});
  const Matrix h = Categorical::from_probs(Tensor(p)).entropy().matrix();
  REQUIRE(h.rows() == 2);
  REQUIRE(h.cols() == 1);
  for (Index r = 0; r < 2; ++r) {
    double expected = 0;
    for (Index k = 0; k < 3; ++k) expected -= p(r, k) > 0 ? p(r, k) * std::log(p(r, k)) : 0.0;
    CHECK(h(r, 0) == Approx(expected));
  }
  check_entropy_monte_carlo(Categorical::from_probs(Tensor(p)));
  check_entropy_monte_carlo(
      Categorical::from_logits(Tensor(mat(2, 3, {0.5, -1, 2, -INFINITY, 0, 1}))));
  // Pyro's Categorical has no mean or variance (nan there); here they throw.
  CHECK_THROWS_WITH(Categorical::from_probs(Tensor(p)).mean(), Contains("Categorical"));
  CHECK_THROWS_AS(Categorical::from_probs(Tensor(p)).variance(), ValueError);
}

TEST_CASE("Categorical from_probs and from_logits agree", "[distributions][categorical]") {
  const Matrix p = mat(2, 3,
                       {0.2, 0.3, 0.5,  //
                        0.6, 0.3, 0.1});
  const Categorical a = Categorical::from_probs(Tensor(p));
  // Unnormalised logits: shifting a row changes nothing.
  Matrix l = p.array().log().matrix();
  l.row(1).array() += 7;
  const Categorical b = Categorical::from_logits(Tensor(l));
  const Tensor x(col({2, 0}));
  const double tol = sizeof(Scalar) == 4 ? 1e-5 : 1e-12;
  CHECK(a.log_prob(x).matrix().isApprox(b.log_prob(x).matrix(), tol));
  CHECK(a.entropy().matrix().isApprox(b.entropy().matrix(), tol));
  CHECK(b.probs().matrix().isApprox(p, tol));
  CHECK(b.logits().matrix().isApprox(a.logits().matrix(), tol));
  CHECK(a.support()->name() == "integer_interval(0, 2)");
}

TEST_CASE("Categorical expands rows", "[distributions][categorical]") {
  const Categorical one = Categorical::from_logits(Tensor(mat(1, 3, {0, 1, 2})));
  const DistributionPtr many = one.expand(5, 1);
  CHECK(many->rows() == 5);
  CHECK(many->cols() == 1);
  CHECK(static_cast<const Categorical&>(*many).probs().rows() == 5);
  const Matrix lp = many->log_prob(Tensor(col({0, 1, 2, 1, 0}))).matrix();
  CHECK(lp(3, 0) == Approx(log_softmax_ref(mat(1, 3, {0, 1, 2}), 0, 1)));
  CHECK_THROWS_AS(one.expand(5, 2), ShapeError);
  CHECK_THROWS_WITH(many->expand(4, 1), Contains("Categorical(5x1) cannot be expanded to 4x1"));
  // Inside a plate of 4, one row of parameters draws 4 categories.
  Rng rng(3);
  CHECK(one.expand(4, 1)->sample(rng).rows() == 4);
}

#if !VESTA_SCALAR_IS_FLOAT
TEST_CASE("Categorical log_prob and entropy gradients match finite differences",
          "[distributions][categorical][gradients]") {
  const Factory probs = [](const std::vector<Tensor>& p) {
    return std::make_shared<Categorical>(Categorical::from_probs(p[0]));
  };
  const Factory logits = [](const std::vector<Tensor>& p) {
    return std::make_shared<Categorical>(Categorical::from_logits(p[0]));
  };
  const Matrix l = mat(3, 4, {0.5, -1, 2, 0.1, 0, 0, 0, 0, 3, -2, 1, -1});
  // Repeated categories and a broadcast row of parameters.
  check_log_prob_gradients("Categorical logits", logits, {l}, col({2, 0, 2}));
  check_log_prob_gradients("Categorical logits, one row", logits, {mat(1, 3, {0.5, -1, 2})},
                           col({2, 0, 2, 1}));
  check_gradients("Categorical logits entropy",
                  [&](const std::vector<Tensor>& p) { return logits(p)->entropy(); }, {l});
  // Finite differences step off the simplex, so the probs are taken as they come.
  const ValidationOff off;
  const Matrix p = mat(2, 3, {0.2, 0.3, 0.5, 0.6, 0.3, 0.1});
  check_log_prob_gradients("Categorical probs", probs, {p}, col({1, 0}));
  check_gradients("Categorical probs entropy",
                  [&](const std::vector<Tensor>& ps) { return probs(ps)->entropy(); }, {p});
}
#endif

TEST_CASE("Categorical rejects bad parameters and values, naming the index and value",
          "[distributions][categorical]") {
  CHECK_THROWS_WITH(Categorical::from_probs(Tensor(mat(2, 2, {0.5, 0.5, 1.1, -0.1}))),
                    Contains("Categorical: probs[1, 0] is 1.1, but must be in [0, 1]"));
  CHECK_THROWS_WITH(Categorical::from_probs(Tensor(mat(2, 2, {0.5, 0.5, 0.5, 0.25}))),
                    Contains("Categorical: probs row 1 sums to 0.75, but must sum to 1"));
  CHECK_THROWS_WITH(Categorical::from_logits(Tensor(mat(1, 3, {0, INFINITY, 1}))),
                    Contains("Categorical: logits[1] is inf, but must be finite or -inf"));
  CHECK_THROWS_WITH(Categorical::from_logits(Tensor(mat(2, 2, {0, 1, -INFINITY, -INFINITY}))),
                    Contains("Categorical: logits row 1 is all -inf"));
  CHECK_THROWS_WITH(Categorical::from_logits(Tensor(Matrix(3, 0))),
                    Contains("Categorical: logits is 3x0"));
  const Categorical d = Categorical::from_probs(Tensor(mat(1, 4, {0.25, 0.25, 0.25, 0.25})));
  CHECK_THROWS_WITH(
      d.log_prob(Tensor(col({0, 4}))),
      Contains("Categorical: value[1] is 4, but must be in the support integer_interval(0, 3)"));
  CHECK_THROWS_WITH(d.log_prob(Tensor(col({1.5}))), Contains("value is 1.5"));
  CHECK_THROWS_AS(d.log_prob(Tensor(mat(1, 2, {0, 1}))), ShapeError);
  CHECK_THROWS_AS(Categorical::from_probs(Tensor(mat(2, 2, {0.5, 0.5, 0.5, 0.5})))
                      .log_prob(Tensor(col({0, 1, 1}))),
                  ShapeError);
  // Without validation the index is still checked: it addresses memory.
  const ValidationOff off;
  CHECK_THROWS_WITH(d.log_prob(Tensor(col({7}))),
                    Contains("Categorical: value[0] is 7, but must be a category in 0..3"));
}

// ---- OneHotCategorical ----------------------------------------------------------------

TEST_CASE("OneHotCategorical log_prob is log p of the marked category",
          "[distributions][categorical]") {
  const Matrix p = mat(2, 3,
                       {0.2, 0.3, 0.5,  //
                        0.0, 0.9, 0.1});
  const OneHotCategorical d = OneHotCategorical::from_probs(Tensor(p));
  CHECK(d.rows() == 2);
  CHECK(d.cols() == 3);
  CHECK(d.event_dim() == 1);
  CHECK(d.batch_rows() == 2);
  CHECK(d.batch_cols() == 1);
  const Matrix lp = d.log_prob(Tensor(mat(2, 3, {0, 0, 1, 0, 1, 0}))).matrix();
  REQUIRE(lp.rows() == 2);
  REQUIRE(lp.cols() == 1);
  const double tol = log_prob_tolerance();
  CHECK(lp(0, 0) == Approx(std::log(0.5)).epsilon(tol));
  CHECK(lp(1, 0) == Approx(std::log(0.9)).epsilon(tol));
  CHECK(d.log_prob(Tensor(mat(1, 3, {1, 0, 0})))(1, 0) == -INFINITY);

  const Matrix l = mat(2, 3, {1.5, -0.5, 3, -INFINITY, 40, 38});
  const Matrix ll = OneHotCategorical::from_logits(Tensor(l))
                        .log_prob(Tensor(mat(2, 3, {1, 0, 0, 0, 0, 1})))
                        .matrix();
  CHECK(ll(0, 0) == Approx(log_softmax_ref(l, 0, 0)).epsilon(tol));
  CHECK(ll(1, 0) == Approx(log_softmax_ref(l, 1, 2)).epsilon(tol));
  CHECK(d.support()->name() == "one_hot");
}

TEST_CASE("OneHotCategorical draws are one-hot rows with the right frequencies and moments",
          "[distributions][categorical]") {
  const std::vector<double> p = {0.15, 0.25, 0.6};
  const DistributionPtr d =
      OneHotCategorical::from_probs(Tensor(mat(1, 3, {p[0], p[1], p[2]}))).expand(20000, 3);
  Rng rng(12);
  const Matrix x = d->sample(rng).matrix();
  REQUIRE(x.rows() == 20000);
  REQUIRE(x.cols() == 3);
  CHECK(((x.array() == 0) || (x.array() == 1)).all());
  CHECK((x.rowwise().sum().array() == 1).all());
  std::vector<double> counts(3);
  for (Index k = 0; k < 3; ++k) counts[std::size_t(k)] = double(x.col(k).sum());
  check_counts(counts, p);

  const Matrix q = mat(2, 3, {0.2, 0.3, 0.5, 0.6, 0.3, 0.1});
  check_moments(OneHotCategorical::from_probs(Tensor(q)));
  check_moments(OneHotCategorical::from_logits(Tensor(mat(2, 3, {0.5, -1, 2, 0, 1, -3}))));
  check_entropy_monte_carlo(OneHotCategorical::from_probs(Tensor(q)));
  const OneHotCategorical a = OneHotCategorical::from_probs(Tensor(q));
  CHECK(a.entropy().matrix().isApprox(Categorical::from_probs(Tensor(q)).entropy().matrix()));
  CHECK(a.mean().matrix().isApprox(q));
  CHECK(a.variance().matrix().isApprox(Matrix(q.array() * (1 - q.array()))));
}

TEST_CASE("OneHotCategorical from_probs and from_logits agree, and expand keeps the categories",
          "[distributions][categorical]") {
  const Matrix p = mat(2, 3, {0.2, 0.3, 0.5, 0.6, 0.3, 0.1});
  const OneHotCategorical a = OneHotCategorical::from_probs(Tensor(p));
  const OneHotCategorical b = OneHotCategorical::from_logits(Tensor(Matrix(p.array().log() + 2)));
  const Tensor x(mat(2, 3, {0, 1, 0, 1, 0, 0}));
  const double tol = sizeof(Scalar) == 4 ? 1e-5 : 1e-12;
  CHECK(a.log_prob(x).matrix().isApprox(b.log_prob(x).matrix(), tol));
  CHECK(a.entropy().matrix().isApprox(b.entropy().matrix(), tol));
  CHECK(b.probs().matrix().isApprox(p, tol));
  CHECK(a.num_categories() == 3);
  const DistributionPtr wide =
      OneHotCategorical::from_probs(Tensor(mat(1, 3, {0.2, 0.3, 0.5}))).expand(4, 3);
  CHECK(wide->rows() == 4);
  CHECK(wide->cols() == 3);
  CHECK(wide->log_prob(Tensor(mat(1, 3, {0, 0, 1}))).rows() == 4);
  CHECK_THROWS_AS(a.expand(2, 1), ShapeError);
  // to_event(1) makes the rows one event: log_prob sums them.
  CHECK(a.to_event(1)->log_prob(x).item() == Approx(sum(a.log_prob(x)).item()));
}

#if !VESTA_SCALAR_IS_FLOAT
TEST_CASE("OneHotCategorical log_prob gradients match finite differences",
          "[distributions][categorical][gradients]") {
  const Factory logits = [](const std::vector<Tensor>& p) {
    return std::make_shared<OneHotCategorical>(OneHotCategorical::from_logits(p[0]));
  };
  const Factory probs = [](const std::vector<Tensor>& p) {
    return std::make_shared<OneHotCategorical>(OneHotCategorical::from_probs(p[0]));
  };
  const Matrix x = mat(3, 3, {0, 0, 1, 1, 0, 0, 0, 0, 1});
  check_log_prob_gradients("OneHotCategorical logits", logits,
                           {mat(3, 3, {0.5, -1, 2, 0, 1, -3, 2, 2, 0})}, x);
  const ValidationOff off;
  check_log_prob_gradients("OneHotCategorical probs", probs, {mat(1, 3, {0.2, 0.3, 0.5})}, x);
}
#endif

TEST_CASE("OneHotCategorical rejects bad parameters and values", "[distributions][categorical]") {
  CHECK_THROWS_WITH(OneHotCategorical::from_probs(Tensor(mat(1, 2, {0.5, 0.6}))),
                    Contains("OneHotCategorical: probs row 0 sums to 1.1, but must sum to 1"));
  CHECK_THROWS_WITH(OneHotCategorical::from_logits(Tensor(mat(1, 2, {0, std::nan("")}))),
                    Contains("OneHotCategorical: logits[1] is nan"));
  const OneHotCategorical d = OneHotCategorical::from_probs(Tensor(mat(1, 3, {0.2, 0.3, 0.5})));
  CHECK_THROWS_WITH(
      d.log_prob(Tensor(mat(2, 3, {0, 1, 0, 1, 1, 0}))),
      Contains("OneHotCategorical: value[1, 0] is 1, but must be in the support one_hot"));
  CHECK_THROWS_WITH(d.log_prob(Tensor(mat(1, 3, {0, 2, 0}))), Contains("value[1] is 2"));
  CHECK_THROWS_AS(d.log_prob(Tensor(mat(1, 2, {0, 1}))), ShapeError);
}
