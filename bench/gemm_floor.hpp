// The GEMM floor of a dense training step, shared by bench/bnn_step, bench/vae_step and their
// size sweeps: the list of a step's matrix products (which gives its GEMM flop count), the
// same products done bare on preallocated matrices, by the kernel the step uses (what the step
// would cost if it were nothing but its GEMMs) and by Eigen's own product, and the measurement
// the sweeps print for each size.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "timing.hpp"

namespace vesta::bench {

/// One layer's product y = x W (x: rows x inner, W: inner x cols) and the GEMMs the tape
/// runs for it: forward x W, backward dW = x^T G always (W is a param) and dx = G W^T when
/// x needs a gradient (is not data).
struct Product {
  Index rows, inner, cols;
  bool input_grad;

  /// 2 flops per multiply-add, over the forward and backward GEMMs.
  double flops() const {
    return 2.0 * double(rows) * double(inner) * double(cols) * (input_grad ? 3 : 2);
  }
};

/// The GEMM flops of a step made of `products`.
inline double gemm_flops(const std::vector<Product>& products) {
  double total = 0;
  for (const Product& p : products) total += p.flops();
  return total;
}

/// The products of a step done bare: each has its own preallocated operands (as each of the
/// step's layers has its own), and run() does every product's GEMMs as the tape does them
/// (same shapes, same transposes, same scalar type, column-major, no aliasing), split over
/// threads as the step's are (detail::gemm, num_threads()).
class BareGemms {
 public:
  explicit BareGemms(const std::vector<Product>& products) {
    for (const Product& p : products) {
      operands_.push_back({p.input_grad, Matrix::Random(p.rows, p.inner),
                           Matrix::Random(p.inner, p.cols), Matrix(p.rows, p.cols),
                           Matrix::Random(p.rows, p.cols), Matrix(p.inner, p.cols),
                           Matrix(p.input_grad ? p.rows : 0, p.input_grad ? p.inner : 0)});
    }
  }

  void run() {
    for (Operands& o : operands_) {
      detail::gemm(MatrixMap(o.y.data(), o.y.rows(), o.y.cols()), o.x, o.w, false);
      detail::gemm(MatrixMap(o.dw.data(), o.dw.rows(), o.dw.cols()), o.x.transpose(), o.g, false);
      if (o.input_grad) {
        detail::gemm(MatrixMap(o.dx.data(), o.dx.rows(), o.dx.cols()), o.g, o.w.transpose(), false);
      }
    }
  }

  /// The same products by Eigen's own GEMM, as a user of Eigen writes them (one thread; its
  /// blocks from malloc): the reference the size sweeps' eigen_gemm_ratio is taken against.
  void run_eigen() {
    for (Operands& o : operands_) {
      o.y.noalias() = o.x * o.w;
      o.dw.noalias() = o.x.transpose() * o.g;
      if (o.input_grad) o.dx.noalias() = o.g * o.w.transpose();
    }
  }

 private:
  struct Operands {
    bool input_grad;
    Matrix x, w, y, g, dw, dx;
  };
  std::vector<Operands> operands_;
};

/// How many calls of `fn` make a batch of about `batch_seconds`, between 1 and 1000: from the
/// fastest of a few calls (after one warm-up call), which a busy machine disturbs least.
template <class F>
int calls_per_batch(F& fn, double batch_seconds) {
  using Clock = std::chrono::steady_clock;
  fn();
  double fastest = 1e9, spent = 0;
  for (int i = 0; i < 10 && spent < batch_seconds; ++i) {
    const auto start = Clock::now();
    fn();
    const double t = std::chrono::duration<double>(Clock::now() - start).count();
    fastest = std::min(fastest, t);
    spent += t;
  }
  return static_cast<int>(std::clamp(batch_seconds / std::max(fastest, 1e-9), 1.0, 1000.0));
}

/// One size of a sweep: the step and its bare GEMMs timed alike.
struct FloorMeasurement {
  StepTiming step;   // the training step
  StepTiming gemm;   // the same GEMMs, bare
  StepTiming eigen;  // the same GEMMs by Eigen's own product
  double flops;      // GEMM flops per step
  int calls;         // step calls per timed batch
};

/// Times `step`, the bare GEMMs of `products` and the same by Eigen's product with time_steps,
/// in `rounds` alternating rounds of 5 batches each (so that both meet the same load when the
/// machine is shared), keeping for each the round with the smallest median; the batches are sized
/// so that the whole measurement takes about `budget_seconds`.
template <class F>
FloorMeasurement measure_against_gemm_floor(F&& step, const std::vector<Product>& products,
                                            double budget_seconds, int rounds = 3) {
  constexpr int kBatches = 5;
  // Per round and kind: one warm-up batch and kBatches timed ones.
  const double batch_seconds = budget_seconds / double(3 * rounds * (kBatches + 1));
  BareGemms bare(products);
  const auto gemms = [&] { bare.run(); };
  const auto eigen_gemms = [&] { bare.run_eigen(); };
  FloorMeasurement m{};
  m.flops = gemm_flops(products);
  m.calls = calls_per_batch(step, batch_seconds);
  const int gemm_calls = calls_per_batch(gemms, batch_seconds);
  const int eigen_calls = calls_per_batch(eigen_gemms, batch_seconds);
  const auto keep_best = [](StepTiming& best, const StepTiming& t, int round) {
    if (round == 0) {
      best = t;
      return;
    }
    best.wall = std::min(best.wall, t.wall);
    best.cpu = std::min(best.cpu, t.cpu);
    best.faults = std::max(best.faults, t.faults);
  };
  for (int r = 0; r < rounds; ++r) {
    keep_best(m.step, time_steps(step, m.calls, kBatches), r);
    keep_best(m.gemm, time_steps(gemms, gemm_calls, kBatches), r);
    keep_best(m.eigen, time_steps(eigen_gemms, eigen_calls, kBatches), r);
  }
  return m;
}

/// The JSON line of one size: `head` holds the bench's own leading members (`"bench": ...,
/// "batch": ...`), then the figures every sweep prints. gemm_ratio is the bare GEMMs' wall
/// time over the step's; gemm_cpu_ratio the same with thread CPU times, steadier on a shared
/// machine but meaningful only with one thread (the CPU time is the calling thread's).
/// eigen_gemm_ratio and eigen_gemm_cpu_ratio take Eigen's own product of the same GEMMs
/// instead, which runs on one thread: with more, only the step and the bare GEMMs use them.
inline void print_floor_line(const std::string& head, const FloorMeasurement& m, double loss) {
  fmt::print(R"({{{}, "scalar": "{}", "us_per_step": {:.1f}, "cpu_us_per_step": {:.1f}, )"
             R"("mflop_per_step": {:.1f}, "gflops": {:.2f}, "page_faults_per_step": {:.1f}, )"
             R"("threads": {}, "gemm_us": {:.1f}, "gemm_cpu_us": {:.1f}, "gemm_ratio": {:.3f}, )"
             R"("gemm_cpu_ratio": {:.3f}, "eigen_gemm_us": {:.1f}, "eigen_gemm_ratio": {:.3f}, )"
             R"("eigen_gemm_cpu_ratio": {:.3f}, "calls": {}, "loss": {:.6g}}})"
             "\n",
             head, scalar_name(), m.step.wall * 1e6, m.step.cpu * 1e6, m.flops * 1e-6,
             m.flops / m.step.wall * 1e-9, m.step.faults, num_threads(), m.gemm.wall * 1e6,
             m.gemm.cpu * 1e6, m.gemm.wall / m.step.wall, m.gemm.cpu / m.step.cpu,
             m.eigen.wall * 1e6, m.eigen.wall / m.step.wall, m.eigen.cpu / m.step.cpu, m.calls,
             loss);
  std::fflush(stdout);
}

}  // namespace vesta::bench
