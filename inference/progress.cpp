#include <vesta/inference/progress.hpp>

#include <cmath>
#include <limits>

#include <unistd.h>

#include <fmt/format.h>

#include <vesta/core/error.hpp>

namespace vesta {

namespace {

// The state of one progress line: what is on screen and when it was last drawn.
class ProgressLine {
 public:
  ProgressLine(std::FILE* out, double min_interval_seconds, double quiet_seconds, bool terminal)
      : out_(out),
        min_interval_(min_interval_seconds),
        quiet_(quiet_seconds),
        terminal_(terminal) {}

  void operator()(const Progress& p) {
    if (p.stopped) {
      finish();
      return;
    }
    if (p.step <= last_step_) finish();  // a new loop: the old one ended without a last step
    last_step_ = p.step;
    if (p.step >= p.num_steps) {
      if (printed_ || logged_ || p.seconds >= quiet_) {
        draw(fmt::format("{} steps in {} ({} steps/s)  final loss {:#.5g} (avg {:#.5g})", p.step,
                         format_duration(p.seconds), format_rate(p.steps_per_second), p.loss,
                         p.smoothed_loss));
      }
      finish();
      return;
    }
    if (p.seconds < quiet_) return;
    if ((printed_ || logged_) && p.seconds - last_draw_ < min_interval_) return;
    draw(fmt::format("step {}/{}  loss {:#.5g} (avg {:#.5g})  {} steps/s  ETA {}", p.step,
                     p.num_steps, p.loss, p.smoothed_loss, format_rate(p.steps_per_second),
                     format_duration(p.eta_seconds)));
    last_draw_ = p.seconds;
  }

 private:
  // Replaces the line on screen by `text`, blanking what is left of a longer previous one; in
  // a log, writes it as a line of its own.
  void draw(const std::string& text) {
    if (!terminal_) {
      std::fputs(text.c_str(), out_);
      std::fputc('\n', out_);
      std::fflush(out_);
      logged_ = true;
      return;
    }
    if (printed_) std::fputc('\r', out_);
    std::fputs(text.c_str(), out_);
    for (std::size_t i = text.size(); i < width_; ++i) std::fputc(' ', out_);
    std::fflush(out_);
    width_ = text.size();
    printed_ = true;
  }

  // Ends the current loop's line (if it drew one) and forgets the loop.
  void finish() {
    if (printed_) {
      std::fputc('\n', out_);
      std::fflush(out_);
    }
    printed_ = false;
    logged_ = false;
    width_ = 0;
    last_step_ = 0;
  }

  std::FILE* out_;
  double min_interval_;
  double quiet_;
  bool terminal_;
  bool printed_ = false;  // this loop has a line on screen (terminal)
  bool logged_ = false;   // this loop has written a line (log)
  std::size_t width_ = 0;
  long last_step_ = 0;
  double last_draw_ = 0;
};

void check_interval(const char* name, double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) {
    throw ValueError(
        fmt::format("progress_line: {} is {}, but must be finite and non-negative", name, seconds));
  }
}

}  // namespace

ProgressCallback progress_line(const ProgressLineOptions& o) {
  if (o.out == nullptr) throw ValueError("progress_line: out is null, but must be an open FILE*");
  check_interval("min_interval_seconds", o.min_interval_seconds);
  check_interval("quiet_seconds", o.quiet_seconds);
  check_interval("log_interval_seconds", o.log_interval_seconds);
  const bool terminal = o.terminal.value_or(::isatty(::fileno(o.out)) == 1);
  return ProgressLine(o.out, terminal ? o.min_interval_seconds : o.log_interval_seconds,
                      o.quiet_seconds, terminal);
}

ProgressCallback progress_line(std::FILE* out, double min_interval_seconds, double quiet_seconds) {
  return progress_line(ProgressLineOptions{
      .out = out, .min_interval_seconds = min_interval_seconds, .quiet_seconds = quiet_seconds});
}

std::string format_rate(double per_second) {
  if (std::isnan(per_second)) return "?";
  if (std::isinf(per_second)) return "inf";
  if (per_second < 1) return fmt::format("{:.2g}", per_second);
  static constexpr const char* kSuffixes[] = {"", "k", "M", "G"};
  int unit = 0;
  double x = per_second;
  while (x >= 999.5 && unit < 3) {
    x /= 1000;
    ++unit;
  }
  const char* suffix = kSuffixes[unit];
  if (x >= 99.95) return fmt::format("{:.0f}{}", x, suffix);
  if (x >= 9.995) return fmt::format("{:.1f}{}", x, suffix);
  return fmt::format("{:.2f}{}", x, suffix);
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  if (seconds < 0.995) return fmt::format("{:.2f} s", seconds);
  if (seconds < 9.95) return fmt::format("{:.1f} s", seconds);
  if (seconds < 59.5) return fmt::format("{:.0f} s", seconds);
  const long total = std::lround(seconds);
  if (total < 3600) return fmt::format("{} min {:02} s", total / 60, total % 60);
  const long minutes = std::lround(seconds / 60);
  return fmt::format("{} h {:02} min", minutes / 60, minutes % 60);
}

ProgressMeter::ProgressMeter(long num_steps, double decay)
    : start_(Clock::now()), num_steps_(num_steps), decay_(decay) {
  if (num_steps < 1)
    throw ValueError(
        fmt::format("ProgressMeter: num_steps is {}, but must be at least 1", num_steps));
  if (!(decay >= 0 && decay < 1)) {
    throw ValueError(fmt::format("ProgressMeter: decay is {}, but must be in [0, 1)", decay));
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  last_ = Progress{0, num_steps, nan, nan, 0, 0, 0, false};
}

}  // namespace vesta
