// Training checkpoints for the long examples (`--checkpoint PATH`, `--checkpoint-every N`):
// every N steps one file is written (ParamStore::save, so atomically: a crash or a SIGKILL
// leaves the previous checkpoint or the new one) holding the params, the optimizer's state,
// the number of steps done and the state of the thread's generator (thread_rng(), which the
// steps draw from). A run started with the path of an existing checkpoint resumes from it,
// exactly: it loses only the steps since the last checkpoint, and ends as the run that was
// never stopped would have.
//
//   TrainingCheckpoint checkpoint(path, every);
//   const long done = checkpoint.resume(adam);   // 0 if there is no file
//   for (long step = done; step < steps; ++step) {
//     svi.step(...);
//     if (checkpoint.due(step + 1)) checkpoint.save(step + 1, adam);
//   }
//
// Over MPI ranks (a vesta built with -DVESTA_MPI=ON), TrainingCheckpoint(path, every, dp):
// rank 0 writes the file, holding every rank's generator state; every rank reads it (the
// path must be on a file system all ranks see) and then takes rank 0's params
// (DataParallel::broadcast_params). A run may resume on another number of ranks: rank r takes
// the generator of rank r if the file has one, else rank 0's forked by r.
#pragma once

#include <string>

#include <vesta/config.hpp>
#include <vesta/core/random.hpp>
#include <vesta/inference/optim.hpp>
#if VESTA_MPI
#include <vesta/inference/distributed/data_parallel.hpp>
#endif

namespace vesta::examples {

/// Writes and reads an example's training checkpoint (see the file's header).
class TrainingCheckpoint {
 public:
  /// A checkpoint at `path` written every `every` steps; an empty path turns it off.
  TrainingCheckpoint(std::string path, long every);
#if VESTA_MPI
  /// The same over the ranks of `dp` (held by reference): see the file's header.
  TrainingCheckpoint(std::string path, long every, DataParallel& dp);
#endif

  /// Whether a path was given.
  bool enabled() const { return !path_.empty(); }
  /// Whether a checkpoint is due after `steps_done` steps.
  bool due(long steps_done) const { return enabled() && steps_done % every_ == 0; }

  /// If the checkpoint file exists: loads its params into param_store() (checked against those
  /// already there) and the optimizer's state into `optimizer`, sets thread_rng() to the saved
  /// state, prints "resumed from PATH at step N" and returns N, the steps done. Otherwise
  /// returns 0 and changes nothing. A file from another model, or a damaged one, is a vesta
  /// Error naming it.
  long resume(Optimizer& optimizer) const;
  /// Writes the checkpoint: param_store(), the optimizer's state, `steps_done` and the state of
  /// thread_rng().
  void save(long steps_done, const Optimizer& optimizer) const;
  /// The file's path.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  long every_;
#if VESTA_MPI
  DataParallel* dp_ = nullptr;
#endif
};

}  // namespace vesta::examples
