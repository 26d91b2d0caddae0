// SVI::run and progress reporting: run() gives the losses step() would, the callback sees
// every step in order with a sensible rate and ETA, progress_line stays quiet for short
// loops and otherwise draws a line in human units, and misuse is named.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

#include "support/svi.hpp"

using namespace vesta;
using Catch::Matchers::Contains;

namespace {

using Fresh = vesta::testing::FreshParams;
using vesta::testing::data10;
constexpr auto model = &vesta::testing::normal_mean_model;
constexpr auto guide = &vesta::testing::normal_mean_guide;

// Everything written to a temporary file, read back.
std::string contents(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  for (int c; (c = std::fgetc(f)) != EOF;) s.push_back(static_cast<char>(c));
  return s;
}

// A temporary file closed at the end of the scope.
struct TempFile {
  std::FILE* f = std::tmpfile();
  TempFile() { REQUIRE(f != nullptr); }
  ~TempFile() { std::fclose(f); }
};

}  // namespace

TEST_CASE("SVI::run returns the losses step would give with the same seed",
          "[inference][progress]") {
  const Matrix x = data10();
  const long n = 200;
  std::vector<double> stepped;
  {
    Fresh fresh;
    set_rng_seed(17);
    Adam adam(0.01);
    SVI svi(model, guide, adam);
    for (long t = 0; t < n; ++t) stepped.push_back(svi.step(x));
  }
  Fresh fresh;
  set_rng_seed(17);
  Adam adam(0.01);
  SVI svi(model, guide, adam);  // with the default progress line: quiet for a loop this short
  const std::vector<double> losses = svi.run(n, x);
  REQUIRE(losses.size() == static_cast<std::size_t>(n));
  CHECK(losses == stepped);
}

TEST_CASE("the progress callback sees every step in order", "[inference][progress]") {
  Fresh fresh;
  set_rng_seed(4);
  Adam adam(0.01);
  SVI svi(model, guide, adam);
  std::vector<Progress> seen;
  svi.set_progress([&](const Progress& p) { seen.push_back(p); });
  const long n = 300;
  const std::vector<double> losses = svi.run(n, data10());
  REQUIRE(seen.size() == static_cast<std::size_t>(n));
  double previous_seconds = 0;
  for (long t = 0; t < n; ++t) {
    const Progress& p = seen[static_cast<std::size_t>(t)];
    INFO("report " << t);
    CHECK(p.step == t + 1);
    CHECK(p.num_steps == n);
    CHECK(p.loss == losses[static_cast<std::size_t>(t)]);
    CHECK(std::isfinite(p.smoothed_loss));
    CHECK(p.seconds >= previous_seconds);
    CHECK(p.steps_per_second >= 0);
    CHECK(p.eta_seconds >= 0);
    CHECK_FALSE(p.stopped);
    previous_seconds = p.seconds;
  }
  CHECK(seen.front().smoothed_loss ==
        Approx(seen.front().loss));  // bias-corrected: no pull toward 0
  CHECK(seen.back().eta_seconds == 0);
  CHECK(seen.back().steps_per_second > 0);
  // The smoothed loss is a weighted average of the losses so far, so it lies between them,
  // and it varies less than they do.
  double lo = losses[0], hi = losses[0], loss_var = 0, smooth_var = 0;
  for (long t = 1; t < n; ++t) {
    const auto i = static_cast<std::size_t>(t);
    lo = std::min(lo, losses[i]);
    hi = std::max(hi, losses[i]);
    CHECK(seen[i].smoothed_loss >= lo - 1e-9 * std::abs(lo));
    CHECK(seen[i].smoothed_loss <= hi + 1e-9 * std::abs(hi));
    loss_var += std::pow(losses[i] - losses[i - 1], 2);
    smooth_var += std::pow(seen[i].smoothed_loss - seen[i - 1].smoothed_loss, 2);
  }
  CHECK(smooth_var < loss_var);
  // set_progress(nullptr) turns reporting off.
  svi.set_progress(nullptr);
  svi.run(10, data10());
  CHECK(seen.size() == static_cast<std::size_t>(n));
}

TEST_CASE("progress_line is quiet for a quick loop and draws a line otherwise",
          "[inference][progress]") {
  Fresh fresh;
  Adam adam(0.01);
  SVI svi(model, guide, adam);
  {
    TempFile out;
    svi.set_progress(progress_line(out.f));  // quiet for the first second
    svi.run(100, data10());
    CHECK(contents(out.f).empty());
  }
  {
    TempFile out;
    svi.set_progress(progress_line(
        {.out = out.f, .min_interval_seconds = 0, .quiet_seconds = 0, .terminal = true}));
    svi.run(100, data10());
    const std::string text = contents(out.f);
    INFO(text);
    CHECK_THAT(text, Contains("step 1/100") && Contains("steps/s") && Contains("ETA"));
    CHECK_THAT(text, Contains("100 steps in") && Contains("final loss"));
    CHECK(text.back() == '\n');
    CHECK(std::count(text.begin(), text.end(), '\n') == 1);  // one line, redrawn in place
  }
}

TEST_CASE("in a log, progress_line writes whole lines every few seconds, never redraws",
          "[inference][progress]") {
  Fresh fresh;
  Adam adam(0.01);
  SVI svi(model, guide, adam);
  {
    // A file is not a terminal: one line per report that the interval lets through.
    TempFile out;
    svi.set_progress(progress_line({.out = out.f, .quiet_seconds = 0, .log_interval_seconds = 0}));
    svi.run(20, data10());
    const std::string text = contents(out.f);
    INFO(text);
    CHECK(text.find('\r') == std::string::npos);
    CHECK(std::count(text.begin(), text.end(), '\n') == 20);  // 19 progress lines and the summary
    CHECK_THAT(text, Contains("step 1/20") && Contains("\nstep 2/20") && Contains("\n20 steps in"));
  }
  {
    // The default interval, 5 s, lets through only the first line and the summary.
    TempFile out;
    svi.set_progress(progress_line({.out = out.f, .quiet_seconds = 0}));
    svi.run(200, data10());
    const std::string text = contents(out.f);
    INFO(text);
    CHECK(std::count(text.begin(), text.end(), '\n') == 2);
  }
}

TEST_CASE("progress_line shows human-friendly units", "[inference][progress]") {
  CHECK(format_rate(12345) == "12.3k");
  CHECK(format_rate(999.7) == "1.00k");
  CHECK(format_rate(512) == "512");
  CHECK(format_rate(2.5e6) == "2.50M");
  CHECK(format_rate(0.25) == "0.25");
  CHECK(format_duration(0.412) == "0.41 s");
  CHECK(format_duration(3.21) == "3.2 s");
  CHECK(format_duration(42.3) == "42 s");
  CHECK(format_duration(65) == "1 min 05 s");
  CHECK(format_duration(7380) == "2 h 03 min");
  TempFile out;
  ProgressCallback line = progress_line(
      {.out = out.f, .min_interval_seconds = 0, .quiet_seconds = 0, .terminal = true});
  line(Progress{1200, 5000, 103.24, 104.91, 0.1, 12345, 65});
  line(Progress{2400, 5000, 102.1, 103.5, 0.2, 12000, 3.2});
  line(Progress{5000, 5000, 101.73, 102.41, 0.41, 12195, 0});
  const std::string text = contents(out.f);
  INFO(text);
  CHECK_THAT(text,
             Contains("step 1200/5000  loss 103.24 (avg 104.91)  12.3k steps/s  ETA 1 min 05 s"));
  CHECK_THAT(text,
             Contains("\rstep 2400/5000  loss 102.10 (avg 103.50)  12.0k steps/s  ETA 3.2 s"));
  CHECK_THAT(text,
             Contains("\r5000 steps in 0.41 s (12.2k steps/s)  final loss 101.73 (avg 102.41)"));
  CHECK(text.back() == '\n');
}

TEST_CASE("a step that throws stops the loop and finishes the line", "[inference][progress]") {
  Fresh fresh;
  int calls = 0;
  auto failing_guide = [&](const Matrix& x) {
    if (++calls == 5) throw ValueError("guide: fifth call");
    guide(x);
  };
  Adam adam(0.01);
  SVI svi(model, failing_guide, adam);
  std::vector<Progress> seen;
  TempFile out;
  ProgressCallback line = progress_line(
      {.out = out.f, .min_interval_seconds = 0, .quiet_seconds = 0, .terminal = true});
  svi.set_progress([&](const Progress& p) {
    seen.push_back(p);
    line(p);
  });
  CHECK_THROWS_WITH(svi.run(10, data10()), Contains("fifth call"));
  REQUIRE(seen.size() == 5);
  CHECK(seen[3].step == 4);
  CHECK_FALSE(seen[3].stopped);
  CHECK(seen[4].stopped);
  CHECK(seen[4].step == 4);
  const std::string text = contents(out.f);
  INFO(text);
  CHECK_THAT(text, Contains("step 4/10"));
  CHECK(text.back() == '\n');
  CHECK(handler_stack().empty());
}

TEST_CASE("invalid run and progress_line arguments are named", "[inference][progress]") {
  Fresh fresh;
  Adam adam(0.01);
  SVI svi(model, guide, adam);
  CHECK_THROWS_AS(svi.run(0, data10()), ValueError);
  CHECK_THROWS_WITH(svi.run(-3, data10()), Contains("num_steps is -3"));
  CHECK_THROWS_WITH(progress_line(nullptr), Contains("out is null"));
  CHECK_THROWS_WITH(progress_line(stderr, -1), Contains("min_interval_seconds is -1"));
  CHECK_THROWS_WITH(progress_line(stderr, 0.25, std::nan("")), Contains("quiet_seconds is nan"));
  CHECK_THROWS_WITH(progress_line({.log_interval_seconds = -2}),
                    Contains("log_interval_seconds is -2"));
  CHECK_THROWS_WITH(ProgressMeter(10, 1.0), Contains("decay is 1"));
}
