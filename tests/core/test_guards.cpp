// Inputs that once gave a wrong answer without an error, each now a clear error naming the
// site, param or plate and the shapes or values involved: a row of data scored against a
// plate over rows, a param read with an init of another shape (a checkpoint from another
// model), nested plates with one name, empty names, condition / substitute / init_to_value
// naming sites the model lacks or giving values of the wrong shape, validation errors that
// name the site and the param, a diverging run, and a loss with nothing to learn.
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

#include "support/svi.hpp"

using namespace vesta;
using Catch::Matchers::Contains;
using vesta::testing::FreshParams;

TEST_CASE("a 1xN observation in a plate over N rows is a ShapeError, not N^2 terms",
          "[core][guards]") {
  FreshParams fresh;
  // The reproducer: once scored as a 4x4 matrix (16 terms).
  auto model = [] {
    auto p = plate("data", 4);
    sample("x", Normal(0, 1), Tensor(Matrix::Zero(1, 4)));
  };
  CHECK_THROWS_AS(trace(model).get_trace(), ShapeError);
  CHECK_THROWS_WITH(trace(model).get_trace(),
                    Contains("'x'") && Contains("'data'") && Contains("1x4") && Contains("4 rows"));
  // The column it meant is fine, and so is a value of one row against a distribution that is
  // batched over the plate by itself (it broadcasts against the distribution's rows).
  CHECK(trace([] {
          auto p = plate("data", 4);
          sample("x", Normal(0, 1), Tensor(Matrix::Zero(4, 1)));
        })
            .get_trace()
            .log_prob("x")
            .size() == 4);
  CHECK(trace([] {
          auto p = plate("data", 4);
          sample("x", Normal(Tensor(Matrix::Zero(4, 1)), 1), Tensor(Scalar(0)));
        })
            .get_trace()
            .log_prob("x")
            .size() == 4);
  // Outside any plate, a row scored against a column-batched distribution is the same
  // mistake: every value against every entry.
  CHECK_THROWS_WITH(
      trace([] { sample("y", Normal(Tensor(Matrix::Zero(3, 1)), 1), Tensor(Matrix::Zero(1, 3))); })
          .get_trace()
          .log_prob("y"),
      Contains("'y'") && Contains("1x3") && Contains("3x1") && Contains("3x3"));
}

TEST_CASE("a regression fitted with its data as a column recovers the slope",
          "[core][guards][slow]") {
  FreshParams fresh;
  set_rng_seed(1);  // before the first step, which initialises the guide
  // y = 2 x + noise; the model observes y as a column in a plate over rows. With y given as a
  // row (the mistake above) the fit once returned a slope of 0.10; now it is an error.
  Rng rng(3);
  const Index n = 50;
  const Matrix x = rng.normal(n, 1);
  const Matrix y = 2 * x + 0.3 * rng.normal(n, 1);
  auto model = [](const Matrix& xs, const Matrix& ys) {
    const Tensor slope = sample("slope", Normal(0, 10));
    auto p = plate("data", xs.rows());
    sample("y", Normal(slope * Tensor(xs), 0.3), ys);
  };
  AutoNormal guide(model);
  Adam adam(0.05);
  SVI svi(model, guide, adam);
  svi.set_progress(nullptr);
  CHECK_THROWS_WITH(svi.step(x, Matrix(y.transpose())), Contains("'y'") && Contains("1x50"));
  svi.run(2000, x, y);
  // The exact posterior of the slope: mean sum(x y) / (sum(x^2) + 0.3^2 / 10^2), sd 0.3 /
  // sqrt(sum(x^2) + 0.3^2 / 10^2) (about 0.04 here). The guide's loc, a noisy final iterate
  // of Adam, must lie within one posterior sd of the mean; the wrong fit was 45 sd away.
  const double precision = x.squaredNorm() + 0.09 / 100;
  const double exact = (x.array() * y.array()).sum() / precision;
  const double posterior_sd = 0.3 / std::sqrt(precision);
  CHECK(guide.median()["slope"](0, 0) == Approx(exact).margin(posterior_sd));
}

TEST_CASE("a param read with an initial value of another shape is an error", "[core][guards]") {
  FreshParams fresh;
  param("p", Matrix::Zero(2, 1));
  CHECK_THROWS_AS(param("p", Matrix::Zero(3, 3)), ShapeError);
  CHECK_THROWS_WITH(param("p", Matrix::Zero(3, 3)),
                    Contains("'p'") && Contains("2x1") && Contains("3x3"));
  CHECK(param("p", Matrix::Ones(2, 1)).rows() == 2);  // same shape: read, init unused
  CHECK(param("p").value().isZero());
  // A simplex param is stored with one column fewer; its constrained shape is what counts.
  param("probs", Matrix::Constant(1, 3, Scalar(1) / 3), constraints::simplex());
  CHECK_NOTHROW(param("probs", Matrix::Constant(1, 3, Scalar(1) / 3), constraints::simplex()));
  // A checkpoint saved by another model: its 1x1 "loc" read by a guide that declares 1x3.
  const std::string path = "test_guards_checkpoint.bin";
  param_store().clear();
  param("loc", Matrix::Zero(1, 1));
  param_store().save(path);
  param_store().clear();
  param_store().load(path);
  std::remove(path.c_str());
  CHECK_THROWS_WITH(param("loc", Matrix::Zero(1, 3)),
                    Contains("'loc'") && Contains("1x1") && Contains("1x3"));
  tape().reset();
}

TEST_CASE("nested plates of one name and empty names are errors", "[core][guards]") {
  FreshParams fresh;
  CHECK_THROWS_WITH(trace([] {
                      auto a = plate("p", 3);
                      auto b = plate("p", 3);
                      sample("w", Normal(0, 1));
                    }).get_trace(),
                    Contains("'p'") && Contains("same name"));
  CHECK_THROWS_WITH(sample("", Normal(0, 1)), Contains("sample") && Contains("empty"));
  CHECK_THROWS_WITH(trace([] { sample("", Normal(0, 1)); }).get_trace(),
                    Contains("sample") && Contains("empty"));
  CHECK_THROWS_WITH(param("", Matrix::Zero(1, 1)), Contains("param") && Contains("empty"));
  CHECK_THROWS_WITH(plate("", 3), Contains("plate") && Contains("empty"));
  CHECK_THROWS_WITH(deterministic("", Tensor(Scalar(1))),
                    Contains("deterministic") && Contains("empty"));
  CHECK(handler_stack().empty());
  CHECK(param_store().size() == 0);
}

TEST_CASE("condition, substitute and init_to_value name what the model lacks", "[core][guards]") {
  FreshParams fresh;
  auto model = [] {
    const Tensor loc = param("loc", Matrix::Zero(1, 1));
    const Tensor z = sample("z", Normal(loc, 1));
    auto p = plate("data", 3);
    sample("x", Normal(z, 1));
  };
  // Unknown names: an error once the model has run without them (both forms).
  CHECK_THROWS_WITH(trace(condition(model, {{"zz", Tensor(Scalar(1))}})).get_trace(),
                    Contains("condition") && Contains("'zz'"));
  CHECK_THROWS_WITH(([&] {
                      auto c = condition({{"zz", Tensor(Scalar(1))}, {"z", Tensor(Scalar(0))}});
                      model();
                    }()),
                    Contains("'zz'") && !Contains("'z'"));
  CHECK_THROWS_WITH(trace(substitute(model, {{"scale", Tensor(Scalar(1))}})).get_trace(),
                    Contains("substitute") && Contains("'scale'"));
  // Wrong shapes: named with both.
  CHECK_THROWS_WITH(trace(condition(model, {{"x", Tensor(Matrix::Zero(1, 3))}})).get_trace(),
                    Contains("'x'") && Contains("1x3") && Contains("3x1"));
  CHECK_THROWS_WITH(trace(substitute(model, {{"loc", Tensor(Matrix::Zero(2, 1))}})).get_trace(),
                    Contains("'loc'") && Contains("2x1") && Contains("1x1"));
  // The right ones work.
  const Trace t = trace(condition(model, {{"x", Tensor(Matrix::Ones(3, 1))}})).get_trace();
  CHECK(t["x"].observed);
  // An exception from the model itself is not hidden by the check.
  CHECK_THROWS_WITH(
      trace(condition([] { throw ValueError("model failed"); }, {{"nope", Tensor(Scalar(1))}}))
          .get_trace(),
      Contains("model failed"));
  // init_to_value naming a site the model does not have.
  AutoNormal guide(model, {.init = init_to_value({{"w", Matrix::Zero(1, 1)}})});
  CHECK_THROWS_WITH(guide(), Contains("init_to_value") && Contains("'w'"));
  AutoNormal fine(model, {.init = init_to_value({{"z", Matrix::Constant(1, 1, 0.5)}})});
  fine();
  CHECK(fine.median()["z"](0, 0) == Approx(0.5));
  CHECK(handler_stack().empty());
  tape().reset();
}

TEST_CASE("validation errors name the site and the param", "[core][guards]") {
  FreshParams fresh;
  // A value outside the support, at an observed site.
  Matrix x(3, 1);
  x << 0.1, 0.2, std::nan("");
  auto model = [](const Matrix& data) {
    const Tensor z = sample("w", Normal(0, 1));
    auto p = plate("data", data.rows());
    sample("obs", Normal(z, 1), data);
  };
  CHECK_THROWS_WITH(trace(model).get_trace(x).log_prob_sum(),
                    Contains("sample 'obs': Normal: value[2] is nan"));
  // A parameter gone bad, in the guide: the site and the param that fed it.
  auto guide = [](const Matrix&) {
    const Tensor loc = param("w_loc", Matrix::Zero(1, 1));
    const Tensor scale = param("w_scale", Matrix::Ones(1, 1), constraints::positive());
    sample("w", Normal(loc, scale));
  };
  Matrix good = x;
  good(2, 0) = 0.3;
  Trace_ELBO elbo;
  CHECK_NOTHROW(elbo.loss(model, guide, good));
  const Tensor inf(Matrix::Constant(1, 1, std::numeric_limits<Scalar>::infinity()));
  CHECK_THROWS_WITH(
      elbo.loss(model, substitute(guide, {{"w_scale", inf}}), good),
      Contains("guide site 'w' (param 'w_scale'): Normal: scale is inf, but must be positive"));
  // The store itself never takes a value that is not finite.
  CHECK_THROWS_WITH(
      param_store().set("w_scale", Matrix::Constant(1, 1, std::numeric_limits<Scalar>::infinity())),
      Contains("'w_scale'") && Contains("not finite"));
  CHECK_THROWS_WITH(elbo.loss(
                        model, [](const Matrix&) { sample("w", Normal(0, 1)); }, x),
                    Contains("model site 'obs'") && Contains("value[2] is nan"));
  tape().reset();
}

TEST_CASE("a loss with nothing to learn says why, in words", "[core][guards]") {
  FreshParams fresh;
  auto model = [](const Matrix& data) {
    const Tensor z = sample("z", Normal(0, 1));
    auto p = plate("data", data.rows());
    sample("x", Normal(z, 1), data);
  };
  auto empty_guide = [](const Matrix&) {};
  Adam adam(0.01);
  SVI svi(model, empty_guide, adam);
  svi.set_progress(nullptr);
  const std::vector<std::string> silenced;
  const WarningHandler previous = set_warning_handler(nullptr);
  CHECK_THROWS_WITH(
      svi.step(vesta::testing::data10()),
      Contains("guide samples none of the model's latent sites (z)") && Contains("AutoNormal"));
  auto no_params = [](const Matrix& data) {
    auto p = plate("data", data.rows());
    sample("x", Normal(0, 1), data);
  };
  SVI nothing(no_params, empty_guide, adam);
  CHECK_THROWS_WITH(nothing.step(vesta::testing::data10()), Contains("nothing to learn"));
  set_warning_handler(previous);
  tape().reset();
}

TEST_CASE("a diverging run names the param and leaves the store finite", "[core][guards]") {
  FreshParams fresh;
  // SGD with the largest finite step of the scalar type: the update of 'w' overflows in
  // the float build and the double build alike.
  const Tensor w = param("w", Matrix::Constant(2, 1, 1));
  const Tensor loss = sum(square(w));
  loss.backward();
  SGD sgd(std::numeric_limits<Scalar>::max());
  CHECK_THROWS_WITH(sgd.step(),
                    Contains("param 'w'") && Contains("inf") && Contains("learning rate"));
  CHECK(param_store().entry("w").unconstrained.matrix().allFinite());
  CHECK_FALSE(param_store().entry("w").unconstrained.has_grad());  // cleared on failure
  tape().reset();
}

TEST_CASE("warnings go through one hook that a program can redirect or silence", "[core][guards]") {
  FreshParams fresh;
  std::vector<std::string> seen;
  const WarningHandler previous =
      set_warning_handler([&](const std::string& m) { seen.push_back(m); });
  auto model = [] {
    const Tensor loc = param("loc", Matrix::Zero(1, 1));
    sample("z", Normal(loc, 1));
    sample("u", Normal(0, 1));
  };
  auto guide = [] { sample("z", Normal(param("gloc", Matrix::Zero(1, 1)), 1)); };
  Trace_ELBO elbo;
  elbo.loss(model, guide);
  elbo.loss(model, guide);
  REQUIRE(seen.size() == 1);  // once per site
  CHECK_THAT(seen[0], Contains("'u'") && Contains("not in the guide"));
  set_warning_handler(nullptr);
  Trace_ELBO quiet;
  quiet.loss(model, guide);
  CHECK(seen.size() == 1);
  set_warning_handler(previous);
}

TEST_CASE("a guide site the model lacks is an error naming it; an auxiliary one is not",
          "[core][guards]") {
  FreshParams fresh;
  auto model = [] {
    sample("z", Normal(0, 1));
    sample("x", Normal(0, 1), Tensor(Scalar(0.5)));
  };
  auto guide_with = [](const char* extra, bool auxiliary) {
    return [extra, auxiliary] {
      sample("z", Normal(param("loc", Matrix::Zero(1, 1)), 1));
      if (auxiliary) {
        sample_auxiliary(extra, detail::site_distribution(Normal(0, 1)));
      } else {
        sample(extra, Normal(0, 1));
      }
    };
  };
  Trace_ELBO elbo;
  CHECK_THROWS_WITH(elbo.loss(model, guide_with("q", false)),
                    Contains("guide samples 'q'") && Contains("model does not have"));
  // A guide-only auxiliary latent is scored with the guide and never looked for in the model.
  CHECK(std::isfinite(elbo.loss(model, guide_with("q", true))));
  // A model site of the name, though observed there, is the model having it.
  CHECK(std::isfinite(elbo.loss(model, guide_with("x", false))));
}

TEST_CASE("a plate over columns takes its dimension by name, and losses need no optimizer",
          "[core][guards]") {
  FreshParams fresh;
  const Trace t = trace([] {
                    auto c = plate("c", 3, std::nullopt, PlateDim::cols);
                    sample("w", Normal(0, 1));
                  }).get_trace();
  CHECK(t["w"].value.cols() == 3);
  CHECK(t["w"].value.rows() == 1);
  // Pyro's elbo.loss(model, guide, ...): models and guides taken by const reference.
  const auto model = [](const Matrix& data) {
    const Tensor z = sample("z", Normal(0, 1));
    auto p = plate("data", data.rows());
    sample("x", Normal(z, 1), data);
  };
  const auto guide = [](const Matrix&) {
    sample("z", Normal(param("loc", Matrix::Zero(1, 1)), 1));
  };
  Trace_ELBO elbo;
  const double a = elbo.loss(model, guide, vesta::testing::data10());
  CHECK(std::isfinite(a));
  CHECK(tape().num_nodes() == 0);  // loss() resets the tape
  const Tensor l = elbo.differentiable_loss(model, guide, vesta::testing::data10());
  CHECK(l.requires_grad());
  tape().reset();
}
