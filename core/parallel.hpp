// Intra-op parallelism: one large op split across a few threads. A matrix product big enough to
// pay for waking a thread is cut into blocks of its result's columns (or rows), one per thread;
// a large elementwise op (unary_op's functions, a layer's weight KL, the Bernoulli likelihood of
// soft targets) and the optimizer's update of a large parameter are cut into stretches of
// entries. Small ops, and every op of a tiny model, stay on the calling thread, so splitting
// costs them nothing.
//
// The threads are a process-wide pool: the calling thread runs one part itself and the pool's
// workers the others. While one thread's op uses the pool, an op of another thread (a second
// model trained at the same time) runs whole on its own thread rather than waiting. When the
// workers do not get a core of their own (another program keeps the others busy), they rarely
// take a part and the split only costs: the pool notices, and ops run whole on their caller for
// a while before it tries its workers again (HelpJudge). And when the workers take their parts
// but a cut op is slower all the same (a virtual machine's two vCPUs far apart, so that the next
// op reads a worker's results slowly), the clock tells: now and then a window of ops runs whole,
// and whichever way is faster goes on (SpeedJudge). A split op gives the same bits as the whole
// one (a sum is taken in blocks of a fixed size, whoever computes them), so none of this
// changes a result.
//
// How many threads an op may use: set_num_threads(n), or the environment variable
// VESTA_NUM_THREADS read once at the first use; the default is 1 (see the README's "Using both
// cores" for when to raise it).
#pragma once

#include <algorithm>
#include <type_traits>
#include <utility>
#include <vector>

#include <vesta/core/function_ref.hpp>
#include <vesta/core/level3.hpp>
#include <vesta/core/scalar.hpp>

namespace vesta {

/// Sets how many threads one large op may use, the calling thread included (1: every op runs on
/// its caller's thread). At least 1; capped at 64.
void set_num_threads(int n);
/// How many threads one large op may use (set_num_threads, else VESTA_NUM_THREADS, else 1).
int num_threads();

namespace detail {

/// A non-owning reference to a callable `void(int part)`: what run_parts hands its threads.
using PartFn = FunctionRef<void(int)>;

/// Runs body(0), ..., body(parts - 1) and returns when all have returned: part 0 on the calling
/// thread, the others on the pool's workers. With parts == 1, or while another thread's op holds
/// the pool, every part runs on the calling thread, in order. An exception thrown by a part is
/// rethrown here (the first one caught) once every part has finished.
void run_parts(int parts, const PartFn& body);

/// Into how many parts to cut a task of `work` units when each part should get at least
/// `min_work` of them: between 1 and num_threads(); 1 while the pool runs ops whole because its
/// workers did not help (HelpJudge) or because whole ops were faster (SpeedJudge). An op's
/// result must not depend on the cut: a sum over a large op's entries is taken by
/// sum_in_blocks.
int parts_for(double work, double min_work);

/// How the pool judges whether its workers help: fed every job it ran (its parts, and how many
/// of them the workers ran), it judges each kJobs jobs in turn. A worker that does not get a
/// core of its own (another program keeps the other core busy) rarely claims a part; but when
/// it does, the system may take the core from it in the middle of the part, and the caller
/// waits as long as the other program's turn lasts, hundreds of microseconds; and the parts the
/// caller runs one after the other cost more than the whole op (a product's operand is packed
/// once per part). Workers that ran less than an eighth of the parts did not help.
class HelpJudge {
 public:
  /// Jobs per judgement.
  static constexpr int kJobs = 64;
  /// Counts a job of `parts` parts, `by_workers` of which the workers ran; true when it ends a
  /// group of kJobs jobs in which the workers did not help.
  bool count(int parts, int by_workers) {
    parts_ += parts;
    by_workers_ += by_workers;
    if (++jobs_ < kJobs) return false;
    const bool helped = 8 * by_workers_ >= parts_;
    *this = HelpJudge();
    return !helped;
  }

 private:
  int jobs_ = 0, parts_ = 0, by_workers_ = 0;
};

/// Ops that the pool runs whole on their caller after its workers did not help, before it tries
/// them again: about 60 steps of the Fashion-MNIST BNN, which splits 8-9 ops a step.
inline constexpr int kOpsAlone = 512;

/// How the pool judges by the clock whether cutting ops pays. A virtual machine's two vCPUs are
/// sometimes near each other and sometimes not: at the times when one thread reads what the
/// other has just written at 3-4 GB/s instead of 12-15 (bench/core_rate's hand-off), a step of
/// mid-sized products (the Fashion-MNIST BNN's) is slower cut in two than whole, while a step of
/// larger ones (the VAE's) still gains 1.5x; only the clock tells which, and the host changes
/// it within seconds.
///
/// Judges windows of kOps ops that the pool could cut. One mode is in force (cut, at first);
/// now and then one window runs in the other mode (a probe), and when it took less time than
/// the mean of the windows just before and just after it, by kMargin, the other mode takes
/// over. A training loop repeats the same step, so windows of as many ops hold the same work.
/// Probes that change nothing come at longer and longer intervals (kMinInterval windows, then
/// twice as many, up to kMaxInterval), so a mode that keeps winning costs little: a window of
/// the losing mode in 64.
class SpeedJudge {
 public:
  /// Ops that could be cut, per window (about 30 steps of the Fashion-MNIST BNN, 19 ms).
  static constexpr int kOps = 256;
  /// How much faster the other mode's probe must be for it to take over.
  static constexpr double kMargin = 0.04;
  /// Windows in force before the first probe (after a first window that is not compared: it
  /// holds a program's first steps, which allocate what the later ones reuse).
  static constexpr int kFirstProbe = 1;
  /// Windows between probes after the mode changed; each probe that does not change it doubles
  /// the interval, up to kMaxInterval.
  static constexpr int kMinInterval = 16;
  /// The longest interval between probes.
  static constexpr int kMaxInterval = 64;

  /// Takes how long the window that just ended took (it ran as the last call said, cut at
  /// first); returns whether the next window's ops should run whole.
  bool next(double seconds) {
    switch (phase_) {
      case Phase::first:
        phase_ = Phase::in_force;
        break;
      case Phase::in_force:
        before_ = seconds;
        if (--windows_left_ > 0) break;
        phase_ = Phase::probe;
        return !whole_;
      case Phase::probe:
        probe_ = seconds;
        phase_ = Phase::after_probe;
        break;
      case Phase::after_probe:
        if (probe_ < (1 - kMargin) * 0.5 * (before_ + seconds)) {
          whole_ = !whole_;
          interval_ = kMinInterval;
        }
        windows_left_ = interval_;
        interval_ = std::min(2 * interval_, kMaxInterval);
        phase_ = Phase::in_force;
        break;
    }
    return whole_;
  }

  /// The mode in force: whether ops run whole.
  bool whole() const { return whole_; }

 private:
  enum class Phase { first, in_force, probe, after_probe };
  Phase phase_ = Phase::first;
  bool whole_ = false;
  int windows_left_ = kFirstProbe;
  int interval_ = kMinInterval;
  double before_ = 0, probe_ = 0;
};

/// Makes the next `ops` ops that parts_for would cut run whole (what the pool does when its
/// workers did not help), or, with 0, lets them be cut again; for tests. set_num_threads()
/// also starts afresh.
void run_ops_alone(int ops);

/// Multiply-adds a matrix product needs per part before splitting it pays (about 40 µs of one
/// core's GEMM). Measured on the BNN step (bench/bnn_step), whose products of 10^7
/// multiply-adds are split in two from this size, and the VAE step, whose 4 x 10^7 ones were
/// before: see the README's "Using both cores inside one model".
inline constexpr double kGemmMinWorkPerPart = double(1 << 22);

/// Entries an elementwise op (unary_op, the weight KL, the soft-target Bernoulli likelihood) or
/// an optimizer's update needs per part before splitting it pays: a part of 2^14 floats takes
/// a few microseconds, against about one to hand it to a spinning worker. Measured on the VAE
/// step, whose softplus layers of 128 x 400 entries are split in two from this size (at 2^15
/// they were not): see the README's "Using both cores inside one model".
inline constexpr double kElementwiseMinPerPart = double(1 << 14);

/// The part `part` of `parts` of [0, n): its first index and length, boundaries on multiples of
/// `align` (so that vectorised kernels see whole packets).
inline std::pair<Index, Index> part_range(Index n, int parts, int part, Index align) {
  const Index blocks = (n + align - 1) / align;
  const Index b0 = blocks * part / parts, b1 = blocks * (part + 1) / parts;
  const Index first = std::min(n, b0 * align), last = std::min(n, b1 * align);
  return {first, last - first};
}

/// Into how many stretches to cut an elementwise op over `n` entries (1: do not split). Inline
/// and cheap for small n, as every scalar op is.
inline int elementwise_parts(Index n) {
  return double(n) < 2 * kElementwiseMinPerPart ? 1 : parts_for(double(n), kElementwiseMinPerPart);
}

/// Runs body(part, first, len) for each of `parts` stretches of [0, n), which cover it once in
/// order, boundaries on multiples of 16 entries: part 0 on the calling thread, the others on
/// the pool's workers (as run_parts does).
template <class Body>
void for_each_stretch(Index n, int parts, Body&& body) {
  auto one = [&](int part) {
    const auto [first, len] = part_range(n, parts, part, 16);
    if (len > 0) body(part, first, len);
  };
  run_parts(parts, PartFn(one));
}

/// Entries per block of a sum over a large op's entries (sum_in_blocks).
inline constexpr Index kSumBlock = Index(kElementwiseMinPerPart);

/// The sum of block_sum(first, len) over [0, n) cut into blocks of kSumBlock entries, the
/// blocks' sums added in order, whoever computed them: the same bits however many of `parts`
/// the op was cut into (elementwise_parts(n)), whether the pool cut it or not. Below 2 kSumBlock
/// entries, one block.
template <class BlockSum>
Scalar sum_in_blocks(Index n, int parts, BlockSum&& block_sum) {
  if (n < 2 * kSumBlock) return block_sum(Index(0), n);
  const Index blocks = (n + kSumBlock - 1) / kSumBlock;
  std::vector<Scalar> sums(static_cast<std::size_t>(blocks));
  auto one = [&](int part) {
    const auto [first_block, count] = part_range(blocks, parts, part, 1);
    for (Index b = first_block; b < first_block + count; ++b) {
      const Index first = b * kSumBlock;
      sums[static_cast<std::size_t>(b)] = block_sum(first, std::min(kSumBlock, n - first));
    }
  };
  run_parts(parts, PartFn(one));
  Scalar total = 0;
  for (const Scalar s : sums) total += s;
  return total;
}

/// Columns of a product's result per thread from which the pool cuts it by columns.
inline constexpr Index kGemmMinColsPerPart = 32;

/// dst = lhs * rhs (or dst += lhs * rhs when `add`), for Eigen matrix expressions with direct
/// access (maps, their transposes and blocks): one GEMM (gemm_kernel), or, when it is large (in
/// multiply-adds, or in entries of dst) and more than one thread is allowed, one GEMM per thread
/// on a block of dst's columns (or of its rows when it has too few columns to share).
///
/// Columns first, even when dst has more rows than columns (a weight gradient, 784 x 400): a
/// block of columns is one stretch of dst's entries, nearly the stretch that the next
/// elementwise op, or the optimizer's update of a weight, gives the same thread
/// (for_each_stretch cuts by entries), so each thread goes on with entries its own core wrote.
/// A block of rows lies in pieces across every column, and half of what each thread reads next
/// would come from the other core's cache: on a virtual machine whose vCPUs hand data to each
/// other slowly (bench/core_rate), that made a two-thread VAE step 6-8% slower.
template <class Dst, class Lhs, class Rhs>
void gemm(Dst&& dst, const Lhs& lhs, const Rhs& rhs, bool add) {
  auto one = [add](auto&& d, const auto& l, const auto& r) { gemm_kernel(d, l, r, add); };
  const double work = double(dst.rows()) * double(dst.cols()) * double(lhs.cols());
  // One question to parts_for per product: the judges count the ops they are asked about.
  int parts = 1;
  if (work >= 2 * kGemmMinWorkPerPart) {
    parts = parts_for(work, kGemmMinWorkPerPart);
  } else if (dst.cols() >= 2 * kGemmMinColsPerPart) {
    // Too little arithmetic to cut for its own sake, but a result as large as an elementwise op
    // the pool cuts: the op that reads it next (an activation) cuts it into stretches, and each
    // thread then finds its stretch in its own core's cache, not in the caller's (the VAE
    // decoder's first layer, 128 x 10 x 400: 3% off the two-thread step).
    parts = std::min(parts_for(double(dst.size()), kElementwiseMinPerPart),
                     static_cast<int>(dst.cols() / kGemmMinColsPerPart));
  }
  if (parts == 1) {
    one(dst, lhs, rhs);
    return;
  }
  if (dst.cols() >= kGemmMinColsPerPart * Index(parts) || dst.cols() >= dst.rows()) {
    auto body = [&](int part) {
      const auto [first, len] = part_range(dst.cols(), parts, part, 8);
      if (len > 0) one(dst.middleCols(first, len), lhs, rhs.middleCols(first, len));
    };
    run_parts(parts, PartFn(body));
  } else {
    auto body = [&](int part) {
      const auto [first, len] = part_range(dst.rows(), parts, part, 16);
      if (len > 0) one(dst.middleRows(first, len), lhs.middleRows(first, len), rhs);
    };
    run_parts(parts, PartFn(body));
  }
}

}  // namespace detail

}  // namespace vesta
