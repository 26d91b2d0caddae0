// Enumeration against brute force: TraceEnum_ELBO's value and gradients equal the log-sum-exp
// of the model's log-joint over every joint assignment of its discrete sites (each assignment
// run through condition, with no enumeration code involved); the HMM's marginal equals a
// forward algorithm written here in probabilities; the score-function estimator (Trace_ELBO
// with the discrete sites in the guide) averages to the same value and gradients;
// infer_discrete's MAP is the brute-force argmax and its draws have the exact marginals.
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

#include "support/gradcheck.hpp"
#include "support/svi.hpp"

using namespace vesta;
using Catch::Matchers::Contains;

namespace {

using Fresh = vesta::testing::FreshParams;

// Agreement "to rounding": double's last few digits, or float's.
const double kRound = sizeof(Scalar) == 4 ? 1e-4 : 1e-11;
// Finite differences: their step, and their agreement with the tape.
const double kStep = sizeof(Scalar) == 4 ? 1e-2 : 1e-6;
const double kFdTol = sizeof(Scalar) == 4 ? 2e-2 : 1e-6;

// ---- models ------------------------------------------------------------------------------

Matrix mixture_data() {
  Matrix x(4, 1);
  x << -1.3, 0.4, 2.2, 0.9;
  return x;
}

// A 3-component mixture with weights, locs and scale as params of the model, and a global
// shift with a Normal guide (so the ELBO has a guide term and pathwise gradients too).
void mixture_model(const Matrix& x) {
  const Tensor w = param("weights", Matrix::Constant(1, 3, 1.0 / 3), constraints::simplex());
  Matrix l0(3, 1);
  l0 << -1, 0.5, 2;
  const Tensor locs = param("locs", l0);
  const Tensor scale = param("scale", Matrix::Constant(1, 1, 0.8), constraints::positive());
  const Tensor shift = sample("shift", Normal(0, 1));
  auto data = plate("data", x.rows());
  const Tensor z = sample("z", Categorical::from_probs(w), Infer{.enumerate = true});
  sample("x", Normal(take(locs, z) + shift, scale), Tensor(x));
}

void shift_guide(const Matrix&) {
  const Tensor m = param("m", Matrix::Constant(1, 1, 0.2));
  const Tensor s = param("s", Matrix::Constant(1, 1, 0.5), constraints::positive());
  sample("shift", Normal(m, s));
}

void no_guide(const Matrix&) {}

// Two enumerated sites per datum, one observation of each and one of both.
void two_site_model(const Matrix& x) {
  const Tensor p = param("p", Matrix::Constant(1, 1, 0.3), constraints::unit_interval());
  const Tensor w = param("w", Matrix::Constant(1, 3, 1.0 / 3), constraints::simplex());
  Matrix a0(2, 1), b0(3, 1);
  a0 << -1, 1;
  b0 << 0, 0.5, -0.7;
  const Tensor a = param("a", a0);
  const Tensor b = param("b", b0);
  auto data = plate("data", x.rows());
  const Tensor z1 = sample("z1", Bernoulli::from_probs(p), Infer{.enumerate = true});
  const Tensor z2 = sample("z2", Categorical::from_probs(w), Infer{.enumerate = true});
  sample("x1", Normal(take(a, z1), 1), Tensor(x.col(0)));
  sample("x2", Normal(take(b, z2), 1), Tensor(x.col(1)));
  sample("x3", Normal(take(a, z1) + take(b, z2), 0.5), Tensor(x.col(2)));
}

Matrix two_site_data() {
  Matrix x(3, 3);
  x << 0.3, -0.2, 1.1, -1.4, 0.8, 0.1, 0.9, 0.4, -0.6;
  return x;
}

// One Bernoulli outside plates that every datum depends on.
void global_model(const Matrix& x) {
  const Tensor p = param("p", Matrix::Constant(1, 1, 0.3), constraints::unit_interval());
  Matrix m0(2, 1);
  m0 << -0.5, 1.5;
  const Tensor mu = param("mu", m0);
  const Tensor z = sample("z", Bernoulli::from_probs(p), Infer{.enumerate = true});
  auto data = plate("data", x.rows());
  sample("x", Normal(take(mu, z), 1), Tensor(x));
}

// A 3-state HMM with Normal emissions, one observation per step.
Matrix hmm_data(Index T) {
  Matrix x(T, 1);
  const double v[] = {0.1, 2.3, 1.9, -0.4, 0.2, 4.1, 3.8, 1.0};
  for (Index t = 0; t < T; ++t) x(t, 0) = v[t % 8] + 0.1 * double(t / 8);
  return x;
}

Matrix hmm_trans0() {
  Matrix tr(3, 3);
  tr << 0.7, 0.2, 0.1, 0.15, 0.7, 0.15, 0.1, 0.3, 0.6;
  return tr;
}

void hmm_model(const Matrix& x) {
  const Tensor init = param("init", Matrix{{0.5, 0.3, 0.2}}, constraints::simplex());
  const Tensor trans = param("trans", hmm_trans0(), constraints::simplex());
  const Tensor locs = param("locs", Matrix{{0.0}, {2.0}, {4.0}});
  Tensor z;
  for (Index t : markov(x.rows(), "hmm")) {
    const Tensor probs = t == 0 ? init : take_rows(trans, z);
    z = sample(fmt::format("z_{}", t), Categorical::from_probs(probs), Infer{.enumerate = true});
    sample(fmt::format("x_{}", t), Normal(take(locs, z), 1), Tensor(x(t, 0)));
  }
}

// The same chain with two observations per step, in a plate inside the step.
void hmm_plate_model(const Matrix& x) {
  const Tensor init = param("init", Matrix{{0.5, 0.3, 0.2}}, constraints::simplex());
  const Tensor trans = param("trans", hmm_trans0(), constraints::simplex());
  const Tensor locs = param("locs", Matrix{{0.0}, {2.0}, {4.0}});
  Tensor z;
  for (Index t : markov(x.rows(), "hmm")) {
    const Tensor probs = t == 0 ? init : take_rows(trans, z);
    z = sample(fmt::format("z_{}", t), Categorical::from_probs(probs), Infer{.enumerate = true});
    auto pair = plate(fmt::format("pair_{}", t), 2);
    sample(fmt::format("x_{}", t), Normal(take(locs, z), 1), Tensor(x.row(t).transpose()));
  }
}

// ---- brute force -------------------------------------------------------------------------

struct DiscreteSite {
  std::string name;
  Index rows;
  Index values;  // 0..values-1
};

// Every joint assignment of `sites` (each entry of each site), as condition values.
std::vector<ValueMap> assignments(const std::vector<DiscreteSite>& sites) {
  std::vector<Index> radix;  // one digit per entry of each site
  for (const auto& s : sites) radix.insert(radix.end(), static_cast<std::size_t>(s.rows), s.values);
  std::vector<Index> digit(radix.size(), 0);
  std::vector<ValueMap> out;
  for (;;) {
    ValueMap v;
    std::size_t k = 0;
    for (const auto& s : sites) {
      Matrix m(s.rows, 1);
      for (Index r = 0; r < s.rows; ++r) m(r, 0) = Scalar(digit[k++]);
      v[s.name] = Tensor(m);
    }
    out.push_back(std::move(v));
    std::size_t j = 0;
    while (j < digit.size() && ++digit[j] == radix[j]) digit[j++] = 0;
    if (j == digit.size()) return out;
  }
}

// The model's log-joint at each assignment (on the tape, given the guide's values).
template <class Model>
std::vector<Tensor> log_joints(const Model& model, const Trace& guide_trace,
                               const std::vector<ValueMap>& all, const Matrix& x) {
  std::vector<Tensor> out;
  for (const ValueMap& v : all) {
    Trace t = trace(replay(condition(std::cref(model), v), guide_trace)).get_trace(x);
    out.push_back(t.log_prob_sum());
  }
  return out;
}

template <class Model>
Tensor brute_log_marginal(const Model& model, const Trace& guide_trace,
                          const std::vector<DiscreteSite>& sites, const Matrix& x) {
  return logsumexp(vstack(log_joints(model, guide_trace, assignments(sites), x)));
}

// Every param's gradient, by name.
std::map<std::string, Matrix> param_grads() {
  std::map<std::string, Matrix> g;
  for (const auto& [name, e] : param_store().entries()) g[name] = e.unconstrained.grad();
  return g;
}

void zero_param_grads() {
  for (const auto& [name, e] : param_store().entries()) e.unconstrained.zero_grad();
}

// TraceEnum_ELBO's loss and gradients against -(brute-force log marginal - log q) on the
// same draw of the guide.
template <class Model, class Guide>
void check_against_brute_force(const Model& model, const Guide& guide,
                               const std::vector<DiscreteSite>& sites, const Matrix& x) {
  Fresh fresh;
  auto seeded = seed(guide, 11);
  TraceEnum_ELBO elbo;
  // Twice: the first run learns the layout of the joint values; the second reuses it.
  for (int run = 0; run < 2; ++run) {
    zero_param_grads();
    double enum_loss = 0;
    {
      TapeStep step;
      const Tensor loss = elbo.differentiable_loss(model, seeded, x);
      enum_loss = loss.item();
      loss.backward();
    }
    const auto enum_grads = param_grads();
    zero_param_grads();
    double brute_loss = 0;
    {
      TapeStep step;
      const Trace gt = trace(seeded).get_trace(x);
      const Tensor loss = -(brute_log_marginal(model, gt, sites, x) - gt.log_prob_sum());
      brute_loss = loss.item();
      loss.backward();
    }
    const auto brute_grads = param_grads();
    CHECK(enum_loss == Approx(brute_loss).epsilon(kRound));
    REQUIRE(enum_grads.size() == brute_grads.size());
    for (const auto& [name, g] : brute_grads) {
      INFO("param " << name);
      const Matrix& e = enum_grads.at(name);
      CHECK((e - g).cwiseAbs().maxCoeff() <= 100 * kRound * (1 + g.cwiseAbs().maxCoeff()));
    }
  }
}

// log p(x) of hmm_model at its initial params by a forward algorithm in probabilities,
// rescaled at every step.
double hmm_forward(const Matrix& x) {
  const Eigen::RowVector3d init(0.5, 0.3, 0.2);
  const Eigen::MatrixXd tr = hmm_trans0().cast<double>();
  const Eigen::RowVector3d locs(0, 2, 4);
  auto emit = [&](double xt) {
    Eigen::RowVector3d e;
    for (int k = 0; k < 3; ++k)
      e(k) = std::exp(-0.5 * (xt - locs(k)) * (xt - locs(k))) / std::sqrt(2 * M_PI);
    return e;
  };
  Eigen::RowVector3d a = init.cwiseProduct(emit(x(0, 0)));
  double log_z = 0;
  for (Index t = 1; t <= x.rows(); ++t) {
    const double c = a.sum();
    log_z += std::log(c);
    a /= c;
    if (t == x.rows()) break;
    a = (a * tr).cwiseProduct(emit(x(t, 0)));
  }
  return log_z;
}

std::vector<DiscreteSite> hmm_sites(Index T) {
  std::vector<DiscreteSite> s;
  for (Index t = 0; t < T; ++t) s.push_back({fmt::format("z_{}", t), 1, 3});
  return s;
}

}  // namespace

// ---- the ELBO equals brute force ----------------------------------------------------------

TEST_CASE("TraceEnum_ELBO equals brute force on a mixture, value and gradients", "[enum]") {
  check_against_brute_force(mixture_model, shift_guide, {{"z", 4, 3}}, mixture_data());
}

TEST_CASE("TraceEnum_ELBO equals brute force with two enumerated sites per datum", "[enum]") {
  check_against_brute_force(two_site_model, no_guide, {{"z1", 3, 2}, {"z2", 3, 3}},
                            two_site_data());
}

TEST_CASE("TraceEnum_ELBO equals brute force with an enumerated site outside plates", "[enum]") {
  check_against_brute_force(global_model, no_guide, {{"z", 1, 2}}, mixture_data());
}

TEST_CASE("TraceEnum_ELBO equals brute force on an HMM for T up to 6", "[enum]") {
  for (Index T : {1, 2, 4, 6}) {
    INFO("T = " << T);
    check_against_brute_force(hmm_model, no_guide, hmm_sites(T), hmm_data(T));
  }
}

TEST_CASE("TraceEnum_ELBO equals brute force on an HMM with a plate in each step", "[enum]") {
  Matrix x(3, 2);
  x << 0.1, 0.4, 2.5, 1.7, 3.9, 4.4;
  check_against_brute_force(hmm_plate_model, no_guide, hmm_sites(3), x);
}

TEST_CASE("The HMM's marginal equals a forward algorithm in probabilities", "[enum]") {
  Fresh fresh;
  for (Index T : {1, 5, 200}) {
    INFO("T = " << T);
    const Matrix x = hmm_data(T);
    TraceEnum_ELBO elbo;
    CHECK(-elbo.loss(hmm_model, no_guide, x) == Approx(hmm_forward(x)).epsilon(kRound));
  }
}

TEST_CASE("TraceEnum_ELBO sums out in every particle, in traces() and as a Trace_ELBO", "[enum]") {
  Fresh fresh;
  const Matrix x = hmm_data(4);
  const double log_z = hmm_forward(x);
  TraceEnum_ELBO particles(3);
  CHECK(-particles.loss(hmm_model, no_guide, x) == Approx(log_z).epsilon(kRound));
  // Through the base class: the same estimator, the enumerated sites still summed out.
  Trace_ELBO& base = particles;
  CHECK(-base.loss(hmm_model, no_guide, x) == Approx(log_z).epsilon(kRound));
  {
    TapeStep step;
    CHECK(-base.differentiable_loss(hmm_model, no_guide, x).item() ==
          Approx(log_z).epsilon(kRound));
  }
  TapeStep step;
  const auto [model_trace, guide_trace] = base.traces(hmm_model, no_guide, x);
  CHECK(guide_trace.sites().empty());
  for (Index t = 0; t < x.rows(); ++t) {
    const Site& z = model_trace[fmt::format("z_{}", t)];
    CHECK(z.enumerated);
    CHECK(z.value.cols() == 3);
  }
}

TEST_CASE("markov_logsumexp's gradients match finite differences", "[enum]") {
  using Xs = const std::vector<Tensor>&;
  vesta::testing::check_gradients(
      "markov_logsumexp",
      [](Xs x) {
        return markov_logsumexp({x[0], x[1], x[2], x[3]});
      },
      {Matrix::Random(1, 3), Matrix::Random(3, 2), Matrix::Random(1, 2), Matrix::Random(2, 3)},
      kFdTol, kStep);
}

TEST_CASE("sum_rowwise_logsumexp's gradients match finite differences", "[enum]") {
  using Xs = const std::vector<Tensor>&;
  vesta::testing::check_gradients(
      "sum_rowwise_logsumexp",
      [](Xs x) {
        return sum_rowwise_logsumexp({x[0], x[1], x[2]});
      },
      {Matrix::Random(4, 3), Matrix::Random(1, 3), Matrix::Random(4, 3)}, kFdTol, kStep);
}

TEST_CASE("take and take_rows give every value's entry side by side", "[enum]") {
  const Tensor locs(Matrix{{10.0}, {20.0}, {30.0}});
  CHECK(take(locs, Tensor(Matrix{{2, 0, 1}})).matrix() == Matrix{{30.0, 10.0, 20.0}});
  CHECK(take(locs, Tensor(Matrix{{1}, {1}})).matrix() == Matrix{{20.0}, {20.0}});
  CHECK(take_rows(Tensor(Matrix{{1.0, 2.0}, {3.0, 4.0}}), Tensor(1.0)).matrix() ==
        Matrix{{3.0, 4.0}});
  CHECK_THROWS_WITH(take(locs, Tensor(Matrix{{0, 3}})), Contains("index[1] is 3"));
  CHECK_THROWS_WITH(take(locs, Tensor(0.5)), Contains("must be an integer"));
}

// ---- the score-function estimator converges to the same values -----------------------------

namespace {

// A global shift y, and per datum a Bernoulli z and an observation of y + loc[z].
void sf_model(const Matrix& x) {
  const Tensor locs = param("locs", Matrix{{-1.0}, {1.5}});
  const Tensor y = sample("y", Normal(0, 1));
  auto data = plate("data", x.rows());
  const Tensor z = sample("z", Bernoulli::from_probs(Tensor(0.4)), Infer{.enumerate = true});
  sample("x", Normal(take(locs, z) + y, 1), Tensor(x));
}

void sf_guide_y() {
  const Tensor m = param("m", Matrix::Constant(1, 1, 0.3));
  const Tensor s = param("s", Matrix::Constant(1, 1, 0.6), constraints::positive());
  sample("y", Normal(m, s));
}

void sf_enum_guide(const Matrix&) { sf_guide_y(); }

// The same y, and z drawn from its exact posterior given y (from the locs' values, so that
// the guide has no parameter of the model).
void sf_mc_guide(const Matrix& x) {
  const Matrix locs = param_store().get("locs").matrix();
  const Tensor m = param("m", Matrix::Constant(1, 1, 0.3));
  const Tensor s = param("s", Matrix::Constant(1, 1, 0.6), constraints::positive());
  const Tensor y = sample("y", Normal(m, s));
  auto data = plate("data", x.rows());
  const Tensor logits = std::log(0.4 / 0.6) + Normal(y + locs(1, 0), 1).log_prob(Tensor(x)) -
                        Normal(y + locs(0, 0), 1).log_prob(Tensor(x));
  sample("z", Bernoulli::from_logits(logits));
}

struct Estimate {
  double mean, se;
};

template <class Elbo, class Guide>
std::vector<Estimate> estimate(Elbo& elbo, const Guide& guide, const Matrix& x, int n) {
  // ELBO, d/d locs[0], d/d locs[1], d/d m.
  std::vector<double> s1(4, 0), s2(4, 0);
  for (int i = 0; i < n; ++i) {
    zero_param_grads();
    TapeStep step;
    const Tensor loss = elbo.differentiable_loss(sf_model, guide, x);
    loss.backward();
    const double v[4] = {-loss.item(), param_store().entry("locs").unconstrained.grad()(0, 0),
                         param_store().entry("locs").unconstrained.grad()(1, 0),
                         param_store().entry("m").unconstrained.grad()(0, 0)};
    for (int k = 0; k < 4; ++k) {
      s1[k] += v[k];
      s2[k] += v[k] * v[k];
    }
  }
  std::vector<Estimate> out;
  for (int k = 0; k < 4; ++k) {
    const double mean = s1[k] / n;
    out.push_back({mean, std::sqrt((s2[k] / n - mean * mean) / n)});
  }
  return out;
}

}  // namespace

TEST_CASE("The score-function estimate averages to the enumerated ELBO and gradients", "[enum]") {
  Fresh fresh;
  set_warning_handler([](const std::string&) {});
  const Matrix x = mixture_data();
  set_rng_seed(5);
  TraceEnum_ELBO enumerated;
  Trace_ELBO score_function;
  const auto e = estimate(enumerated, sf_enum_guide, x, 4000);
  const auto s = estimate(score_function, sf_mc_guide, x, 4000);
  const char* what[] = {"ELBO", "d/d locs[0]", "d/d locs[1]", "d/d m"};
  for (int k = 0; k < 4; ++k) {
    INFO(what[k] << ": enumerated " << e[k].mean << " +- " << e[k].se << ", score function "
                 << s[k].mean << " +- " << s[k].se);
    CHECK(std::abs(e[k].mean - s[k].mean) < 4 * std::hypot(e[k].se, s[k].se));
  }
  set_warning_handler(nullptr);
}

// ---- infer_discrete ------------------------------------------------------------------------

namespace {

// The brute-force posterior over the assignments (normalised weights) and its argmax.
template <class Model>
std::vector<double> brute_posterior(const Model& model, const std::vector<ValueMap>& all,
                                    const Matrix& x) {
  TapeStep step;
  Trace empty;
  std::vector<double> lp;
  for (const Tensor& t : log_joints(model, empty, all, x)) lp.push_back(t.item());
  const double m = *std::max_element(lp.begin(), lp.end());
  double z = 0;
  for (double& v : lp) z += (v = std::exp(v - m));
  for (double& v : lp) v /= z;
  return lp;
}

bool same_values(const Trace& t, const ValueMap& v) {
  for (const auto& [name, value] : v) {
    if (t[name].value.matrix() != value.matrix()) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("infer_discrete's MAP is the brute-force argmax", "[enum]") {
  Fresh fresh;
  Rng rng(3);
  auto check = [&](auto model, const std::vector<DiscreteSite>& sites, const Matrix& x) {
    const auto all = assignments(sites);
    const auto post = brute_posterior(model, all, x);
    const auto best = std::max_element(post.begin(), post.end()) - post.begin();
    TapeStep step;
    const Trace t = infer_discrete(model, no_guide, 0, rng, x);
    CHECK(same_values(t, all[static_cast<std::size_t>(best)]));
  };
  SECTION("a mixture") { check(global_model, {{"z", 1, 2}}, mixture_data()); }
  SECTION("two sites per datum") {
    check(two_site_model, {{"z1", 3, 2}, {"z2", 3, 3}}, two_site_data());
  }
  SECTION("an HMM (Viterbi)") {
    for (Index T : {1, 3, 6}) check(hmm_model, hmm_sites(T), hmm_data(T));
  }
}

TEST_CASE("infer_discrete's draws have the exact posterior marginals", "[enum]") {
  Fresh fresh;
  Rng rng(17);
  auto check = [&](auto model, const std::vector<DiscreteSite>& sites, const Matrix& x) {
    const auto all = assignments(sites);
    const auto post = brute_posterior(model, all, x);
    const int n = 3000;
    std::vector<double> hits(all.size(), 0);
    for (int i = 0; i < n; ++i) {
      TapeStep step;
      const Trace t = infer_discrete(model, no_guide, 1, rng, x);
      for (std::size_t a = 0; a < all.size(); ++a) {
        if (same_values(t, all[a])) {
          hits[a] += 1;
          break;
        }
      }
    }
    // Each joint assignment's frequency against its probability (binomial standard error).
    for (std::size_t a = 0; a < all.size(); ++a) {
      const double p = post[a];
      INFO("assignment " << a << ": probability " << p << ", frequency " << hits[a] / n);
      CHECK(std::abs(hits[a] / n - p) <= 4.5 * std::sqrt(p * (1 - p) / n) + 1e-12);
    }
  };
  SECTION("a mixture") {
    check(two_site_model, {{"z1", 1, 2}, {"z2", 1, 3}}, two_site_data().topRows(1));
  }
  SECTION("an HMM (forward filtering, backward sampling)") {
    check(hmm_model, hmm_sites(4), hmm_data(4));
  }
}

TEST_CASE("infer_discrete takes the continuous latents from a guide or from given values",
          "[enum]") {
  Fresh fresh;
  Rng rng(1);
  const Matrix x = mixture_data();
  TapeStep step;
  const Trace from_guide = infer_discrete(mixture_model, shift_guide, 0, rng, x);
  CHECK(from_guide["z"].value.rows() == 4);
  CHECK(from_guide["shift"].value.item() != 0);
  // A far shift moves every point to the lowest component.
  const Trace given = infer_discrete(mixture_model, ValueMap{{"shift", Tensor(8.0)}}, 0, rng, x);
  CHECK(given["z"].value.matrix() == Matrix::Zero(4, 1));
}

// ---- marking sites, and what is not supported ---------------------------------------------

TEST_CASE("config_enumerate marks the discrete latent sites only", "[enum]") {
  auto model = [] {
    sample("c", Categorical::from_probs(Tensor(Matrix{{0.5, 0.5}})));
    sample("b", Bernoulli::from_probs(Tensor(0.5)));
    sample("n", Normal(0, 1));
    sample("o", Bernoulli::from_probs(Tensor(0.5)), Tensor(1.0));
    sample("p", Poisson(Tensor(2.0)));
  };
  const Trace t = trace(config_enumerate(model)).get_trace();
  CHECK(t["c"].enumerate);
  CHECK(t["b"].enumerate);
  CHECK_FALSE(t["n"].enumerate);
  CHECK_FALSE(t["o"].enumerate);
  CHECK_FALSE(t["p"].enumerate);
  // Outside TraceEnum_ELBO a marked site is drawn as usual.
  CHECK(t["c"].value.rows() == 1);
}

TEST_CASE("Unsupported enumeration is an error that says what", "[enum]") {
  Fresh fresh;
  TraceEnum_ELBO elbo;
  const Matrix x = mixture_data();
  SECTION("a site with infinite support") {
    auto model = [](const Matrix&) { sample("n", Poisson(Tensor(2.0)), Infer{.enumerate = true}); };
    CHECK_THROWS_WITH(elbo.loss(model, no_guide, x),
                      Contains("'n'") && Contains("not finite") && Contains("Poisson"));
  }
  SECTION("a site whose values are rows (OneHotCategorical)") {
    auto model = [](const Matrix&) {
      sample("h", OneHotCategorical::from_probs(Tensor(Matrix{{0.5, 0.5}})),
             Infer{.enumerate = true});
    };
    CHECK_THROWS_WITH(elbo.loss(model, no_guide, x),
                      Contains("'h'") && Contains("cannot be enumerated") && Contains("take()"));
  }
  SECTION("an enumerated site that the guide samples") {
    auto guide = [](const Matrix& d) {
      auto data = plate("data", d.rows());
      sample("z", Categorical::from_probs(Tensor(Matrix{{0.2, 0.3, 0.5}})));
      shift_guide(d);
    };
    CHECK_THROWS_WITH(elbo.loss(mixture_model, guide, x),
                      Contains("'z'") && Contains("also sampled by the guide"));
  }
  SECTION("a markov chain inside a plate") {
    auto model = [](const Matrix& d) {
      auto data = plate("data", d.rows());
      for (Index t : markov(2)) {
        sample(fmt::format("z_{}", t), Bernoulli::from_probs(Tensor(0.5)),
               Infer{.enumerate = true});
      }
    };
    CHECK_THROWS_WITH(elbo.loss(model, no_guide, x),
                      Contains("'z_0'") && Contains("chain inside a plate is not supported"));
  }
  SECTION("two enumerated sites at one step of a chain") {
    auto model = [](const Matrix&) {
      for (Index t : markov(2)) {
        sample(fmt::format("a_{}", t), Bernoulli::from_probs(Tensor(0.5)),
               Infer{.enumerate = true});
        sample(fmt::format("b_{}", t), Bernoulli::from_probs(Tensor(0.5)),
               Infer{.enumerate = true});
      }
    };
    CHECK_THROWS_WITH(elbo.loss(model, no_guide, x),
                      Contains("'a_0' and 'b_0'") && Contains("one enumerated site per step"));
  }
  SECTION("a term whose columns index neither the joint values nor nothing") {
    auto model = [](const Matrix& d) {
      auto data = plate("data", d.rows());
      const Tensor z = sample("z", Bernoulli::from_probs(Tensor(0.5)), Infer{.enumerate = true});
      sample("y", Normal(Tensor(Matrix::Zero(d.rows(), 3)), 1), Tensor(Matrix::Zero(d.rows(), 3)));
      sample("x", Normal(take(Tensor(Matrix{{0.0}, {1.0}}), z), 1), Tensor(d));
    };
    CHECK_THROWS_WITH(elbo.loss(model, no_guide, x),
                      Contains("'y'") && Contains("4x3") && Contains("to_event(1)"));
  }
  SECTION("an enumerated site in a plate over columns") {
    auto model = [](const Matrix&) {
      auto rows = plate("rows", 2);
      auto cols = plate("cols", 3);
      sample("z", Bernoulli::from_probs(Tensor(0.5)), Infer{.enumerate = true});
    };
    CHECK_THROWS_WITH(elbo.loss(model, no_guide, x),
                      Contains("'z'") && Contains("plate 'cols' over columns"));
  }
}

TEST_CASE("SVI with TraceEnum_ELBO and AutoDelta separates a mixture's components", "[enum]") {
  Fresh fresh;
  set_rng_seed(2);
  Matrix x(60, 1);
  for (Index i = 0; i < 60; ++i) x(i, 0) = (i % 2 == 0 ? -3.0 : 3.0) + 0.5 * thread_rng().normal();
  auto model = [](const Matrix& d) {
    const Tensor w = sample("weights", Dirichlet(Tensor(Matrix::Constant(1, 2, 1.0))));
    const Tensor locs = sample("locs", Normal(Tensor(Matrix::Zero(2, 1)), 10).to_event(2));
    const Tensor scale = sample("scale", LogNormal(0, 1));
    auto data = plate("data", d.rows());
    const Tensor z = sample("z", Categorical::from_probs(w));
    sample("x", Normal(take(locs, z), scale), Tensor(d));
  };
  auto enumerated = config_enumerate(model);
  AutoDelta guide(enumerated,
                  AutoGuideOptions{"", init_to_value({{"locs", Matrix{{-1.0}, {1.0}}}})});
  Adam adam(0.05);
  SVI svi(enumerated, guide, adam, TraceEnum_ELBO());
  svi.set_progress(nullptr);
  svi.run(600, x);
  const Matrix locs = guide.median().at("locs");
  CHECK(locs(0, 0) == Approx(-3).margin(0.3));
  CHECK(locs(1, 0) == Approx(3).margin(0.3));
}

// ---- MCMC: the potential of a model with enumerated sites is minus their marginal ----------

TEST_CASE("The MCMC potential sums enumerated sites out", "[enum]") {
  Fresh fresh;
  const Matrix x = mixture_data();
  {
    TapeStep step;
    mixture_model(x);  // creates the params, which the potential holds fixed
  }
  Potential u([&] { mixture_model(x); });
  REQUIRE(u.dim() == 1);  // the shift only: the assignments are summed out
  for (double q : {-0.7, 0.0, 1.3}) {
    Eigen::VectorXd point(1), grad;
    point << q;
    const double value = u.value_and_gradient(point, grad);
    TapeStep step;
    const Trace empty;
    const ValueMap given{{"shift", Tensor(Scalar(q))}};
    const double brute =
        brute_log_marginal(condition(std::cref(mixture_model), given), empty, {{"z", 4, 3}}, x)
            .item();
    CHECK(value == Approx(-brute).epsilon(kRound));
    Eigen::VectorXd lo(1), hi(1);
    const double h = sizeof(Scalar) == 4 ? 1e-2 : 1e-5;
    lo << q - h;
    hi << q + h;
    CHECK(grad(0) == Approx((u.value(hi) - u.value(lo)) / (2 * h)).epsilon(1e3 * kRound));
  }
}

TEST_CASE("NUTS samples a mixture's continuous latents with the assignments summed out", "[enum]") {
  Fresh fresh;
  const Matrix x = mixture_data();
  {
    TapeStep step;
    mixture_model(x);
  }
  NUTS kernel(mixture_model);
  MCMC mcmc(kernel, 300, 300, 1);
  mcmc.run(x);
  const SiteSamples s = mcmc.get_samples();
  CHECK(s.flat("shift").rows() == 300);
  CHECK(std::isfinite(s.mean("shift")(0, 0)));
  // The discrete sites given one posterior draw of the continuous ones.
  Rng rng(4);
  TapeStep step;
  const Trace t =
      infer_discrete(mixture_model, ValueMap{{"shift", Tensor(s.draw("shift", 1))}}, 1, rng, x);
  CHECK(t["z"].value.rows() == 4);
}

// ---- subsampling and masks ---------------------------------------------------------------

namespace {

// A mixture over the rows of x that the data plate sees (all, or `rows` of them), with the
// data entries where `keep` is 0 masked out.
void plain_mixture(const Matrix& x, const std::vector<Index>& rows, const Matrix& keep) {
  const Tensor w = param("weights", Matrix{{0.2, 0.3, 0.5}}, constraints::simplex());
  const Tensor locs = param("locs", Matrix{{-1.0}, {0.5}, {2.0}});
  auto data = rows.empty() ? plate("data", x.rows()) : plate("data", x.rows(), rows);
  std::optional<MaskMessenger> masked;
  if (keep.size() > 0) masked.emplace(Tensor(keep));
  const Tensor z = sample("z", Categorical::from_probs(w), Infer{.enumerate = true});
  sample("x", Normal(take(locs, z), 1), gather_rows(Tensor(x), data.indices()));
}

}  // namespace

TEST_CASE("An enumerated plate's subsample scale and masks weigh each datum's marginal", "[enum]") {
  Fresh fresh;
  const Matrix x = mixture_data();
  auto loss = [](const Matrix& data, const std::vector<Index>& rows, const Matrix& keep) {
    TraceEnum_ELBO elbo;
    return elbo.loss([&](const Matrix& d) { plain_mixture(d, rows, keep); }, no_guide, data);
  };
  Matrix x02(2, 1);
  x02 << x(0, 0), x(2, 0);
  const double two_points = loss(x02, {}, Matrix());
  // Rows 0 and 2 of 4, each counted 4 / 2 times.
  CHECK(loss(x, {0, 2}, Matrix()) == Approx(2 * two_points).epsilon(kRound));
  // Rows 1 and 3 masked out: they add nothing (their z is masked with them).
  CHECK(loss(x, {}, Matrix{{1.0}, {0.0}, {1.0}, {0.0}}) == Approx(two_points).epsilon(kRound));
}
