#include "support/plot.hpp"

#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

namespace vesta::examples {

bool gnuplot_available() { return std::system("command -v gnuplot > /dev/null 2>&1") == 0; }

bool write_plot(const std::string& png, const std::string& script,
                const std::vector<PlotData>& data, int width, int height) {
  if (!gnuplot_available()) {
    fmt::print("gnuplot not found (apt-get install gnuplot-nox): {} not written\n", png);
    return false;
  }
  std::FILE* gp = popen("gnuplot", "w");
  if (gp == nullptr) return false;
  fmt::print(gp, "set terminal pngcairo size {},{} font 'sans,11'\nset output '{}'\n", width,
             height, png);
  for (const PlotData& block : data) {
    fmt::print(gp, "${} << EOD\n", block.name);
    for (Index r = 0; r < block.columns.rows(); ++r) {
      for (Index c = 0; c < block.columns.cols(); ++c)
        fmt::print(gp, "{}{}", c == 0 ? "" : " ", block.columns(r, c));
      fmt::print(gp, "\n");
    }
    fmt::print(gp, "EOD\n");
  }
  fmt::print(gp, "{}\n", script);
  const int status = pclose(gp);
  if (status != 0) {
    fmt::print("gnuplot failed (status {}): {} not written\n", status, png);
    return false;
  }
  return true;
}

}  // namespace vesta::examples
