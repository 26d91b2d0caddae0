// Chapter 5: SVI III. Gradient estimators: pathwise against score function, their variance
// measured; local reparameterisation and Flipout for Bayesian dense layers.
#include <cmath>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "support/plot.hpp"
#include "tutorial.hpp"

using namespace vesta;
using vesta::tutorial::report;

namespace {

// [snippet no_rsample]
// A distribution that hides its base's reparameterisation: the same draws and densities,
// but has_rsample() is false, so inference must use the score function for it.
class ScoreFunctionOnly final : public Family<ScoreFunctionOnly> {
 public:
  explicit ScoreFunctionOnly(DistributionPtr base) : base_(std::move(base)) {}
  std::string name() const override { return "ScoreFunctionOnly(" + base_->name() + ")"; }
  Index rows() const override { return base_->rows(); }
  Index cols() const override { return base_->cols(); }
  ConstraintPtr support() const override { return base_->support(); }
  bool has_rsample() const override { return false; }

 protected:
  Tensor sample_impl(Rng& rng) const override { return base_->sample(rng); }
  Tensor log_prob_impl(const Tensor& value) const override { return base_->log_prob(value); }

 private:
  DistributionPtr base_;
};
// [end]

// [snippet model]
// z ~ Normal(0, 1), one observation x ~ Normal(z, 1). The guide is Normal(loc, 1), drawn
// pathwise, or the same Normal through ScoreFunctionOnly.
void model(const Matrix& x, bool) {
  const Tensor z = sample("z", Normal(0, 1));
  sample("x", Normal(z, 1), x);
}

void guide(const Matrix&, bool pathwise) {
  const Tensor loc = param("loc", 0.0);
  if (pathwise) {
    sample("z", Normal(loc, 1));
  } else {
    sample("z", ScoreFunctionOnly(std::make_shared<Normal>(loc, 1)));
  }
}
// [end]

struct Moments {
  double mean, variance;
};

Moments moments(const std::vector<double>& v) {
  double m = 0, ss = 0;
  for (double x : v) m += x / double(v.size());
  for (double x : v) ss += (x - m) * (x - m);
  return {m, ss / double(v.size() - 1)};
}

}  // namespace

int main() {
  const Matrix x = Matrix::Constant(1, 1, 2.0);

  // [snippet measure]
  // 10000 draws of d loss / d loc at loc = 0, by each estimator.
  auto gradients = [&](bool pathwise) {
    param_store().clear();
    Trace_ELBO elbo;  // keeps a running-average baseline per score-function site
    std::vector<double> draws;
    for (int k = 0; k < 10000; ++k) {
      elbo.differentiable_loss(model, guide, x, pathwise).backward();
      const Tensor& leaf = param_store().entry("loc").unconstrained;
      draws.push_back(leaf.grad()(0, 0));
      leaf.zero_grad();
      tape().reset();
    }
    return draws;
  };
  set_rng_seed(1);
  const std::vector<double> pathwise = gradients(true), score = gradients(false);
  // [end]
  const Moments mp = moments(pathwise), ms = moments(score);
  fmt::print(
      "pathwise: mean {:.3f}, variance {:.3f}; score function: mean {:.3f}, variance {:.3f}\n",
      mp.mean, mp.variance, ms.mean, ms.variance);
  // The exact gradient at loc = 0: d/dloc of E[-log N(z | 0, 1) - log N(2 | z, 1)] = 2 loc - 2.
  report("exact_gradient", 2 * 0.0 - 2.0);
  report("pathwise_mean", mp.mean);
  report("pathwise_se", std::sqrt(mp.variance / 10000));
  report("pathwise_variance", mp.variance);
  report("score_mean", ms.mean);
  report("score_se", std::sqrt(ms.variance / 10000));
  report("score_variance", ms.variance);
  report("variance_ratio", ms.variance / mp.variance);

  // Histograms of the two sets of draws.
  Matrix hist(75, 3);
  hist.setZero();
  for (int b = 0; b < 75; ++b) hist(b, 0) = -20 + (b + 0.5) * 0.4;
  auto add = [&](const std::vector<double>& v, int col) {
    for (double g : v) {
      const int b = static_cast<int>(std::floor((g + 20) / 0.4));
      if (b >= 0 && b < 75) hist(b, col) += 1.0 / (0.4 * double(v.size()));
    }
  };
  add(pathwise, 1);
  add(score, 2);
  examples::write_plot(
      "ch05_gradients.png",
      "set title 'd loss / d loc at loc = 0: 10000 draws of each estimator (exact: -2)'\n"
      "set xlabel 'gradient estimate'; set ylabel 'density'; set grid; set key top right\n"
      "set style fill transparent solid 0.5 noborder\n"
      "plot $hist using 1:2 with boxes lc rgb '#1f4e9c' title 'pathwise', "
      "$hist using 1:3 with boxes lc rgb '#d62728' title 'score function'",
      {{"hist", hist}}, 800, 400);

  // [snippet layers]
  // A regression network 8 -> 32 (relu) -> 1 of two Bayesian dense layers, a batch of 128,
  // every posterior scale 0.1. For each estimator: the variance of d loss / d fc1.kernel_loc
  // over 1000 draws, averaged over the kernel's 256 entries.
  const Index batch = 128, in = 8, hidden = 32;
  Rng data_rng(3);
  const Matrix X = data_rng.normal(batch, in);
  const Matrix direction = data_rng.normal(in, 1) / std::sqrt(Scalar(in));
  const Matrix Y = (X * direction).array().sin().matrix() + 0.1 * data_rng.normal(batch, 1);
  std::vector<double> variance;
  for (const DenseEstimator e :
       {DenseEstimator::reparameterization, DenseEstimator::local_reparameterization,
        DenseEstimator::flipout}) {
    param_store().clear();
    set_rng_seed(1);  // the same initial locations for the three
    const auto fc1 = make_dense_variational(e, "fc1", in, hidden, {.activation = relu});
    const auto fc2 = make_dense_variational(e, "fc2", hidden, 1, {});
    auto net_model = [&](const Matrix& xs, const Matrix& ys) {
      const Tensor mu = (*fc2)((*fc1)(Tensor(xs)));
      auto data = plate("data", xs.rows());
      sample("y", Normal(mu, 0.1), ys);
    };
    auto net_guide = [](const Matrix&, const Matrix&) {};
    Trace_ELBO elbo;
    elbo.loss(net_model, net_guide, X, Y);  // creates the layers' params
    for (const std::string& name : param_store().names()) {
      if (name.ends_with("_rho"))  // softplus(rho) = 0.1
        param_store().set(name, Matrix::Constant(param_store().entry(name).unconstrained.rows(),
                                                 param_store().entry(name).unconstrained.cols(),
                                                 std::log(std::expm1(0.1))));
    }
    const Tensor& leaf = param_store().entry("fc1.kernel_loc").unconstrained;
    Matrix sum = Matrix::Zero(in, hidden), sum_sq = sum;
    const int draws = 1000;
    for (int d = 0; d < draws; ++d) {
      elbo.differentiable_loss(net_model, net_guide, X, Y).backward();
      sum += leaf.grad();
      sum_sq += leaf.grad().cwiseAbs2();
      for (const std::string& name : param_store().names())
        param_store().entry(name).unconstrained.zero_grad();
      tape().reset();
    }
    const Matrix mean = sum / Scalar(draws);
    variance.push_back(
        ((sum_sq / Scalar(draws) - mean.cwiseAbs2()) * (draws / (draws - 1.0))).mean());
    fmt::print("{:<26} gradient variance {:10.4g}  relative {:.3f}\n", to_string(e),
               variance.back(), variance.back() / variance.front());
  }
  // [end]
  report("var_reparameterization", variance[0]);
  report("var_local", variance[1]);
  report("var_flipout", variance[2]);
  report("rel_local", variance[1] / variance[0]);
  report("rel_flipout", variance[2] / variance[0]);
  return 0;
}
