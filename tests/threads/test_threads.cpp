// Threads: several models trained at the same time, one per thread, each with its own
// ParamStore, optimizer, tape and generator; Predictive on several threads at once; and the
// sharing vesta does not support (a store, a parameter, an optimizer used by two threads at
// once) reported as ConcurrentUseError rather than left to race. The CI runs this file under
// ThreadSanitizer (-DVESTA_SANITIZE=thread), which fails on any data race it sees.
#include <atomic>
#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

using namespace vesta;
using Catch::Matchers::Contains;

namespace {

// z ~ N(0, 1); x_i ~ N(z, 1): the posterior of z is N(sum(x) / (n + 1), 1 / sqrt(n + 1)).
void normal_mean_model(const Matrix& x) {
  const Tensor z = sample("z", Normal(0, 1));
  auto p = plate("data", x.rows());
  sample("x", Normal(z, 1), Tensor(x));
}

void normal_mean_guide(const Matrix&) {
  const Tensor loc = param("loc", Matrix::Zero(1, 1));
  const Tensor scale = param("scale", Matrix::Ones(1, 1), constraints::positive());
  sample("z", Normal(loc, scale));
}

Matrix data_for(int k) {
  Rng rng(100 + static_cast<std::uint64_t>(k));
  return Matrix(rng.normal(20, 1).array() + Scalar(k));
}

// A 1-16-1 HiddenLayer BNN on 40 points, its params in the model (Pyro's contrib.bnn style).
void bnn_model(const Matrix& X, const Matrix& y) {
  const Tensor h = sample(
      "h", HiddenLayer(X, param("a1_mean", [] { return Matrix(Rng(1).normal(2, 16) * 0.5); }),
                       param("a1_scale", Matrix::Constant(2, 16, 0.01), constraints::positive())));
  const Tensor f = sample(
      "f", HiddenLayer(h, param("a2_mean", [] { return Matrix(Rng(2).normal(17, 1) * 0.2); }),
                       param("a2_scale", Matrix::Constant(17, 1, 0.01), constraints::positive()),
                       {.include_hidden_bias = false, .non_linearity = identity}));
  auto data = plate("data", X.rows());
  sample("y", Normal(f, 0.2), Tensor(y));
}
void bnn_guide(const Matrix&, const Matrix&) {}

struct Fitted {
  Matrix loc, scale;
  double last_loss = 0;
};

// Trains the Normal-mean model on data_for(k) with seed k in `store`, on the calling thread.
Fitted train_normal_mean(int k, ParamStore& store, int steps) {
  ParamStoreScope use(store);
  set_rng_seed(static_cast<std::uint64_t>(k));
  Adam adam(0.02);
  SVI svi(&normal_mean_model, &normal_mean_guide, adam);
  svi.set_progress(nullptr);
  const Matrix x = data_for(k);
  Fitted out;
  for (int t = 0; t < steps; ++t) out.last_loss = svi.step(x);
  out.loc = store.get("loc").matrix();
  out.scale = store.get("scale").matrix();
  tape().reset();
  return out;
}

// Trains the BNN for `steps` steps in `store`; returns the last loss.
double train_bnn(int k, ParamStore& store, int steps) {
  ParamStoreScope use(store);
  set_rng_seed(static_cast<std::uint64_t>(1000 + k));
  Rng data_rng(7);
  const Matrix x = data_rng.uniform(40, 1).array() * 6 - 3;
  Matrix X(40, 2);
  X << x, Matrix::Ones(40, 1);
  const Matrix y = (x.array().sin()).matrix() + 0.1 * data_rng.normal(40, 1);
  Adam adam(0.01);
  SVI svi(&bnn_model, &bnn_guide, adam);
  svi.set_progress(nullptr);
  double loss = 0;
  for (int t = 0; t < steps; ++t) loss = svi.step(X, y);
  return loss;
}

// Runs f(k) for k = 0..n-1 on n threads at once; rethrows the first exception on this thread.
void run_threads(int n, const std::function<void(int)>& f) {
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(n));
  std::vector<std::thread> threads;
  for (int k = 0; k < n; ++k) {
    threads.emplace_back([&, k] {
      try {
        f(k);
      } catch (...) {
        errors[static_cast<std::size_t>(k)] = std::current_exception();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

}  // namespace

TEST_CASE("several threads train models of their own at once, as each would alone", "[threads]") {
  constexpr int n = 4, steps = 1500;
  std::vector<ParamStore> stores(n);
  std::vector<Fitted> parallel(n);
  std::vector<double> bnn_loss(n);
  run_threads(n, [&](int k) {
    parallel[std::size_t(k)] = train_normal_mean(k, stores[std::size_t(k)], steps);
    ParamStore bnn_store;
    bnn_loss[std::size_t(k)] = train_bnn(k, bnn_store, 300);
  });
  for (int k = 0; k < n; ++k) {
    // The same run on this thread alone gives the same numbers, bit for bit: nothing a thread
    // uses (tape, generator, handler stack, store, optimizer) is touched by the others.
    ParamStore alone;
    const Fitted serial = train_normal_mean(k, alone, steps);
    CHECK(parallel[std::size_t(k)].loc(0, 0) == serial.loc(0, 0));
    CHECK(parallel[std::size_t(k)].scale(0, 0) == serial.scale(0, 0));
    ParamStore bnn_alone;
    CHECK(bnn_loss[std::size_t(k)] == train_bnn(k, bnn_alone, 300));
    // And the fit is the conjugate posterior.
    const Matrix x = data_for(k);
    CHECK(std::abs(parallel[std::size_t(k)].loc(0, 0) - x.sum() / 21.0) < 0.1);
    CHECK(std::abs(parallel[std::size_t(k)].scale(0, 0) - 1 / std::sqrt(21.0)) < 0.1);
  }
  CHECK(param_store().size() == 0);  // the process's store was never touched
}

TEST_CASE("NUTS chains run on threads while other threads train by SVI", "[threads]") {
  // Two MCMC runs of four chains each (every chain on a thread of its own) and two SVI runs,
  // all at once: ten threads. Each MCMC run is the same as when run alone.
  const Matrix x = data_for(2);
  auto model = [](const Matrix& data) { normal_mean_model(data); };
  auto nuts = [&](std::uint64_t seed) {
    MCMCOptions options;
    options.seed = seed;
    options.progress = nullptr;
    MCMC mcmc(NUTS{model}, 200, 200, 4, options);
    mcmc.run(x);
    return mcmc.get_samples().flat("z");
  };
  std::vector<Matrix> draws(2);
  std::vector<ParamStore> stores(2);
  run_threads(4, [&](int k) {
    if (k < 2) {
      draws[std::size_t(k)] = nuts(std::uint64_t(k));
    } else {
      train_normal_mean(k, stores[std::size_t(k - 2)], 1000);
    }
  });
  for (int k = 0; k < 2; ++k) {
    CHECK(draws[std::size_t(k)] == nuts(std::uint64_t(k)));
    CHECK(std::abs(draws[std::size_t(k)].mean() - x.sum() / 21.0) < 0.1);
  }
}

TEST_CASE("Predictive runs on several threads at once, each on a copy of the fitted store",
          "[threads]") {
  ParamStore fitted;
  train_normal_mean(3, fitted, 1000);
  constexpr int n = 4;
  std::vector<double> means(n);
  run_threads(n, [&](int k) {
    ParamStore mine = fitted.clone();  // reading the fitted store from several threads is safe
    ParamStoreScope use(mine);
    set_rng_seed(static_cast<std::uint64_t>(50 + k));
    Predictive predictive(&normal_mean_model, &normal_mean_guide, 400, {"z"});
    means[std::size_t(k)] = predictive(data_for(3)).mean("z")(0, 0);
  });
  const double loc = fitted.entry("loc").unconstrained.matrix()(0, 0);
  for (double m : means) CHECK(std::abs(m - loc) < 0.06);
}

TEST_CASE("a store used by a second thread during another thread's step is an error", "[threads]") {
  ParamStore shared;
  std::atomic<int> phase{0};
  std::string message;
  std::thread holder([&] {
    ParamStoreScope use(shared);
    param("w", Matrix::Ones(2, 1));  // this thread's tape now holds the store
    phase = 1;
    while (phase.load() != 2) std::this_thread::yield();
    tape().reset();  // the step ends: the store is free again
    phase = 3;
  });
  while (phase.load() != 1) std::this_thread::yield();
  {
    ParamStoreScope use(shared);
    CHECK_THROWS_AS(param("w"), ConcurrentUseError);
    CHECK_THROWS_WITH(param("v", Matrix::Ones(1, 1)),
                      Contains("param 'v'") && Contains("in use by another thread"));
    CHECK_THROWS_AS(shared.save("unused.vps"), ConcurrentUseError);
    CHECK_THROWS_AS(shared.clear(), ConcurrentUseError);
    phase = 2;
    while (phase.load() != 3) std::this_thread::yield();
    // Handed over: this thread may use it now.
    CHECK(param("w").matrix() == Matrix::Ones(2, 1));
    tape().reset();
  }
  holder.join();
}

TEST_CASE("a thread that ends mid-step lets go of what its tape held", "[threads]") {
  ParamStore store;
  std::thread([&] {
    ParamStoreScope use(store);
    param("w", Matrix::Ones(1, 1));
  }).join();
  ParamStoreScope use(store);
  CHECK(param("w").item() == 1);
  tape().reset();
}

TEST_CASE("a parameter Tensor on two threads' tapes at once is an error", "[threads]") {
  Tensor w = Tensor::variable(Matrix::Ones(2, 2));
  std::atomic<int> phase{0};
  std::thread holder([&] {
    const Tensor y = sum(w * w);  // w enters this thread's tape
    phase = 1;
    while (phase.load() != 2) std::this_thread::yield();
    tape().reset();
  });
  while (phase.load() != 1) std::this_thread::yield();
  CHECK_THROWS_WITH(sum(w * 2), Contains("another thread's tape"));
  phase = 2;
  holder.join();
  CHECK(sum(w).item() == 4);  // free again after the other step ended
  tape().reset();
}

namespace {
// An optimizer whose update waits until told to go on, so that a test can hold a step open.
class Paused : public SGD {
 public:
  Paused(std::atomic<int>& phase) : SGD(0.1), phase_(phase) {}

 protected:
  void update(State& s, Chunk& c, Scalar lr) override {
    phase_ = 1;
    while (phase_.load() != 2) std::this_thread::yield();
    SGD::update(s, c, lr);
  }

 private:
  std::atomic<int>& phase_;
};
}  // namespace

TEST_CASE("an optimizer stepped by two threads at once is an error", "[threads]") {
  std::atomic<int> phase{0};
  Paused sgd(phase);
  ParamStore a, b;
  std::thread first([&] {
    ParamStoreScope use(a);
    TapeStep step;
    sum(param("w", Matrix::Ones(1, 1))).backward();
    sgd.step();
  });
  while (phase.load() != 1) std::this_thread::yield();
  {
    ParamStoreScope use(b);
    TapeStep step;
    sum(param("w", Matrix::Ones(1, 1))).backward();
    CHECK_THROWS_WITH(sgd.step(), Contains("one thread at a time"));
  }
  phase = 2;
  first.join();
  CHECK(a.get("w").item() == Approx(0.9));
  tape().reset();
}

TEST_CASE("split ops: models with large products train on several threads at once", "[threads]") {
  // With two threads allowed per op, the first model to reach a large product (or a large
  // parameter's update) gets the pool's worker and the others run theirs whole: every model
  // still trains exactly as it would alone.
  struct Restore {
    int saved = num_threads();
    ~Restore() { set_num_threads(saved); }
  } restore;
  set_num_threads(2);
  // A 256-320-1 network on 256 points: its first layer's products (256 x 256 x 320, forward and
  // backward) are large enough to split.
  auto train = [](int k, int steps) {
    ParamStore store;
    ParamStoreScope use(store);
    Rng rng(50 + static_cast<std::uint64_t>(k));
    const Matrix X = rng.normal(256, 256), y = rng.normal(256, 1);
    Adam adam(0.01);
    double loss = 0;
    for (int t = 0; t < steps; ++t) {
      tape().reset();
      const Tensor W = param("W", [&] { return Matrix(Rng(3).normal(256, 320) * 0.05); });
      const Tensor v = param("v", Matrix::Zero(320, 1));
      const Tensor residual = matmul(tanh(matmul(Tensor(X), W)), v) - Tensor(y);
      const Tensor l = sum(square(residual));
      l.backward();
      adam.step(store);
      loss = static_cast<double>(l.item());
    }
    tape().reset();
    return loss;
  };
  constexpr int n = 3, steps = 5;
  std::vector<double> parallel(n);
  run_threads(n, [&](int k) { parallel[std::size_t(k)] = train(k, steps); });
  for (int k = 0; k < n; ++k) {
    set_num_threads(1);
    const double alone = train(k, steps);
    // A product split in blocks sums the same terms; the tolerance allows another order.
    CHECK(std::abs(parallel[std::size_t(k)] - alone) <= 1e-4 * std::abs(alone));
    set_num_threads(2);
  }
}

TEST_CASE("a site's distribution may be freed on another thread than the one that made it",
          "[threads]") {
  // A trace recorded on one thread and dropped on another frees its distributions there: the
  // blocks join that thread's lists (or go to the C library once its lists are gone).
  auto recorded = std::make_unique<Trace>();
  std::thread maker([&] {
    auto tr = trace();
    for (int k = 0; k < 100; ++k) sample("z_" + std::to_string(k), Normal(0, 1));
    *recorded = tr.take_trace();
    tape().reset();
  });
  maker.join();
  REQUIRE(recorded->size() == 100);
  std::thread dropper([&] {
    recorded.reset();
    // This thread's lists now hold those blocks and serve them again.
    auto tr = trace();
    for (int k = 0; k < 100; ++k) sample("w_" + std::to_string(k), Normal(0, 1));
    CHECK(tr.get_trace().size() == 100);
  });
  dropper.join();
}
