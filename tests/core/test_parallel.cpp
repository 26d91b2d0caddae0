// Intra-op parallelism (core/parallel.hpp): a split op gives what the unsplit one gives, every
// part runs once, errors reach the caller, a second thread's op runs whole on its own thread
// while the pool is busy, ops run whole for a while when the pool's workers do not help, and the
// clock's judge keeps whichever of cut and whole ops is faster.
#include <atomic>
#include <chrono>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

using namespace vesta;

namespace {

// Restores the thread count a test changed.
struct ThreadCount {
  int saved = num_threads();
  explicit ThreadCount(int n) { set_num_threads(n); }
  ~ThreadCount() { set_num_threads(saved); }
};

// Relative tolerance of a product computed in blocks: the same sums, possibly in another order.
constexpr double kRel = sizeof(Scalar) == 4 ? 1e-5 : 1e-12;

}  // namespace

TEST_CASE("set_num_threads takes a positive count", "[parallel]") {
  ThreadCount keep(1);
  CHECK_THROWS_AS(set_num_threads(0), ValueError);
  set_num_threads(3);
  CHECK(num_threads() == 3);
  set_num_threads(1000);
  CHECK(num_threads() == 64);
}

TEST_CASE("part_range covers the range once, on aligned boundaries", "[parallel]") {
  for (const Index n : {1, 7, 16, 100, 785}) {
    for (const int parts : {1, 2, 3, 8}) {
      Index next = 0;
      for (int p = 0; p < parts; ++p) {
        const auto [first, len] = detail::part_range(n, parts, p, 16);
        CHECK(first == next);
        CHECK(len >= 0);
        if (len > 0 && first + len < n) CHECK((first + len) % 16 == 0);
        next = first + len;
      }
      CHECK(next == n);
    }
  }
}

TEST_CASE("run_parts runs every part once and rethrows a part's exception", "[parallel]") {
  ThreadCount two(2);
  std::vector<std::atomic<int>> runs(5);
  auto count = [&](int part) { runs[std::size_t(part)].fetch_add(1); };
  for (int repeat = 0; repeat < 200; ++repeat) detail::run_parts(5, detail::PartFn(count));
  for (const auto& r : runs) CHECK(r.load() == 200);

  auto fail = [](int part) {
    if (part == 1) throw std::runtime_error("part 1 failed");
  };
  CHECK_THROWS_WITH(detail::run_parts(3, detail::PartFn(fail)), "part 1 failed");
  // The pool is usable after an error.
  for (auto& r : runs) r.store(0);
  detail::run_parts(5, detail::PartFn(count));
  for (const auto& r : runs) CHECK(r.load() == 1);
}

TEST_CASE("a matrix product split across threads equals the unsplit one", "[parallel]") {
  Rng rng(11);
  // Shapes of the VAE's products (large enough to split; a weight gradient of more rows than
  // columns is cut by columns too; the decoder's first layer, cut for the size of its result),
  // one with too few columns to cut by (cut by rows) and a small one (never split), in the
  // three forms matmul uses: A B, G B^T and A^T G, written and accumulated.
  struct Shape {
    Index r, k, c;
  };
  for (const Shape s : {Shape{128, 784, 400}, Shape{400, 128, 784}, Shape{784, 128, 400},
                        Shape{128, 10, 400}, Shape{2048, 400, 20}, Shape{5, 3, 4}}) {
    const Matrix A = rng.normal(s.r, s.k), B = rng.normal(s.k, s.c);
    const Matrix Bt = B.transpose(), At = A.transpose();
    const Matrix base = rng.normal(s.r, s.c);
    Matrix one(s.r, s.c), two(s.r, s.c), one_t(s.r, s.c), two_t(s.r, s.c);
    Matrix one_add = base, two_add = base, one_tt = base, two_tt = base;
    {
      ThreadCount t(1);
      detail::gemm(MatrixMap(one.data(), s.r, s.c), A, B, false);
      detail::gemm(MatrixMap(one_t.data(), s.r, s.c), A, Bt.transpose(), false);
      detail::gemm(MatrixMap(one_add.data(), s.r, s.c), A, B, true);
      detail::gemm(MatrixMap(one_tt.data(), s.r, s.c), At.transpose(), B, true);
    }
    {
      ThreadCount t(2);
      detail::gemm(MatrixMap(two.data(), s.r, s.c), A, B, false);
      detail::gemm(MatrixMap(two_t.data(), s.r, s.c), A, Bt.transpose(), false);
      detail::gemm(MatrixMap(two_add.data(), s.r, s.c), A, B, true);
      detail::gemm(MatrixMap(two_tt.data(), s.r, s.c), At.transpose(), B, true);
    }
    const Matrix exact = A * B;
    const double scale = exact.norm();
    CHECK((one - exact).norm() <= kRel * scale);
    CHECK((two - one).norm() <= kRel * scale);
    CHECK((two_t - one_t).norm() <= kRel * scale);
    CHECK((two_add - one_add).norm() <= kRel * scale);
    CHECK((two_tt - one_tt).norm() <= kRel * scale);
    CHECK((one_add - base - exact).norm() <= kRel * scale);
  }
}

TEST_CASE("matmul's and linear's values and gradients do not depend on the thread count",
          "[parallel]") {
  Rng rng(12);
  const Matrix x = rng.normal(128, 784), w0 = rng.normal(784, 400), b0 = rng.normal(1, 400),
               v0 = rng.normal(400, 30);
  auto run = [&](int threads) {
    ThreadCount t(threads);
    tape().reset();
    const Tensor W = Tensor::variable(w0), B = Tensor::variable(b0), V = Tensor::variable(v0);
    const Tensor loss = sum(square(matmul(tanh(linear(Tensor(x), W, B)), V)));
    loss.backward();
    return std::tuple{loss.item(), W.grad(), B.grad(), V.grad()};
  };
  const auto [l1, gw1, gb1, gv1] = run(1);
  const auto [l2, gw2, gb2, gv2] = run(2);
  CHECK(std::abs(l2 - l1) <= kRel * std::abs(l1));
  CHECK((gw2 - gw1).norm() <= kRel * gw1.norm());
  CHECK((gb2 - gb1).norm() <= kRel * gb1.norm());
  CHECK((gv2 - gv1).norm() <= kRel * gv1.norm());
}

TEST_CASE(
    "elementwise ops, the weight KL and the soft-target likelihood split across threads give the "
    "unsplit results",
    "[parallel]") {
  // 300 x 400 entries, or a VAE's hidden layer of 128 x 400: two stretches at two threads; a
  // 100 x 100 op stays whole.
  {
    ThreadCount t(2);
    CHECK(detail::elementwise_parts(300 * 400) == 2);
    CHECK(detail::elementwise_parts(128 * 400) == 2);
    CHECK(detail::elementwise_parts(100 * 100) == 1);
  }
  {
    ThreadCount t(1);
    CHECK(detail::elementwise_parts(300 * 400) == 1);
  }
  Rng rng(15);
  const Matrix x0 = rng.normal(300, 400), w0 = rng.normal(300, 400), t0 = rng.uniform(300, 400);
  const Scalar prior = Scalar(0.7);
  auto run = [&](int threads) {
    ThreadCount t(threads);
    tape().reset();
    const Tensor x = Tensor::variable(x0), w = Tensor::variable(w0), targets = Tensor::variable(t0);
    // x reaches the loss through several ops, so its gradient is assigned once and then added
    // to; the KL's scale is itself a split op's result; the soft targets of a Bernoulli with
    // logits x get a gradient too.
    const Tensor scale = softplus(w);
    const Tensor loss = sum(exp(x * Scalar(0.1))) + sum(tanh(x) * Tensor(w0)) + sum(square(x)) +
                        normal_kl_to_centered_sum(x, scale, Tensor(prior)) +
                        sum(Bernoulli::from_logits(x).with_soft_targets().log_prob(targets));
    loss.backward();
    const Matrix constant = exp(Tensor(x0 * Scalar(0.1))).matrix();
    return std::tuple{loss.item(), x.grad(), w.grad(), targets.grad(), constant};
  };
  const auto [l1, gx1, gw1, gt1, c1] = run(1);
  const auto [l2, gx2, gw2, gt2, c2] = run(2);
  CHECK(std::abs(l2 - l1) <= kRel * std::abs(l1));
  CHECK((gx2 - gx1).norm() <= kRel * gx1.norm());
  CHECK((gw2 - gw1).norm() <= kRel * gw1.norm());
  CHECK((gt2 - gt1).norm() <= kRel * gt1.norm());
  CHECK((c2 - c1).norm() <= kRel * c1.norm());
  // Each entry's gradient is its own: the last stretch's entries are right too.
  const Index r = 299, c = 399;
  const Scalar x = x0(r, c), w = w0(r, c), target = t0(r, c);
  const Scalar s = w > 0 ? w + std::log1p(std::exp(-w)) : std::log1p(std::exp(w));
  const Scalar dx = Scalar(0.1) * std::exp(Scalar(0.1) * x) +
                    (1 - std::tanh(x) * std::tanh(x)) * w + 2 * x + x / (prior * prior) + target -
                    1 / (1 + std::exp(-x));
  CHECK(gx2(r, c) == Approx(dx).epsilon(sizeof(Scalar) == 4 ? 1e-4 : 1e-10));
  const Scalar sigmoid_w = 1 / (1 + std::exp(-w));
  const Scalar dw = (s / (prior * prior) - 1 / s) * sigmoid_w;
  CHECK(gw2(r, c) == Approx(dw).epsilon(sizeof(Scalar) == 4 ? 1e-4 : 1e-10));
  CHECK(gt2(r, c) == Approx(x).epsilon(sizeof(Scalar) == 4 ? 1e-4 : 1e-10));
}

TEST_CASE("an optimizer's update split across threads is the same update", "[parallel]") {
  // 300,000 entries: several parts at two threads. Elementwise, so equal bit for bit.
  auto run = [](int threads) {
    ThreadCount t(threads);
    ParamStore store;
    ParamStoreScope use(store);
    Rng rng(13);
    const Matrix target = rng.normal(600, 500);
    Adam adam(0.01);
    for (int step = 0; step < 3; ++step) {
      tape().reset();
      const Tensor w = param("w", Matrix::Zero(600, 500));
      sum(square(w - Tensor(target))).backward();
      adam.step(store);
    }
    return store.get("w").matrix();
  };
  CHECK(run(2) == run(1));
}

TEST_CASE("a diverging update split across threads names its first entry", "[parallel]") {
  ThreadCount two(2);
  ParamStore store;
  ParamStoreScope use(store);
  SGD sgd(Scalar(1e30));
  tape().reset();
  Matrix big = Matrix::Ones(600, 500);
  // Entry 180007, in the second half (a worker's part): its update overflows.
  big(7, 300) = std::numeric_limits<Scalar>::max() / 4;
  const Tensor w = param("w", Matrix::Zero(600, 500));
  sum(w * Tensor(big)).backward();
  CHECK_THROWS_WITH(sgd.step(store), Catch::Contains("param 'w'") && Catch::Contains("[7, 300]"));
  CHECK(store.get("w").matrix().isZero());  // nothing was updated
}

TEST_CASE("the pool judges its workers by the share of parts they ran", "[parallel]") {
  constexpr int jobs = detail::HelpJudge::kJobs;
  SECTION("workers that ran none of the parts, or less than an eighth, did not help") {
    detail::HelpJudge judge;
    for (int j = 1; j < jobs; ++j) CHECK_FALSE(judge.count(2, 0));
    CHECK(judge.count(2, 0));  // the group's last job gives the verdict
    // 2 x 64 parts, 15 of them by the workers: 15 x 8 < 128.
    for (int j = 1; j < jobs; ++j) CHECK_FALSE(judge.count(2, j <= 15 ? 1 : 0));
    CHECK(judge.count(2, 0));
  }
  SECTION("workers that ran an eighth of the parts or more helped") {
    detail::HelpJudge judge;
    for (int j = 1; j <= jobs; ++j) CHECK_FALSE(judge.count(2, j <= 16 ? 1 : 0));  // 16 x 8 = 128
    for (int j = 1; j <= jobs; ++j) CHECK_FALSE(judge.count(4, 3));
  }
}

TEST_CASE("the pool judges by the clock whether cut or whole ops are faster", "[parallel]") {
  using Judge = detail::SpeedJudge;
  // Feeds windows that take `cut` seconds when cut and `whole` when whole; returns the verdicts.
  auto run = [](Judge& judge, int windows, double cut, double whole) {
    std::vector<bool> verdicts;
    bool next_whole = false;
    for (int w = 0; w < windows; ++w) {
      next_whole = judge.next(next_whole ? whole : cut);
      verdicts.push_back(next_whole);
    }
    return verdicts;
  };
  // The windows after which the mode in force changes, or a probe runs the other one.
  auto probes = [](const std::vector<bool>& verdicts, bool in_force) {
    std::vector<int> at;
    for (std::size_t w = 0; w < verdicts.size(); ++w) {
      if (verdicts[w] != in_force) at.push_back(int(w) + 1);
    }
    return at;
  };
  SECTION("while cut ops are faster, whole ones are tried at longer and longer intervals") {
    Judge judge;
    const std::vector<bool> verdicts = run(judge, 200, 1, 1.6);
    // The first window is not compared; one window in force, then a probe, then one more in
    // force to compare it with; then 16, 32, 64, 64 windows between probes.
    CHECK(probes(verdicts, false) == std::vector<int>{2, 20, 54, 120, 186});
    CHECK_FALSE(judge.whole());
  }
  SECTION("whole ops faster by more than the margin take over, and cut ones may take back") {
    Judge judge;
    std::vector<bool> verdicts = run(judge, 4, 1, 1 - 1.5 * Judge::kMargin);
    CHECK(verdicts == std::vector<bool>{false, true, false, true});
    CHECK(judge.whole());
    // Whole ops in force: a cut window after kMinInterval windows, and it wins now.
    verdicts = run(judge, Judge::kMinInterval + 2, 0.5, 1);
    CHECK(probes(verdicts, true) == std::vector<int>{Judge::kMinInterval, Judge::kMinInterval + 2});
    CHECK_FALSE(judge.whole());
  }
  SECTION("a probe faster by less than the margin changes nothing") {
    Judge judge;
    run(judge, 4, 1, 1 - 0.5 * Judge::kMargin);
    CHECK_FALSE(judge.whole());
  }
  SECTION("a probe is compared with the mean of the windows before and after it") {
    Judge judge;
    // Cut windows of 1 and then 1.1 (the machine slowed down): a whole probe of 1.02 is not
    // faster than their mean by the margin (4%), though faster than the one after it.
    for (const double seconds : {1.0, 1.0}) judge.next(seconds);
    judge.next(1.02);
    CHECK_FALSE(judge.next(1.1));
    // A probe of 1.0 is.
    Judge other;
    for (const double seconds : {1.0, 1.0, 1.0}) other.next(seconds);
    CHECK(other.next(1.1));
  }
}

TEST_CASE("a layer's weight KL gives the same bits on one thread and on two", "[parallel]") {
  Rng rng(21);
  const Matrix loc0 = rng.normal(785, 400) * Scalar(0.1);
  const Matrix scale0 = (rng.uniform(785, 400).array() * Scalar(0.2) + Scalar(0.01)).matrix();
  auto kl = [&](int threads) {
    ThreadCount count(threads);
    tape().reset();
    const Tensor loc = Tensor::variable(loc0), scale = Tensor::variable(scale0);
    const Tensor total = normal_kl_to_centered_sum(loc, scale, Tensor(Scalar(1)));
    total.backward();
    const auto out = std::tuple{total.item(), loc.grad(), scale.grad()};
    tape().reset();
    return out;
  };
  const auto [one, one_dloc, one_dscale] = kl(1);
  const auto [two, two_dloc, two_dscale] = kl(2);
  CHECK(one == two);
  CHECK(one_dloc == two_dloc);
  CHECK(one_dscale == two_dscale);
  // And the blocks' sums add up to the closed form, to rounding.
  const Array m = loc0.array(), s = scale0.array();
  const double expected =
      double((Scalar(0.5) * (s.square() + m.square()) - s.log() - Scalar(0.5)).sum());
  CHECK(double(one) == Approx(expected).epsilon(sizeof(Scalar) == 4 ? 1e-4 : 1e-10));
}

TEST_CASE("while the pool runs ops whole, parts_for cuts nothing; the result is the same",
          "[parallel]") {
  ThreadCount two(2);
  const double work = 64 * detail::kElementwiseMinPerPart;
  REQUIRE(detail::parts_for(work, detail::kElementwiseMinPerPart) == 2);
  detail::run_ops_alone(3);
  for (int op = 0; op < 3; ++op)
    CHECK(detail::parts_for(work, detail::kElementwiseMinPerPart) == 1);
  CHECK(detail::parts_for(work, detail::kElementwiseMinPerPart) == 2);
  // Small ops are not counted: they were never cut.
  detail::run_ops_alone(1);
  CHECK(detail::parts_for(1, detail::kElementwiseMinPerPart) == 1);
  CHECK(detail::parts_for(work, detail::kElementwiseMinPerPart) == 1);
  // A product counts as one op, whichever of its sizes (multiply-adds, entries of its result)
  // would have it cut.
  {
    Rng rng(17);
    const Matrix a = rng.normal(128, 784), b = rng.normal(784, 400);
    Matrix c(128, 400);
    detail::run_ops_alone(2);
    detail::gemm(MatrixMap(c.data(), 128, 400), a, b, false);
    CHECK(detail::parts_for(work, detail::kElementwiseMinPerPart) == 1);
    CHECK(detail::parts_for(work, detail::kElementwiseMinPerPart) == 2);
    CHECK((c - a * b).norm() <= kRel * (a * b).norm());
  }
  // A new thread count starts afresh.
  detail::run_ops_alone(100);
  set_num_threads(2);
  CHECK(detail::parts_for(work, detail::kElementwiseMinPerPart) == 2);

  // A step of split ops (products, elementwise ops, the weight KL, the soft-target likelihood,
  // an optimizer's update) gives the same bits whether its ops were cut or ran whole.
  auto step = [](bool whole) {
    ParamStore store;
    ParamStoreScope use(store);
    Rng rng(16);
    const Matrix x = rng.normal(128, 785), targets = rng.uniform(128, 400);
    Adam adam(0.01);
    tape().reset();
    detail::run_ops_alone(whole ? 1000 : 0);
    const Tensor loc = param("loc", [] { return Matrix(Rng(4).normal(785, 400) * 0.05); });
    const Tensor scale =
        param("scale", Matrix::Constant(785, 400, Scalar(0.1)), constraints::positive());
    const Tensor logits = matmul(Tensor(x), loc) + matmul(square(Tensor(x)), square(scale));
    const Tensor loss =
        normal_kl_to_centered_sum(loc, scale, Tensor(Scalar(1))) -
        sum(Bernoulli::from_logits(softplus(logits)).with_soft_targets().log_prob(Tensor(targets)));
    loss.backward();
    adam.step(store);
    detail::run_ops_alone(0);
    return std::tuple{loss.item(), store.get("loc").matrix(), store.get("scale").matrix()};
  };
  const auto [cut_loss, cut_loc, cut_scale] = step(false);
  const auto [whole_loss, whole_loc, whole_scale] = step(true);
  CHECK(whole_loss == cut_loss);
  CHECK(whole_loc == cut_loc);
  CHECK(whole_scale == cut_scale);
  tape().reset();
}

TEST_CASE("workers that take their parts keep the pool cutting ops", "[parallel]") {
  ThreadCount two(2);
  // Part 0 (the caller's) waits until part 1 has started, which only a worker can do meanwhile:
  // the workers run half of every job's parts.
  std::atomic<int> started{0};
  std::atomic<bool> gave_up{false};
  auto meet = [&](int) {
    started.fetch_add(1);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (started.load() % 2 != 0) {
      if (std::chrono::steady_clock::now() > until) {
        gave_up = true;
        return;
      }
      std::this_thread::yield();
    }
  };
  for (int job = 0; job < 3 * detail::HelpJudge::kJobs; ++job) {
    detail::run_parts(2, detail::PartFn(meet));
  }
  REQUIRE_FALSE(gave_up.load());
  CHECK(detail::parts_for(64 * detail::kElementwiseMinPerPart, detail::kElementwiseMinPerPart) ==
        2);
}

TEST_CASE("ops of two threads at once: one uses the pool, the other runs whole", "[parallel]") {
  ThreadCount two(2);
  Rng rng(14);
  const Matrix a = rng.normal(256, 512), b = rng.normal(512, 256);
  const Matrix exact = a * b;
  std::vector<double> errors(2, 0);
  std::vector<std::thread> threads;
  for (int k = 0; k < 2; ++k) {
    threads.emplace_back([&, k] {
      Matrix c(256, 256);
      for (int repeat = 0; repeat < 20; ++repeat) {
        detail::gemm(MatrixMap(c.data(), 256, 256), a, b, false);
        errors[std::size_t(k)] = std::max(errors[std::size_t(k)], double((c - exact).norm()));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(errors[0] <= kRel * exact.norm());
  CHECK(errors[1] <= kRel * exact.norm());
}
