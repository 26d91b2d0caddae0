// Progress reporting for training loops: the Progress a loop reports after every step, a
// ProgressMeter that computes it for the price of one steady-clock read, and progress_line,
// a ready callback that redraws one terminal line (quiet for short loops), as NumPyro's
// svi.run shows a progress bar.
#pragma once

#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>

namespace vesta {

/// Where a loop of num_steps steps stands, reported after every completed step.
struct Progress {
  long step;                ///< steps completed: 1..num_steps
  long num_steps;           ///< steps the loop will run
  double loss;              ///< the loss of the step just completed
  double smoothed_loss;     ///< an exponential moving average of the losses so far
  double seconds;           ///< since the loop started
  double steps_per_second;  ///< the rate so far (0 until the clock has moved)
  double eta_seconds;       ///< the time left at the rate so far: 0 at the last step
  /// True in one extra report when the loop stops early because a step (or the callback)
  /// threw: `step` is then the number of steps completed, and the exception propagates
  /// after the callback returns. A callback that drew a line finishes it here.
  bool stopped = false;
};

/// Called by a loop after every step; it decides itself how often to show anything.
using ProgressCallback = std::function<void(const Progress&)>;

/// Where a progress line goes and how it behaves.
struct ProgressLineOptions {
  std::FILE* out = stderr;  ///< Where the line is written.
  /// On a terminal: the line is redrawn at most this often.
  double min_interval_seconds = 0.25;
  /// Nothing is shown while the loop has run less than this.
  double quiet_seconds = 1.0;
  /// Not on a terminal (a log file, a CI log, a pipe): no redrawing; a whole line is written at
  /// most this often.
  double log_interval_seconds = 5.0;
  /// Whether `out` is a terminal; unset: asked of the system (isatty).
  std::optional<bool> terminal = std::nullopt;
};

/// A progress line: nothing while the loop has run less than `quiet_seconds`. Then, on a
/// terminal, one line redrawn in place (with a carriage return) at most every
/// `min_interval_seconds` (losses with five significant digits, trailing zeros kept so the
/// line does not jitter),
///
///     step 1200/5000  loss 103.24 (avg 104.91)  12.3k steps/s  ETA 0.30 s
///
/// and elsewhere (a log) the same text as a line of its own every `log_interval_seconds`. At
/// the last step (if the loop ran for quiet_seconds or more) a summary ends it,
///
///     5000 steps in 0.41 s (12.2k steps/s)  final loss 101.73 (avg 102.41)
///
/// A loop that stops early gets its line finished by a newline. The callback can be reused:
/// a report whose step is not after the previous one's starts a new loop. Throws ValueError
/// if `out` is null or an interval is negative or not finite.
ProgressCallback progress_line(const ProgressLineOptions& options);
/// The same with the other options at their defaults.
ProgressCallback progress_line(std::FILE* out = stderr, double min_interval_seconds = 0.25,
                               double quiet_seconds = 1.0);

/// "12.3k" steps/s style: three significant digits with a k, M or G suffix.
std::string format_rate(double per_second);
/// "0.41 s", "3.2 s", "42 s", "1 min 05 s", "2 h 03 min".
std::string format_duration(double seconds);

/// Computes the Progress of a loop: construct it just before the first step, call update()
/// after each. One steady-clock read and a few arithmetic operations per update.
class ProgressMeter {
 public:
  /// `decay` weighs the moving average: each loss counts `decay` times the next one (0.98:
  /// about the last 50 steps). The average is bias-corrected, as Adam's moments are, so the
  /// first steps are not pulled toward 0. Throws ValueError unless num_steps >= 1 and
  /// 0 <= decay < 1.
  explicit ProgressMeter(long num_steps, double decay = 0.98);

  /// The Progress after one more completed step with loss `loss`.
  Progress update(double loss) {
    const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    ++step_;
    average_ = decay_ * average_ + (1 - decay_) * loss;
    decay_power_ = decay_power_ > 1e-17 ? decay_power_ * decay_ : 0;  // no denormals
    const double steps = static_cast<double>(step_);
    last_ = Progress{step_,
                     num_steps_,
                     loss,
                     average_ / (1 - decay_power_),
                     seconds,
                     seconds > 0 ? steps / seconds : 0.0,
                     seconds * static_cast<double>(num_steps_ - step_) / steps,
                     false};
    return last_;
  }

  /// The report for a loop that stops early: the last update's, marked stopped, with the
  /// time brought up to now (NaN losses if no step completed).
  Progress stopped() const {
    Progress p = last_;
    p.seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    p.eta_seconds = 0;
    p.stopped = true;
    return p;
  }

 private:
  using Clock = std::chrono::steady_clock;

  Clock::time_point start_;
  long num_steps_;
  long step_ = 0;
  double decay_;
  double average_ = 0;
  double decay_power_ = 1;
  Progress last_;
};

}  // namespace vesta
