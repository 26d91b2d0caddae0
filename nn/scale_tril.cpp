#include <vesta/nn/scale_tril.hpp>

#include <cmath>
#include <vector>

#include <fmt/format.h>

namespace vesta {

namespace {

// Position of entry (i, k), k <= i, in a row filled row by row.
Index packed(Index i, Index k) { return i * (i + 1) / 2 + k; }

// The d with tril_size(d) == n, naming `who` and x's shape when there is none.
Index tril_dim(const char* who, const Tensor& x) {
  const Index n = x.cols();
  const auto d = static_cast<Index>(std::llround((std::sqrt(8.0 * double(n) + 1) - 1) / 2));
  if (n < 1 || tril_size(d) != n) {
    throw ShapeError(fmt::format(
        "{}: x is {}, but needs d (d + 1) / 2 columns (1, 3, 6, 10, ...) for a d x d triangle", who,
        x.shape()));
  }
  return d;
}

}  // namespace

Index tril_size(Index d) { return d * (d + 1) / 2; }

Tensor fill_tril(const Tensor& x) {
  const Index d = tril_dim("fill_tril", x);
  const Index zero = x.cols();  // the column of zeros appended to x
  std::vector<Index> from;
  for (Index k = 0; k < d; ++k) {
    for (Index i = 0; i < d; ++i) from.push_back(k <= i ? packed(i, k) : zero);
  }
  return gather_cols(hstack({x, Tensor::zeros(x.rows(), 1)}), from);
}

Tensor fill_scale_tril(const Tensor& x, Scalar diag_shift, const Activation& diag_transform) {
  const Index d = tril_dim("fill_scale_tril", x);
  if (!diag_transform) throw ValueError("fill_scale_tril: diag_transform is empty");
  // The transform sees only the diagonal entries, so an off-diagonal value that it would
  // overflow on cannot reach the gradient.
  std::vector<Index> diagonal;
  for (Index i = 0; i < d; ++i) diagonal.push_back(packed(i, i));
  const Tensor diag = diag_transform(gather_cols(x, diagonal)) + diag_shift;
  // Columns of [x, diag, 0]: below the diagonal from x, on it from diag, above it the zero.
  const Index n = x.cols();
  std::vector<Index> from;
  for (Index k = 0; k < d; ++k) {
    for (Index i = 0; i < d; ++i) from.push_back(k < i ? packed(i, k) : k == i ? n + i : n + d);
  }
  return gather_cols(hstack({x, diag, Tensor::zeros(x.rows(), 1)}), from);
}

}  // namespace vesta
