// Training checkpoints for the long examples (`--checkpoint PATH`, `--checkpoint-every N`):
// every N steps one file is written (ParamStore::save, so atomically: a crash or a SIGKILL
// leaves the previous checkpoint or the new one) holding the params, the optimizer's state,
// the number of steps done and the random generators' states. A run started with the path
// of an existing checkpoint resumes from it, exactly: it loses only the steps since the last
// checkpoint, and ends as the run that was never stopped would have.
//
//   TrainingCheckpoint checkpoint(path, every);
//   const TrainingCheckpoint::Resumed at = checkpoint.resume(adam);   // steps 0 if no file
//   for (long step = at.steps; step < steps; ++step) {
//     svi.step(...);
//     if (checkpoint.due(step + 1)) checkpoint.save(step + 1, adam, {thread_rng().state()});
//   }
#pragma once

#include <string>
#include <vector>

#include <vesta/core/random.hpp>
#include <vesta/inference/optim.hpp>

namespace vesta::examples {

/// Writes and reads an example's training checkpoint (see the file's header).
class TrainingCheckpoint {
 public:
  /// What resume() found: the steps done and the generators' states saved with them (empty
  /// when there was no checkpoint).
  struct Resumed {
    long steps = 0;                ///< Steps done when the checkpoint was written.
    std::vector<Rng::State> rngs;  ///< The states save() was given, in its order.
  };

  /// A checkpoint at `path` written every `every` steps; an empty path turns it off.
  TrainingCheckpoint(std::string path, long every);

  /// Whether a path was given.
  bool enabled() const { return !path_.empty(); }
  /// Whether a checkpoint is due after `steps_done` steps.
  bool due(long steps_done) const { return enabled() && steps_done % every_ == 0; }

  /// If the checkpoint file exists: loads its params into param_store() (checked against those
  /// already there), the optimizer's state into `optimizer`, and returns the steps done and
  /// the generators' states. Otherwise returns zero steps and changes nothing. A file from
  /// another model, or a damaged one, is a vesta Error naming it.
  Resumed resume(Optimizer& optimizer) const;

  /// Writes the checkpoint: param_store(), the optimizer's state, `steps_done` and `rngs`.
  void save(long steps_done, const Optimizer& optimizer, const std::vector<Rng::State>& rngs) const;

  /// The file's path.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  long every_;
};

}  // namespace vesta::examples
