// Draws how cost grows with size from the JSON lines of the three size sweeps
// (bench/svi_size_sweep, bench/bnn_size_sweep, bench/vae_size_sweep) as one PNG of three
// panels, through gnuplot: the tiny model's nanoseconds per data point against N; the BNN
// step's (one line per hidden width) and the VAE step's microseconds per step against the
// batch, each with the time of its bare GEMMs dashed beneath; and their gemm_ratio (the
// share of the GEMM floor reached) against the batch, with the 0.8 target, and
// eigen_gemm_ratio (the same against Eigen's own product of the GEMMs) dashed. Both dense
// panels colour each series alike; the last one names them.
//
//   build/bench/plot_size_sweep docs/images/size_sweep.png svi.jsonl bnn.jsonl vae.jsonl
//
// Reads every line that starts with '{' and keeps those whose "bench" is one of the three;
// bench/run_size_sweep.sh runs the sweeps and then this.
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "support/json.hpp"
#include "support/plot.hpp"

using namespace vesta;
using namespace vesta::examples;

namespace {

// Rows of numbers, one per size, made into a data block for gnuplot.
using Rows = std::vector<std::vector<double>>;

PlotData block(const std::string& name, const Rows& rows) {
  Matrix m(Index(rows.size()), rows.empty() ? 0 : Index(rows.front().size()));
  for (std::size_t r = 0; r < rows.size(); ++r) {
    for (std::size_t c = 0; c < rows[r].size(); ++c) m(Index(r), Index(c)) = Scalar(rows[r][c]);
  }
  return {name, m};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    fmt::print(stderr, "usage: plot_size_sweep OUT.png SWEEP.jsonl...\n");
    return 2;
  }
  Rows tiny, vae;
  std::map<long, Rows> bnn;  // by hidden width
  std::string tiny_scalar = "?", dense_scalar = "?";
  for (int a = 2; a < argc; ++a) {
    std::ifstream in(argv[a]);
    if (!in) {
      fmt::print(stderr, "plot_size_sweep: cannot open {}\n", argv[a]);
      return 1;
    }
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      if (line.empty() || line[0] != '{') continue;
      try {
        const Json j = Json::parse(line);
        if (!j.contains("bench")) continue;
        const std::string& bench = j["bench"].string();
        if (bench == "svi_size_sweep") {
          tiny.push_back({j["n"].number(), j["ns_per_point"].number(), j["us_per_step"].number()});
          tiny_scalar = j["scalar"].string();
        } else if (bench == "bnn_size_sweep" || bench == "vae_size_sweep") {
          // Sweeps from before eigen_gemm_ratio was printed leave its line out (NaN).
          const double eigen_ratio = j.contains("eigen_gemm_ratio")
                                         ? j["eigen_gemm_ratio"].number()
                                         : std::numeric_limits<double>::quiet_NaN();
          const std::vector<double> row = {j["batch"].number(), j["us_per_step"].number(),
                                           j["gemm_us"].number(), j["gemm_ratio"].number(),
                                           eigen_ratio};
          if (bench == "vae_size_sweep") {
            vae.push_back(row);
          } else {
            bnn[long(j["hidden"].number())].push_back(row);
          }
          dense_scalar = j["scalar"].string();
        }
      } catch (const std::runtime_error& e) {
        fmt::print(stderr, "plot_size_sweep: {}:{}: {}\n", argv[a], number, e.what());
        return 1;
      }
    }
  }
  if (tiny.empty() && bnn.empty() && vae.empty()) {
    fmt::print(stderr, "plot_size_sweep: no size sweep lines in the files given\n");
    return 1;
  }

  std::vector<PlotData> data = {block("tiny", tiny), block("vae", vae)};
  // Each dense series: its step time (solid) and bare GEMM time (dashed) in one colour.
  std::string times, ratios;
  int colour = 1;
  const auto add_series = [&](const std::string& name, const std::string& title) {
    times += fmt::format(
        "${0} using 1:2 with linespoints lw 2 pt 7 lc {1} notitle, "
        "${0} using 1:3 with lines dt 2 lc {1} notitle, ",
        name, colour);
    ratios += fmt::format(
        "${0} using 1:4 with linespoints lw 2 pt 7 lc {1} title '{2}', "
        "${0} using 1:5 with lines dt 2 lc {1} notitle, ",
        name, colour, title);
    ++colour;
  };
  for (const auto& [hidden, rows] : bnn) {
    const std::string name = fmt::format("bnn{}", hidden);
    data.push_back(block(name, rows));
    add_series(name, fmt::format("BNN hidden {}", hidden));
  }
  if (!vae.empty()) add_series("vae", "VAE");

  std::string script = fmt::format(
      "set termoption noenhanced\n"
      "set multiplot layout 1,3 title 'How cost grows with size (tiny model: {}; BNN and VAE: "
      "{})'\n"
      "set grid\n"
      "set logscale xy\n"
      "set format x '%.0s%c'\n"
      "set key top right\n",
      tiny_scalar, dense_scalar);
  if (tiny.empty()) {
    script += "set multiplot next\n";
  } else {
    script +=
        "set title 'Tiny model SVI step (svi_size_sweep)'\n"
        "set xlabel 'N (data points)'\nset ylabel 'ns per data point'\n"
        "plot $tiny using 1:2 with linespoints lw 2 pt 7 lc 1 title 'ns per point', "
        "10 with lines dt 2 lc 'black' title 'target 10 ns'\n";
  }
  if (times.empty()) {
    script += "set multiplot next\nset multiplot next\n";
  } else {
    script += fmt::format(
        "set title 'Dense steps: time per step'\n"
        "set xlabel 'batch'\nset ylabel 'us per step'\n"
        "set xrange [24:1400]\nset xtics (32, 64, 128, 256, 512, 1024)\nset format x '%g'\n"
        "set key top left Left reverse\n"
        "plot {} NaN with linespoints lw 2 pt 7 lc 'gray' title 'the step (colours as right)', "
        "NaN with lines dt 2 lc 'gray' title 'the same GEMMs, bare'\n"
        "set title 'Share of the GEMM floor (bare GEMM time / step time)'\n"
        "unset logscale y\nset yrange [0:1.4]\nset ylabel 'gemm_ratio'\n"
        "set key bottom right\n"
        "plot {} NaN with lines dt 2 lc 'gray' title 'against Eigen''s GEMM', "
        "0.8 with lines dt 3 lw 2 lc 'black' title 'target 0.8'\n",
        times, ratios);
  }
  script += "unset multiplot\n";
  return write_plot(argv[1], script, data, 1650, 520) ? 0 : 1;
}
