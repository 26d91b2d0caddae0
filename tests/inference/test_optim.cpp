// Optimizers: each update rule against the same rule computed by hand for two steps, each
// optimizer minimising a quadratic, schedules, clipping, parameters that join mid-training,
// and a non-finite gradient that stops the step without touching any parameter.
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

#include "support/svi.hpp"

using namespace vesta;
using Catch::Matchers::Contains;

namespace {

using Fresh = vesta::testing::FreshParams;

// Loss sum((x - target)^2 / 2), gradient x - target.
void backward_quadratic(const Matrix& target) {
  sum(Scalar(0.5) * square(param("x") - Tensor(target))).backward();
}

// One step of `opt` on params "good" (2x1) and "bad" (5000x1, three chunks of the update)
// whose gradient is `bad_gradient` at entry 4321 of "bad" and 1 elsewhere: the step must throw
// naming the param, the entry and `cause`, and change nothing; the next step, with finite
// gradients, goes ahead and moves both.
// `size` entries with the bad gradient at entry `at`: by default in the third chunk of an update
// and in a whole packet of it.
void check_step_refused(Optimizer& opt, Scalar bad_gradient, const char* cause, Index size = 5000,
                        Index at = 4321) {
  Fresh fresh;
  param("good", Matrix::Constant(2, 1, 1));
  param("bad", Matrix::Constant(size, 1, 1));
  Matrix gradient = Matrix::Ones(size, 1);
  gradient(at, 0) = bad_gradient;
  (sum(param("good")) + sum(param("bad") * Tensor(gradient))).backward();
  // A message names the entry of a param of more than one.
  const std::string entry = size == 1 ? "" : fmt::format("[{}]", at);
  CHECK_THROWS_WITH(opt.step(), Contains("'bad'") && Contains(cause) && Contains(entry) &&
                                    Contains("no parameter was updated"));
  tape().reset();
  CHECK(param_store().entry("good").unconstrained.matrix() == Matrix::Constant(2, 1, 1));
  CHECK(param_store().entry("bad").unconstrained.matrix() == Matrix::Constant(size, 1, 1));
  CHECK(opt.steps() == 0);
  (sum(param("good")) + sum(param("bad"))).backward();
  opt.step();
  tape().reset();
  CHECK((param_store().entry("good").unconstrained.matrix().array() < 1).all());
  CHECK((param_store().entry("bad").unconstrained.matrix().array() < 1).all());
}

}  // namespace

TEST_CASE("update rules match the same rules computed by hand", "[inference][optim]") {
  const Matrix x0 = (Matrix(2, 1) << 1.0, -2.0).finished();
  const Matrix target = (Matrix(2, 1) << 0.5, 0.25).finished();
  const Scalar lr = 0.1;
  struct Rule {
    const char* name;
    std::function<std::unique_ptr<Optimizer>()> make;
    // x, g, state (m, v), t (from 1) -> new x
    std::function<double(double, double, double&, double&, int)> step;
  };
  const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
  const std::vector<Rule> rules = {
      {"Adam", [&] { return std::make_unique<Adam>(lr); },
       [&](double x, double g, double& m, double& v, int t) {
         m = b1 * m + (1 - b1) * g;
         v = b2 * v + (1 - b2) * g * g;
         return x - lr / (1 - std::pow(b1, t)) * m / (std::sqrt(v / (1 - std::pow(b2, t))) + eps);
       }},
      {"SGD momentum", [&] { return std::make_unique<SGD>(lr, 0.8); },
       [&](double x, double g, double& m, double&, int t) {
         m = t == 1 ? g : 0.8 * m + g;
         return x - lr * m;
       }},
      {"RMSProp", [&] { return std::make_unique<RMSProp>(lr); },
       [&](double x, double g, double&, double& v, int) {
         v = 0.99 * v + 0.01 * g * g;
         return x - lr * g / (std::sqrt(v) + 1e-8);
       }},
      {"Adagrad", [&] { return std::make_unique<Adagrad>(lr); },
       [&](double x, double g, double&, double& v, int) {
         v += g * g;
         return x - lr * g / (std::sqrt(v) + 1e-10);
       }},
  };
  for (const Rule& rule : rules) {
    Fresh fresh;
    INFO(rule.name);
    param("x", x0);
    auto opt = rule.make();
    std::vector<double> x = {x0(0, 0), x0(1, 0)}, m(2, 0), v(2, 0);
    for (int t = 1; t <= 3; ++t) {
      backward_quadratic(target);
      opt->step();
      tape().reset();
      for (int i = 0; i < 2; ++i) x[i] = rule.step(x[i], x[i] - target(i, 0), m[i], v[i], t);
      const Matrix now = param_store().entry("x").unconstrained.matrix();
      CHECK(now(0, 0) == Approx(x[0]).epsilon(1e-5).margin(1e-5));
      CHECK(now(1, 0) == Approx(x[1]).epsilon(1e-5).margin(1e-5));
    }
    CHECK_FALSE(param_store().entry("x").unconstrained.has_grad());  // step zeroes gradients
  }
}

TEST_CASE("every optimizer minimises a quadratic", "[inference][optim]") {
  const Matrix target = (Matrix(3, 1) << 1.5, -0.5, 3.0).finished();
  const std::vector<std::pair<const char*, std::function<std::unique_ptr<Optimizer>()>>> makers = {
      {"Adam", [] { return std::make_unique<Adam>(0.05); }},
      {"ClippedAdam", [] { return std::make_unique<ClippedAdam>(0.05, 1.0, 0.999); }},
      {"SGD", [] { return std::make_unique<SGD>(0.1, 0.5); }},
      {"RMSProp", [] { return std::make_unique<RMSProp>(0.01); }},
      {"Adagrad", [] { return std::make_unique<Adagrad>(0.5); }},
  };
  for (const auto& [name, make] : makers) {
    Fresh fresh;
    INFO(name);
    param("x", Matrix::Zero(3, 1));
    auto opt = make();
    for (int t = 0; t < 2000; ++t) {
      backward_quadratic(target);
      opt->step();
      tape().reset();
    }
    CHECK((param_store().entry("x").unconstrained.matrix() - target).cwiseAbs().maxCoeff() < 0.02);
  }
}

TEST_CASE("schedules and gradient-norm clipping", "[inference][optim]") {
  const auto s = schedules::step_decay(1.0, 10, 0.5);
  CHECK(s(0) == 1.0);
  CHECK(s(9) == 1.0);
  CHECK(s(10) == 0.5);
  CHECK(s(25) == 0.25);
  CHECK(schedules::exponential_decay(2.0, 0.5)(3) == Approx(0.25));
  CHECK_THROWS_AS(schedules::step_decay(1.0, 0, 0.5), ValueError);
  CHECK_THROWS_WITH(Adam(-1), Contains("learning rate is -1"));

  // With clipping to norm 1, SGD moves the parameter by exactly lr in the gradient's direction.
  Fresh fresh;
  param("x", Matrix::Zero(2, 1));
  SGD sgd(0.1);
  sgd.clip_grad_norm(1.0);
  backward_quadratic((Matrix(2, 1) << 30.0, 40.0).finished());  // gradient (-30, -40), norm 50
  sgd.step();
  const Matrix x = param_store().entry("x").unconstrained.matrix();
  CHECK(x(0, 0) == Approx(0.06));
  CHECK(x(1, 0) == Approx(0.08));
  // A ClippedAdam's learning rate decays by lrd each step.
  ClippedAdam clipped(0.1, 10, 0.5);
  CHECK(clipped.learning_rate() == Approx(0.1));
  backward_quadratic(Matrix::Zero(2, 1));
  clipped.step();
  CHECK(clipped.learning_rate() == Approx(0.05));
}

TEST_CASE("parameters first seen mid-training join; unused ones are left alone",
          "[inference][optim]") {
  Fresh fresh;
  Adam adam(0.1);
  param("a", Matrix::Constant(1, 1, 1));
  for (int t = 0; t < 3; ++t) {
    sum(square(param("a"))).backward();
    adam.step();
    tape().reset();
  }
  param("b", Matrix::Constant(1, 1, 1));
  const Scalar a_before = param_store().entry("a").unconstrained.matrix()(0, 0);
  sum(square(param("b"))).backward();  // only b is used in this step
  adam.step();
  tape().reset();
  CHECK(param_store().entry("a").unconstrained.matrix()(0, 0) == a_before);
  // b's first Adam step moves it by lr (bias-corrected m / sqrt(v) = sign of the gradient).
  CHECK(param_store().entry("b").unconstrained.matrix()(0, 0) == Approx(0.9).epsilon(1e-4));
}

TEST_CASE("a non-finite gradient names the parameter and changes nothing", "[inference][optim]") {
  Fresh fresh;
  param("good", Matrix::Constant(2, 1, 1));
  param("bad", Matrix::Constant(3, 1, 1));
  Adam adam(0.1);
  Matrix poison = Matrix::Ones(3, 1);
  poison(1, 0) = std::numeric_limits<Scalar>::quiet_NaN();
  (sum(param("good")) + sum(param("bad") * Tensor(poison))).backward();
  CHECK_THROWS_WITH(adam.step(), Contains("'bad'") && Contains("nan") && Contains("[1]"));
  CHECK(param_store().entry("good").unconstrained.matrix() == Matrix::Constant(2, 1, 1));
  CHECK(param_store().entry("bad").unconstrained.matrix() == Matrix::Constant(3, 1, 1));
  CHECK(adam.steps() == 0);

  // An infinite entry is named too, whichever entry it is.
  for (const char* name : {"good", "bad"}) param_store().entry(name).unconstrained.zero_grad();
  poison(1, 0) = 1;
  poison(2, 0) = std::numeric_limits<Scalar>::infinity();
  (sum(param("good")) + sum(param("bad") * Tensor(poison))).backward();
  CHECK_THROWS_WITH(adam.step(), Contains("'bad'") && Contains("inf") && Contains("[2]"));
  CHECK(param_store().entry("bad").unconstrained.matrix() == Matrix::Constant(3, 1, 1));
}

TEST_CASE("every optimizer, with or without clipping, stops at a non-finite gradient",
          "[inference][optim]") {
  // Without clipping the gradients are checked inside the update; ClippedAdam clips each entry
  // first, which must not turn a NaN or an infinity into a finite step.
  const Scalar nan = std::numeric_limits<Scalar>::quiet_NaN();
  const Scalar inf = std::numeric_limits<Scalar>::infinity();
  auto make = [](int which) -> std::unique_ptr<Optimizer> {
    switch (which) {
      case 0:
        return std::make_unique<Adam>(0.1);
      case 1:
        return std::make_unique<ClippedAdam>(0.1, 1.0);
      case 2:
        return std::make_unique<SGD>(0.1, 0.9);
      case 3:
        return std::make_unique<RMSProp>(0.1);
      default:
        return std::make_unique<Adagrad>(0.1);
    }
  };
  for (int which = 0; which < 5; ++which) {
    for (const bool clip : {false, true}) {
      for (const Scalar poison_value : {nan, inf, -inf}) {
        CAPTURE(which, clip, poison_value);
        auto opt = make(which);
        if (clip) opt->clip_grad_norm(1.0);
        check_step_refused(*opt, poison_value, "gradient");
        // A param of one entry (a scalar site's) takes its own path through the update.
        auto fresh = make(which);
        if (clip) fresh->clip_grad_norm(1.0);
        check_step_refused(*fresh, poison_value, "gradient", 1, 0);
      }
    }
  }
}

TEST_CASE("a finite gradient whose square overflows stops the step, not the parameter",
          "[inference][optim]") {
  // Adam, RMSProp and Adagrad keep an average of g^2: a gradient of 4 sqrt(max) would make it
  // infinite, after which the entry's every step would be m / inf = 0.
  const Scalar big = 4 * std::sqrt(std::numeric_limits<Scalar>::max());
  auto make = [](int which) -> std::unique_ptr<Optimizer> {
    switch (which) {
      case 0:
        return std::make_unique<Adam>(0.1);
      case 1:
        return std::make_unique<RMSProp>(0.1);
      default:
        return std::make_unique<Adagrad>(0.1);
    }
  };
  for (int which = 0; which < 3; ++which) {
    CAPTURE(which);
    check_step_refused(*make(which), big, "squared-gradient accumulator");
    // In the entries past the chunk's last whole packet, which an update may compute apart.
    check_step_refused(*make(which), big, "squared-gradient accumulator", 4333, 4330);
    // In a param of one entry.
    check_step_refused(*make(which), big, "squared-gradient accumulator", 1, 0);
  }
}

TEST_CASE("a refused step leaves values and moments as they were: the run goes on as without it",
          "[inference][optim]") {
  // Three steps, the second refused (a NaN gradient; for SGD with a large rate, a finite one
  // whose step overflows: a diverging run), against the same run without the second step: the
  // values and the saved states must be the same to the bit. A param of 5000 entries (three
  // chunks of an update, the bad entry in the last) and one of one entry.
  const Scalar nan = std::numeric_limits<Scalar>::quiet_NaN();
  const Scalar huge = std::numeric_limits<Scalar>::max() / 2;
  struct Case {
    const char* name;
    std::function<std::unique_ptr<Optimizer>()> make;
    Scalar bad;
    const char* cause;
  };
  const std::vector<Case> cases = {
      {"Adam", [] { return std::make_unique<Adam>(0.1); }, nan, "gradient"},
      {"ClippedAdam", [] { return std::make_unique<ClippedAdam>(0.1, 1.0); }, nan, "gradient"},
      {"SGD momentum", [] { return std::make_unique<SGD>(0.1, 0.9); }, nan, "gradient"},
      {"RMSProp", [] { return std::make_unique<RMSProp>(0.1); }, nan, "gradient"},
      {"Adagrad", [] { return std::make_unique<Adagrad>(0.1); }, nan, "gradient"},
      {"SGD momentum, diverging", [] { return std::make_unique<SGD>(10.0, 0.9); }, -huge,
       "diverges"},
  };
  for (const Case& c : cases) {
    for (const Index size : {Index(5000), Index(1)}) {
      CAPTURE(c.name, size);
      const Index at = size == 1 ? 0 : 4321;
      Rng rng(5);
      const Matrix g1 = rng.normal(size, 1), g3 = rng.normal(size, 1);
      Matrix bad = rng.normal(size, 1);
      bad(at, 0) = c.bad;
      auto run = [&](bool with_refused_step) {
        Fresh fresh;
        param("w", Matrix::Constant(size, 1, 1));
        auto opt = c.make();
        sum(param("w") * Tensor(g1)).backward();
        opt->step();
        tape().reset();
        if (with_refused_step) {
          sum(param("w") * Tensor(bad)).backward();
          CHECK_THROWS_WITH(opt->step(), Contains(c.cause) && Contains("o parameter was updated"));
          tape().reset();
        }
        sum(param("w") * Tensor(g3)).backward();
        opt->step();
        tape().reset();
        ParamStore saved;
        opt->save_state(saved, "opt");
        std::vector<Matrix> out = {param_store().entry("w").unconstrained.matrix()};
        for (const auto& entry : saved.entries())
          out.push_back(entry.second.unconstrained.matrix());
        return out;
      };
      const std::vector<Matrix> with = run(true), without = run(false);
      REQUIRE(with.size() == without.size());
      for (std::size_t k = 0; k < with.size(); ++k) CHECK(with[k] == without[k]);
    }
  }
}

TEST_CASE("a step leaves the recorded graph its values: a later backward pass reads them",
          "[inference][optim]") {
  // Between a step's backward pass and the tape's reset the graph still holds the param: a
  // second backward pass must differentiate at the values it was recorded with.
  for (const Index size : {Index(5000), Index(1)}) {
    CAPTURE(size);
    Fresh fresh;
    const Matrix w0 = Matrix::Constant(size, 1, 2);
    param("w", w0);
    Adam adam(0.1);
    const Tensor w = param("w");
    const Tensor y = sum(w * w);
    y.backward();
    adam.step();
    CHECK(param_store().entry("w").unconstrained.matrix() != w0);
    y.backward();
    CHECK(param_store().entry("w").unconstrained.grad() == 2 * w0);
    tape().reset();
  }
}

TEST_CASE("a param's optimizer state follows it when a param before it is erased",
          "[inference][optim]") {
  // b's moments must survive the erasure of a, which moves b to another position in the
  // store: b then follows the same path as in a run that never had a.
  auto run = [](bool with_a) {
    ParamStore store;
    Adam adam(0.1);
    for (int step = 0; step < 6; ++step) {
      if (with_a && step == 3) store.erase("a");
      TapeStep scope;
      Tensor loss(Scalar(0));
      if (with_a && step < 3) {
        loss =
            sum(square(store.get_or_create("a", Matrix::Constant(2, 1, 1), nullptr).unconstrained));
      }
      const Tensor& b = store.get_or_create("b", Matrix::Constant(2, 1, 3), nullptr).unconstrained;
      loss = loss + sum(square(b - 1));
      loss.backward();
      adam.step(store);
    }
    return store.entry("b").unconstrained.matrix();
  };
  const Matrix with_a = run(true);
  CHECK(with_a == run(false));
  CHECK((with_a.array() < 3).all());  // it moved
}

TEST_CASE("a param's optimizer state follows it when params change places, their count unchanged",
          "[inference][optim]") {
  // After three steps on a and b, a is erased and c made: b moves to a's position and c to
  // b's, two params as before. b must keep its own moments (the path of a run with b alone)
  // and c start afresh (the path a took in its first three steps), though every position still
  // has a state.
  auto run = [](bool with_others) {
    ParamStore store;
    Adam adam(0.1);
    Matrix a_after_three, c_after_three;
    for (int step = 0; step < 6; ++step) {
      if (with_others && step == 3) store.erase("a");
      TapeStep scope;
      Tensor loss(Scalar(0));
      const char* other = step < 3 ? "a" : "c";
      if (with_others) {
        loss = sum(
            square(store.get_or_create(other, Matrix::Constant(2, 1, 1), nullptr).unconstrained));
      }
      const Tensor& b = store.get_or_create("b", Matrix::Constant(2, 1, 3), nullptr).unconstrained;
      loss = loss + sum(square(b - 1));
      loss.backward();
      adam.step(store);
      if (with_others && step == 2) a_after_three = store.entry("a").unconstrained.matrix();
      if (with_others && step == 5) c_after_three = store.entry("c").unconstrained.matrix();
    }
    if (with_others) {
      CHECK(store.names() == std::vector<std::string>{"b", "c"});
      CHECK(c_after_three == a_after_three);
    }
    return store.entry("b").unconstrained.matrix();
  };
  const Matrix b = run(true);
  CHECK(b == run(false));
  CHECK((b.array() < 3).all());
}

TEST_CASE("a param of one entry takes the step each entry of a larger param takes",
          "[inference][optim]") {
  // Small params take a plain loop and large ones Eigen's vectorised expressions: both must
  // apply the same rule. Every entry of "many" (packets and a tail) has one's value and
  // gradient, which change from step to step. They may differ in the last bits: GCC fuses a
  // product and a sum into one rounding (an FMA) where it chooses, in scalar and in packet
  // code alike, so even Eigen's own packets and its scalar tail differ there.
  const std::vector<std::pair<const char*, std::function<std::unique_ptr<Optimizer>()>>> makers = {
      {"Adam", [] { return std::make_unique<Adam>(0.05); }},
      {"ClippedAdam", [] { return std::make_unique<ClippedAdam>(0.05, 10.0, 0.999); }},
      {"SGD", [] { return std::make_unique<SGD>(0.1, 0.5); }},
      {"RMSProp", [] { return std::make_unique<RMSProp>(0.01); }},
      {"Adagrad", [] { return std::make_unique<Adagrad>(0.5); }},
  };
  // A few roundings apart after 20 steps, in the build's precision.
  const double kTolerance = 64 * double(std::numeric_limits<Scalar>::epsilon());
  for (const auto& [name, make] : makers) {
    Fresh fresh;
    INFO(name);
    param("one", Matrix::Constant(1, 1, 0.3));
    param("many", Matrix::Constant(37, 1, 0.3));
    auto opt = make();
    Rng rng(11);
    for (int t = 0; t < 20; ++t) {
      const Scalar g = rng.normal(1, 1)(0, 0) * 3;
      (sum(param("one")) * g + sum(param("many")) * g).backward();
      opt->step();
      tape().reset();
      const Scalar one = param_store().entry("one").unconstrained.matrix()(0, 0);
      const Matrix many = param_store().entry("many").unconstrained.matrix();
      INFO("step " << t);
      for (Index i = 0; i < many.size(); ++i) {
        REQUIRE(many(i, 0) == Approx(one).epsilon(kTolerance).margin(kTolerance));
      }
    }
  }
}

TEST_CASE("a saved optimizer state resumes exactly, and one of another kind is refused",
          "[inference][optim]") {
  // Each optimizer keeps its own moments (Adam both, SGD with momentum the first, RMSProp and
  // Adagrad the second, SGD without momentum none): a run that saves its state after 3 steps
  // and resumes in a new optimizer must end where an unbroken run of 7 steps ends, bit for bit.
  using Maker = std::function<std::unique_ptr<Optimizer>()>;
  const std::vector<std::pair<const char*, Maker>> makers = {
      {"Adam", [] { return std::make_unique<Adam>(0.05); }},
      {"SGD+momentum", [] { return std::make_unique<SGD>(0.1, 0.5); }},
      {"SGD", [] { return std::make_unique<SGD>(0.1); }},
      {"RMSProp", [] { return std::make_unique<RMSProp>(0.01); }},
      {"Adagrad", [] { return std::make_unique<Adagrad>(0.5); }},
  };
  const Matrix full_target = (Matrix(3, 1) << 1, -2, 0.5).finished();
  Matrix target = full_target;
  auto steps = [&](Optimizer& opt, int count) {
    for (int t = 0; t < count; ++t) {
      backward_quadratic(target);
      opt.step();
      tape().reset();
    }
  };
  // A param of one entry keeps its moments in its state, a larger one in a block: both kinds.
  for (const Index n : {Index(3), Index(1)}) {
    CAPTURE(n);
    target = full_target.topRows(n);
    for (const auto& [name, make] : makers) {
      INFO(name);
      Matrix unbroken;
      {
        Fresh fresh;
        param("x", Matrix::Zero(n, 1));
        auto opt = make();
        steps(*opt, 7);
        unbroken = param_store().entry("x").unconstrained.matrix();
      }
      Fresh fresh;
      param("x", Matrix::Zero(n, 1));
      auto first = make();
      steps(*first, 3);
      ParamStore saved;
      first->save_state(saved, "opt");
      auto resumed = make();
      resumed->load_state(saved, "opt");
      CHECK(resumed->steps() == 3);
      steps(*resumed, 4);
      CHECK(param_store().entry("x").unconstrained.matrix() == unbroken);
      CHECK(unbroken != Matrix::Zero(n, 1));  // it moved
    }
  }
  // Adam's state (two moments) into optimizers that keep other moments.
  target = full_target;
  Fresh fresh;
  param("x", Matrix::Zero(3, 1));
  Adam adam(0.05);
  steps(adam, 2);
  ParamStore saved;
  adam.save_state(saved, "opt");
  SGD sgd(0.1, 0.5);
  CHECK_THROWS_WITH(sgd.load_state(saved, "opt"),
                    Contains("param 'x'") && Contains("a first and a second moment") &&
                        Contains("a first moment only") && Contains("another kind of optimizer"));
  RMSProp rms(0.01);
  CHECK_THROWS_WITH(rms.load_state(saved, "opt"), Contains("a second moment only"));
}
