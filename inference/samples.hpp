// SiteSamples: draws of a model's sites, each kept in its site's own shape — what Predictive
// returns and what it takes as posterior samples.
//
//   SiteSamples s = Predictive(model, guide, 1000)(x);
//   s.draw("z", 7);            // draw 7 of site z, a matrix of z's shape
//   s.mean("y");               // the mean draw of y, y's shape
//   s.quantile("y", 0.05);     // the 5% quantile of each entry of y
//   s.flat("y");               // 1000 rows, one flattened draw of y each (for your own summaries)
#pragma once

#include <map>
#include <string>
#include <vector>

#include <vesta/core/scalar.hpp>

namespace vesta {

/// Draws of a model's sites, each kept in its site's own shape: what Predictive returns and takes.
class SiteSamples {
 public:
  SiteSamples() = default;
  /// Draws given per site; every draw of a site must have the same shape.
  SiteSamples(std::initializer_list<std::pair<const std::string, std::vector<Matrix>>> draws);

  /// Appends one draw of site `name`; a draw of another shape than the site's first is a
  /// ShapeError naming the site.
  void add(const std::string& name, Matrix draw);

  /// Whether there are draws of site `name`.
  bool contains(const std::string& name) const { return draws_.count(name) != 0; }
  /// Whether it holds no site.
  bool empty() const { return draws_.empty(); }
  /// The sites, in name order.
  std::vector<std::string> sites() const;
  /// The number of draws every site has (0 when empty); a ShapeError naming two sites when
  /// they differ.
  Index num_samples() const;

  /// All draws of site `name`, each in the site's shape; throws naming the site if absent.
  const std::vector<Matrix>& draws(const std::string& name) const;
  /// Draw k of site `name`, in the site's shape.
  const Matrix& draw(const std::string& name, Index k) const;
  /// The shape of a draw of `name`.
  Index rows(const std::string& name) const { return draws(name).front().rows(); }
  /// Columns of a draw of `name`.
  Index cols(const std::string& name) const { return draws(name).front().cols(); }

  /// The mean draw of `name` (its shape).
  Matrix mean(const std::string& name) const;
  /// The q-quantile (0 <= q <= 1, by linear interpolation between order statistics) of each
  /// entry of `name` over the draws (its shape).
  Matrix quantile(const std::string& name, double q) const;
  /// Every draw of `name` as one row, num_samples x (rows * cols), entry (r, c) of a draw at
  /// column r * cols + c (NumPy's row-major reshape): a data column of N values is a row of N.
  Matrix flat(const std::string& name) const;

 private:
  std::map<std::string, std::vector<Matrix>> draws_;
};

}  // namespace vesta
