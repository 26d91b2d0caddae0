// DataParallel: data-parallel SVI over the ranks of a Communicator, the Horovod pattern.
// Every rank runs the same model and guide on its share of each global minibatch; before
// the optimizer moves anything, the gradients of all params, packed into one buffer, are
// combined with one all-reduce, so every rank takes the same step from the same params.
//
//   DataParallel dp(world);
//   dp.seed(seed);                    // rank r's generator: from the seed and r
//   init_params(...);  dp.broadcast_params();   // rank 0's values everywhere
//   svi.set_reducer(&dp);
//   for (...) {
//     const std::vector<Index> rows = dp.shard(global_rows);   // this rank's share
//     const double loss = svi.step(X(rows), rows);             // the global loss
//   }
//
// Semantics:
// - A subsampled data plate sees this rank's rows, and its N / B_r scale makes each rank's
//   loss an unbiased estimate of the full-data loss. The reduction weighs rank r's gradient
//   and loss by its share B_r / B of the global batch (shard() records it), so the step is
//   exactly the one a single process would take on the whole global batch: per-datum terms
//   get N / B, and a term about global variables (a HiddenLayer's folded KL), which every
//   rank's loss holds once, counts once (its weights sum to one). Without shard(), every
//   rank weighs 1 / R.
// - Per-datum (non-amortised) guide params, an N x d param indexed by the plate's rows:
//   every rank holds all N rows; each rank's gradient is non-zero on its own rows only, and
//   the weighted sum gives each row the gradient of the single-process step. Exact, but the
//   all-reduce carries all N x d entries every step: prefer an amortised guide for large N.
// - A rank whose step throws stops every rank: the first all-reduce of a step carries an
//   error flag, and every rank then throws the same DistributedError naming the rank and
//   its message (instead of waiting forever in the gradient all-reduce).
// - The ranks must hold the same params (names and shapes, in the same order), all made
//   before training and made equal by broadcast_params(): a step that finds params other than
//   those of the last broadcast_params() (one created inside the step, from a generator that
//   differs by rank) throws DistributedError. One svi.evaluate_loss(...) creates the params
//   a model and guide make on first use.
#pragma once

#include <cstdint>
#include <exception>
#include <vector>

#include <vesta/core/param_store.hpp>
#include <vesta/inference/distributed/communicator.hpp>
#include <vesta/inference/gradient_reducer.hpp>

namespace vesta {

/// Data-parallel SVI over a Communicator's ranks: SVI::set_reducer(&dp) (see the file's
/// description for the semantics).
class DataParallel : public GradientReducer {
 public:
  /// Over the ranks of `comm` (copied: the group is shared).
  explicit DataParallel(Communicator comm);

  /// The ranks.
  const Communicator& communicator() const { return comm_; }

  /// Seeds the calling thread's generator for this rank: rank 0 takes `seed` itself (so one
  /// rank draws as an undistributed run seeded alike), rank r > 0 Rng(seed).fork(r).
  void seed(std::uint64_t seed) const;

  /// This rank's share of a global minibatch: the contiguous block of `global_rows` that
  /// rank r of R gets when the rows are dealt out as evenly as possible (the first
  /// B mod R ranks take one more). Every rank must pass the same rows. Records the share
  /// B_r / B that the next reduce() weighs this rank by.
  std::vector<Index> shard(const std::vector<Index>& global_rows);

  /// Replaces every param's value on every rank by rank 0's: at the start, and after a
  /// checkpoint is loaded. Throws DistributedError if the ranks hold different params.
  void broadcast_params(ParamStore& store = param_store()) const;

  /// Sums, over the ranks, weight x gradient of every param of `store` and weight x loss
  /// (two all-reduces: a small one for errors and the params' layout, then one buffer of
  /// all the gradients) and divides by the sum of the weights; returns the combined loss.
  double reduce(double loss, ParamStore& store) override;
  /// Tells the other ranks this step failed with `error`; every rank throws
  /// DistributedError.
  [[noreturn]] void fail(std::exception_ptr error, ParamStore& store) override;

  /// What the reductions so far cost.
  struct Stats {
    long steps = 0;         ///< Steps reduced.
    double seconds = 0;     ///< Wall-clock seconds inside both all-reduces.
    std::size_t bytes = 0;  ///< Bytes of the last gradient buffer (per rank, per step).
  };
  /// The reductions' statistics.
  const Stats& stats() const { return stats_; }
  /// Sets the statistics back to zero.
  void reset_stats() { stats_ = Stats{}; }

 private:
  // The first all-reduce of a step: error flag and params' layout (layout_of(store), computed
  // once by the caller). Throws DistributedError on every rank if any rank failed or the
  // layouts differ.
  void check_step(std::exception_ptr error, const ParamStore& store, std::uint64_t layout);

  Communicator comm_;
  std::uint64_t synced_layout_ = 0;  // the params' layout at the last broadcast_params()
  bool synced_ = false;
  double weight_ = 1;        // this rank's weight in the next reduction
  bool weight_set_ = false;  // whether shard() set it
  std::vector<Scalar> buffer_;
  Stats stats_;
};

}  // namespace vesta
