// HiddenLayer: the local-reparameterisation draw against weight-space sampling, the KL and
// log_prob against the closed form, the prior scale's broadcasting, the ones column, named
// options and errors; and the engine around it where Pyro's own class fails: the ELBO
// recomputed by hand from the same noise (value and gradients), a site inside a subsampled
// (and masked) data plate where the KL counts once, an empty batch, a site in both model and
// guide, TraceMeanField_ELBO, Predictive, and no warning for the intended usage.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <string>

#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

#include "support/distcheck.hpp"
#include "support/svi.hpp"

using namespace vesta;
using namespace vesta::testing;
using Catch::Matchers::Contains;

namespace {

// KL(N(m, s) || N(0, p)) summed over entries, in double, from the formula.
double kl_by_hand(const Matrix& m, const Matrix& s, const Matrix& p) {
  double total = 0;
  for (Index k = 0; k < m.size(); ++k) {
    const double mk = m.data()[k], sk = s.data()[k], pk = p.size() == 1 ? p(0, 0) : p.data()[k];
    total += std::log(pk / sk) + (sk * sk + mk * mk) / (2 * pk * pk) - 0.5;
  }
  return total;
}

// Inputs with a ones column (B x D) and weights (D x H) for small layers.
struct Layer {
  Matrix X, mean, scale;
  Layer(Index B, Index D, Index H, std::uint64_t seed) {
    Rng rng(seed);
    X = rng.normal(B, D);
    X.col(D - 1).setOnes();
    mean = rng.normal(D, H) * 0.5;
    scale = (rng.uniform(D, H).array() * 0.4 + 0.1).matrix();
  }
};

// Captures what the enclosed code writes to stderr (file descriptor 2).
class StderrCapture {
 public:
  StderrCapture() : file_(std::tmpfile()), saved_(dup(2)) {
    std::fflush(stderr);
    dup2(fileno(file_), 2);
  }
  ~StderrCapture() { restore(); }
  std::string text() {
    restore();
    std::rewind(file_);
    std::string out;
    for (int c; (c = std::fgetc(file_)) != EOF;) out.push_back(char(c));
    return out;
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    dup2(saved_, 2);
    close(saved_);
    saved_ = -1;
  }
  std::FILE* file_;
  int saved_;
};

}  // namespace

TEST_CASE(
    "local reparameterisation and weight-space sampling give the same outputs in distribution",
    "[nn][hidden_layer]") {
  const Layer l(3, 4, 2, 11);
  const HiddenLayer local(Tensor(l.X), Tensor(l.mean), Tensor(l.scale));
  const HiddenLayer weights(l.X, l.mean, l.scale, {.weight_space_sampling = true});
  const int n = 40000;
  Rng ra(1), rb(2);
  Running a, b, a4, b4;
  for (int k = 0; k < n; ++k) {
    a.add(local.rsample(ra).matrix());
    b.add(weights.rsample(rb).matrix());
  }
  // Per entry: means within 5 standard errors of their difference; variances likewise, the
  // variance's standard error taken as var * sqrt(2 / n) times 2 (ReLU outputs are not Normal:
  // the factor 2 covers their heavier relative fourth moment, checked below to be modest).
  const Matrix ma = a.mean(), mb = b.mean(), va = a.sd().cwiseAbs2(), vb = b.sd().cwiseAbs2();
  for (Index i = 0; i < ma.rows(); ++i) {
    for (Index j = 0; j + 1 < ma.cols(); ++j) {  // the last column is the ones column
      INFO("entry " << i << ", " << j << ": means " << ma(i, j) << " vs " << mb(i, j)
                    << ", variances " << va(i, j) << " vs " << vb(i, j));
      const double se_mean = std::sqrt((va(i, j) + vb(i, j)) / n);
      CHECK(std::abs(ma(i, j) - mb(i, j)) < 5 * se_mean);
      const double se_var =
          2 * std::sqrt(2.0 / n) * std::sqrt(va(i, j) * va(i, j) + vb(i, j) * vb(i, j));
      CHECK(std::abs(va(i, j) - vb(i, j)) < 5 * se_var);
      CHECK(va(i, j) > 1e-5);  // the draws do vary
    }
  }
  CHECK(ma.col(2) == Matrix::Ones(3, 1));
  CHECK(va.col(2).isZero());
}

TEST_CASE("HiddenLayer's log_prob is minus KL_factor times the closed-form KL, whatever the value",
          "[nn][hidden_layer]") {
  const Layer l(5, 3, 4, 12);
  const double kl = kl_by_hand(l.mean, l.scale, Matrix::Ones(1, 1));
  const HiddenLayer h(Tensor(l.X), Tensor(l.mean), Tensor(l.scale));
  CHECK(h.kl().item() == Approx(kl).epsilon(1e-5));
  // One number: a global term, whatever the value and the batch.
  const Tensor lp = h.log_prob(Tensor(Matrix::Zero(5, 5)));
  REQUIRE(lp.rows() == 1);
  REQUIRE(lp.cols() == 1);
  CHECK(lp.item() == Approx(-kl).epsilon(1e-5));
  CHECK(h.log_prob(Tensor(Matrix::Constant(5, 5, 7))).item() == Approx(-kl).epsilon(1e-5));
  CHECK(h.log_prob_is_global_term());
  // Scaled by KL_factor; the prior scale enters as the formula says, scalar or per weight.
  const HiddenLayer scaled(l.X, l.mean, l.scale, {.A_prior_scale = Scalar(2), .KL_factor = 0.25});
  CHECK(scaled.log_prob(Tensor()).item() ==
        Approx(-0.25 * kl_by_hand(l.mean, l.scale, Matrix::Constant(1, 1, 2))).epsilon(1e-5));
  const Matrix prior = (Rng(3).uniform(3, 4).array() + 0.5).matrix();
  const HiddenLayer per_weight(l.X, l.mean, l.scale, {.A_prior_scale = prior, .KL_factor = 3});
  CHECK(per_weight.log_prob(Tensor()).item() ==
        Approx(-3 * kl_by_hand(l.mean, l.scale, prior)).epsilon(1e-5));
  // A prior scale per output unit (1 x H) or per input (D x 1) broadcasts over the weights.
  const Matrix per_unit = (Rng(4).uniform(1, 4).array() + 0.5).matrix();
  const Matrix per_input = (Rng(5).uniform(3, 1).array() + 0.5).matrix();
  CHECK(HiddenLayer(l.X, l.mean, l.scale, {.A_prior_scale = per_unit}).kl().item() ==
        Approx(kl_by_hand(l.mean, l.scale, per_unit.replicate(3, 1))).epsilon(1e-5));
  CHECK(HiddenLayer(l.X, l.mean, l.scale, {.A_prior_scale = per_input}).kl().item() ==
        Approx(kl_by_hand(l.mean, l.scale, per_input.replicate(1, 4))).epsilon(1e-5));
  // The KL is computed once per object.
  CHECK(&h.kl() == &h.kl());
  // Against the registered Normal-Normal KL too.
  const Tensor registered =
      sum(kl_divergence(Normal(Tensor(l.mean), Tensor(l.scale)), Normal(0, 1)));
  CHECK(h.kl().item() == Approx(registered.item()).epsilon(1e-5));
  tape().reset();
}

TEST_CASE("include_hidden_bias appends exactly one column of ones", "[nn][hidden_layer]") {
  const Layer l(4, 3, 5, 13);
  Rng rng(4);
  const HiddenLayer with(Tensor(l.X), Tensor(l.mean), Tensor(l.scale));
  const Matrix out = with.rsample(rng).matrix();
  REQUIRE(out.cols() == 6);
  CHECK(out.col(5) == Matrix::Ones(4, 1));
  CHECK((out.leftCols(5).array() >= 0).all());  // relu
  CHECK(with.cols() == 6);
  // Options by name; identity keeps the pre-activations (negative ones too).
  const HiddenLayer without(l.X, l.mean, l.scale,
                            {.include_hidden_bias = false, .non_linearity = identity});
  const Matrix linear = without.rsample(rng).matrix();
  CHECK(linear.cols() == 5);
  CHECK(without.cols() == 5);
  CHECK((linear.array() < 0).any());
  // Plain matrices are constants: no Tensor(...) wrappers, and no function declaration.
  HiddenLayer h(l.X, l.mean, l.scale);
  CHECK(h.rows() == 4);
}

TEST_CASE("HiddenLayer names bad shapes and values", "[nn][hidden_layer]") {
  const Layer l(4, 3, 5, 14);
  CHECK_THROWS_WITH(HiddenLayer(Tensor(Matrix::Ones(4, 2)), Tensor(l.mean), Tensor(l.scale)),
                    Contains("4x2") && Contains("3x5"));
  CHECK_THROWS_WITH(HiddenLayer(Tensor(l.X), Tensor(l.mean), Tensor(Matrix::Ones(5, 3))),
                    Contains("A_scale") && Contains("5x3") && Contains("3x5"));
  Matrix bad = l.scale;
  bad(1, 2) = -0.5;
  CHECK_THROWS_WITH(HiddenLayer(l.X, l.mean, bad), Contains("A_scale") && Contains("-0.5"));
  // Inside a model run the site that uses the layer names itself.
  CHECK_THROWS_WITH(trace([&] { sample("h", HiddenLayer(l.X, l.mean, bad)); }).get_trace(),
                    Contains("sample 'h': HiddenLayer: A_scale[1, 2] is -0.5"));
  CHECK_THROWS_WITH(HiddenLayer(l.X, l.mean, l.scale, {.A_prior_scale = Matrix::Ones(2, 2)}),
                    Contains("A_prior_scale") && Contains("2x2"));
  CHECK_THROWS_WITH(HiddenLayer(l.X, l.mean, l.scale, {.KL_factor = -0.5}),
                    Contains("KL_factor") && Contains("-0.5"));
  const HiddenLayer reducing(l.X, l.mean, l.scale,
                             {.non_linearity = [](const Tensor& x) { return sum(x); }});
  Rng rng(1);
  CHECK_THROWS_WITH(reducing.rsample(rng), Contains("non_linearity") && Contains("4x5"));
}

namespace {

// A two-layer BNN regression of Pyro's kind: X (B x 2, with ones) -> 3 hidden units (+ ones)
// -> 1 output; y ~ N(output, 0.5). Both layers' params live in the model.
struct TinyBnn {
  Matrix X, y;
  Scalar kl_factor = 1;
  TinyBnn() {
    Rng rng(21);
    X = Matrix::Ones(6, 2);
    X.col(0) = rng.normal(6, 1);
    y = (X.col(0).array() * 0.8).matrix() + 0.1 * rng.normal(6, 1);
  }
};

// The same BNN as a free model: the likelihood on the second layer's output.
void bnn_model(const TinyBnn& net) {
  const Tensor m1 = param("a1_mean", Rng(1).normal(2, 3) * 0.5);
  const Tensor s1 = param("a1_scale", Matrix::Constant(2, 3, 0.2), constraints::positive());
  const Tensor m2 = param("a2_mean", Rng(2).normal(4, 1) * 0.5);
  const Tensor s2 = param("a2_scale", Matrix::Constant(4, 1, 0.3), constraints::positive());
  const Tensor h1 = sample("h1", HiddenLayer(net.X, m1, s1, {.KL_factor = net.kl_factor}));
  const Tensor out = sample("h2", HiddenLayer(h1, m2, s2,
                                              {.KL_factor = net.kl_factor,
                                               .include_hidden_bias = false,
                                               .non_linearity = identity}));
  auto data = plate("data", net.X.rows());
  sample("y", Normal(out, 0.5), Tensor(net.y));
}

void empty_guide(const TinyBnn&) {}

// The loss by hand from the same noise: -sum log N(y | out, 0.5) + KL_factor (KL1 + KL2),
// the layers written out with the draws eps1 (B x 3) and eps2 (B x 1).
Tensor loss_by_hand(const TinyBnn& net, const Matrix& eps1, const Matrix& eps2) {
  const Tensor m1 = param("a1_mean"), s1 = param("a1_scale"), m2 = param("a2_mean"),
               s2 = param("a2_scale");
  const Tensor X(net.X);
  const Tensor pre1 = matmul(X, m1) + sqrt(matmul(square(X), square(s1))) * Tensor(eps1);
  const Tensor h1 = append_ones_column(relu(pre1));
  const Tensor out = matmul(h1, m2) + sqrt(matmul(square(h1), square(s2))) * Tensor(eps2);
  const Tensor r = (Tensor(net.y) - out) / Scalar(0.5);
  const Tensor nll = sum(Scalar(0.5) * square(r)) +
                     Scalar(net.y.rows()) * Scalar(std::log(0.5 * std::sqrt(2 * M_PI)));
  auto kl = [](const Tensor& m, const Tensor& s) {
    return sum(-log(s) + Scalar(0.5) * (square(s) + square(m)) - Scalar(0.5));
  };
  return nll + net.kl_factor * (kl(m1, s1) + kl(m2, s2));
}

std::vector<Matrix> grads() {
  std::vector<Matrix> g;
  for (const char* name : {"a1_mean", "a1_scale", "a2_mean", "a2_scale"}) {
    g.push_back(param_store().entry(name).unconstrained.grad());
    param_store().entry(name).unconstrained.zero_grad();
  }
  return g;
}

}  // namespace

TEST_CASE("with HiddenLayer sites in the model the ELBO is the log-likelihood minus the scaled KL",
          "[nn][hidden_layer][inference]") {
  FreshParams fresh;
  TinyBnn net;
  net.kl_factor = 0.3;
  for (std::uint64_t seed : {1, 2, 3}) {
    Trace_ELBO elbo;
    set_rng_seed(seed);
    const Tensor loss = elbo.differentiable_loss(bnn_model, empty_guide, net);
    loss.backward();
    const double value = loss.item();
    const std::vector<Matrix> g_svi = grads();
    tape().reset();
    // The same noise: the layers draw B x 3 then B x 1 standard normals from the thread's
    // generator, in that order.
    set_rng_seed(seed);
    const Matrix eps1 = thread_rng().normal(6, 3);
    const Matrix eps2 = thread_rng().normal(6, 1);
    const Tensor by_hand = loss_by_hand(net, eps1, eps2);
    by_hand.backward();
    INFO("seed " << seed << ": loss " << value << " by hand " << by_hand.item());
    CHECK(value == Approx(by_hand.item()).epsilon(1e-4));
    const std::vector<Matrix> g_hand = grads();
    for (std::size_t k = 0; k < g_svi.size(); ++k) CHECK(g_svi[k].isApprox(g_hand[k], 1e-4));
    tape().reset();
  }
}

TEST_CASE(
    "a HiddenLayer site inside a subsampled, masked data plate counts its KL once, with KL_factor "
    "1",
    "[nn][hidden_layer][inference]") {
  FreshParams fresh;
  const Index N = 12;
  Rng rng(5);
  Matrix X = Matrix::Ones(N, 2);
  X.col(0) = rng.normal(N, 1);
  const Matrix y = rng.normal(N, 1);
  // The global-term rule: the plate's N / B scale and its mask apply to the likelihood only,
  // so KL_factor = 1 gives the unbiased full-data ELBO, for a full batch, a short last batch
  // or a masked one.
  std::vector<Index> indices;
  Matrix keep;  // per row of the batch: 1 keep, 0 drop
  auto model = [&] {
    auto p = plate("data", N, indices);
    auto m = mask(Tensor(keep));
    const Tensor Xb = gather_rows(Tensor(X), p.indices());
    const Tensor mean = param("a_mean", Rng(1).normal(2, 1));
    const Tensor scale = param("a_scale", Matrix::Constant(2, 1, 0.3), constraints::positive());
    const Tensor out = sample(
        "h",
        HiddenLayer(Xb, mean, scale, {.include_hidden_bias = false, .non_linearity = identity}));
    sample("y", Normal(out, 1), gather_rows(Tensor(y), p.indices()));
  };
  auto guide = [] {};
  for (const auto& [batch, kept] : std::vector<std::pair<std::vector<Index>, std::vector<Scalar>>>{
           {{3, 7, 0, 11}, {1, 1, 1, 1}}, {{5, 2}, {1, 1}}, {{1, 4, 6, 9}, {1, 0, 1, 0}}}) {
    indices = batch;
    keep = Eigen::Map<const Matrix>(kept.data(), Index(kept.size()), 1);
    const auto b = double(batch.size());
    INFO("batch of " << b);
    Trace_ELBO elbo;
    set_rng_seed(9);
    auto [model_trace, guide_trace] = elbo.traces(model, guide);
    const Site& h = model_trace["h"];
    CHECK(term_scale(h) == 1);
    CHECK(term_scale(model_trace["y"]) == Approx(double(N) / b));
    const double kl =
        kl_by_hand(param("a_mean").matrix(), param("a_scale").matrix(), Matrix::Ones(1, 1));
    CHECK(model_trace.scaled_log_prob_sum(h).item() == Approx(-kl).epsilon(1e-5));
    // The loss: N/b times the kept rows' negative log-likelihood plus the KL, once.
    const double nll_kept = -(model_trace.log_prob("y").value().array() * keep.array()).sum();
    set_rng_seed(9);
    CHECK(elbo.differentiable_loss(model, guide).item() ==
          Approx(double(N) / b * nll_kept + kl).epsilon(1e-5));
    tape().reset();
  }
  // A scale handler (KL annealing) and a 1x1 mask still reach the KL.
  indices = {0, 1, 2, 3};
  keep = Matrix::Ones(4, 1);
  Trace annealed, dropped;
  {
    auto s = scale(0.25);
    annealed = trace(model).get_trace();
  }
  {
    auto m = mask(false);
    dropped = trace(model).get_trace();
  }
  const double kl =
      kl_by_hand(param("a_mean").matrix(), param("a_scale").matrix(), Matrix::Ones(1, 1));
  CHECK(annealed.scaled_log_prob_sum(annealed["h"]).item() == Approx(-0.25 * kl).epsilon(1e-5));
  CHECK(dropped.scaled_log_prob_sum(dropped["h"]).item() == 0);
  tape().reset();
}

TEST_CASE("a HiddenLayer with an empty batch keeps its KL", "[nn][hidden_layer]") {
  FreshParams fresh;
  const Layer l(3, 3, 2, 15);
  const double kl = kl_by_hand(l.mean, l.scale, Matrix::Ones(1, 1));
  const Trace t =
      trace([&] { sample("h", HiddenLayer(Matrix(0, 3), l.mean, l.scale)); }).get_trace();
  CHECK(t["h"].value.rows() == 0);
  CHECK(t.log_prob_sum().item() == Approx(-kl).epsilon(1e-5));
}

TEST_CASE(
    "a HiddenLayer site in model and guide: the guide's draw is replayed and the KL counts once",
    "[nn][hidden_layer][inference]") {
  FreshParams fresh;
  TinyBnn net;
  // The guide draws the first layer (same params); the model replays it.
  auto guide = [](const TinyBnn& n) {
    const Tensor m1 = param("a1_mean", Rng(1).normal(2, 3) * 0.5);
    const Tensor s1 = param("a1_scale", Matrix::Constant(2, 3, 0.2), constraints::positive());
    sample("h1", HiddenLayer(n.X, m1, s1, {.KL_factor = n.kl_factor}));
  };
  Trace_ELBO elbo;
  set_rng_seed(4);
  auto [model_trace, guide_trace] = elbo.traces(bnn_model, guide, net);
  CHECK(model_trace["h1"].value.value() == guide_trace["h1"].value.value());
  set_rng_seed(4);
  const double both = elbo.differentiable_loss(bnn_model, guide, net).item();
  // The same draws, model only: the guide's h1 came first from the generator, as the model's did.
  set_rng_seed(4);
  const double model_only = elbo.differentiable_loss(bnn_model, empty_guide, net).item();
  CHECK(both == Approx(model_only).epsilon(1e-6));
  // And that is log-likelihood minus the KL (not the bare likelihood, as when the two KL
  // terms cancel).
  const double nll = -(model_trace.log_prob("y").value().sum());
  const double kl1 =
      kl_by_hand(param("a1_mean").matrix(), param("a1_scale").matrix(), Matrix::Ones(1, 1));
  const double kl2 =
      kl_by_hand(param("a2_mean").matrix(), param("a2_scale").matrix(), Matrix::Ones(1, 1));
  CHECK(both == Approx(nll + kl1 + kl2).epsilon(1e-5));
  tape().reset();
}

TEST_CASE(
    "TraceMeanField_ELBO and Predictive work with HiddenLayer sites, and the intended usage is "
    "quiet",
    "[nn][hidden_layer][inference]") {
  FreshParams fresh;
  const TinyBnn net;
  StderrCapture captured;
  Trace_ELBO trace_elbo;
  TraceMeanField_ELBO mean_field;
  set_rng_seed(6);
  const double a = trace_elbo.differentiable_loss(bnn_model, empty_guide, net).item();
  set_rng_seed(6);
  const double b = mean_field.differentiable_loss(bnn_model, empty_guide, net).item();
  CHECK(a == Approx(b).epsilon(1e-6));
  Adam adam(0.01);
  SVI svi(bnn_model, empty_guide, adam);
  for (int t = 0; t < 20; ++t) svi.step(net);
  CHECK(captured.text().empty());  // no "not in the guide" warning
  const SiteSamples s = Predictive(bnn_model, empty_guide, 50, {"h1", "h2"})(net);
  CHECK(s.num_samples() == 50);
  CHECK(s.rows("h1") == 6);
  CHECK(s.cols("h1") == 4);  // 3 + ones
  CHECK(s.cols("h2") == 1);
  for (Index k = 0; k < 50; ++k) CHECK(s.draw("h1", k).col(3) == Matrix::Ones(6, 1));
}
