// Plots as PNG through gnuplot (Debian's gnuplot-nox, which scripts/setup.sh installs): the
// data go to gnuplot as named inline blocks, so nothing is left behind in temporary files.
// Without gnuplot the examples still run, and say that they wrote no plot.
//
//   write_plot("fit.png", "plot $points using 1:2 with points title 'data'",
//              {{"points", xy}});   // xy: a Matrix, one row per point
#pragma once

#include <string>
#include <vector>

#include <vesta/core/scalar.hpp>

namespace vesta::examples {

/// A named data block: `$name` in the script, one line per row of `columns`.
struct PlotData {
  std::string name;
  Matrix columns;
};

/// Whether gnuplot can be run.
bool gnuplot_available();

/// Runs `script` in gnuplot with a pngcairo terminal of `width` x `height` pixels writing
/// `png`, after defining each data block. Returns false, saying why on stdout, when gnuplot
/// is missing or fails (then no plot was written).
bool write_plot(const std::string& png, const std::string& script,
                const std::vector<PlotData>& data, int width = 800, int height = 480);

}  // namespace vesta::examples
