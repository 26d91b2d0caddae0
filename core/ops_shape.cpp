// Ops that move elements without arithmetic: reshape, stacking, row and column gathering,
// column slices. Their backward steps route each gradient entry back to where it came from.
#include <vesta/core/op_support.hpp>
#include <vesta/core/ops.hpp>

namespace vesta {

Tensor reshape(const Tensor& x, Index rows, Index cols) {
  if (rows < 0 || cols < 0 || rows * cols != x.size()) {
    throw ShapeError(fmt::format("reshape: cannot view {} ({} elements) as {}", x.shape(), x.size(),
                                 shape_str(rows, cols)));
  }
  const Operand X = Operand::of(x);
  if (!X.requires_grad()) {
    return constant_result(rows, cols,
                           [&](Scalar* out) { std::copy(X.value, X.value + X.size(), out); });
  }
  // Same column-major order: the result shares the input's values.
  Node* y = tape().record_alias(X.value, rows, cols, [xn = X.node](Node& self) {
    xn->accumulate(ConstArrayMap(self.adj, xn->rows, xn->cols));
  });
  return Tensor::from_node(y);
}

namespace {

// Stacks parts along one axis. `horizontal`: side by side (equal rows); otherwise one above
// the other (equal columns). Part k occupies columns (or rows) [offset[k], offset[k+1]).
Tensor stack(const char* name, const std::vector<Tensor>& parts, bool horizontal) {
  if (parts.empty()) throw ShapeError(fmt::format("{}: no Tensors to stack", name));
  std::vector<Operand> ops;
  ops.reserve(parts.size());
  for (const Tensor& t : parts) ops.push_back(Operand::of(t));
  Index rows = ops[0].rows;
  Index cols = ops[0].cols;
  bool any_grad = ops[0].requires_grad();
  for (std::size_t k = 1; k < ops.size(); ++k) {
    const Operand& o = ops[k];
    const Index fixed = horizontal ? o.rows : o.cols;
    if (fixed != (horizontal ? rows : cols)) {
      throw_shape_mismatch(name, ops[0], o, horizontal ? "differ in rows" : "differ in columns");
    }
    (horizontal ? cols : rows) += horizontal ? o.cols : o.rows;
    any_grad = any_grad || o.requires_grad();
  }
  auto fill = [&](Scalar* out) {
    MatrixMap y(out, rows, cols);
    Index offset = 0;
    for (const Operand& o : ops) {
      if (horizontal) {
        y.middleCols(offset, o.cols) = o.matrix();
        offset += o.cols;
      } else {
        y.middleRows(offset, o.rows) = o.matrix();
        offset += o.rows;
      }
    }
  };
  if (!any_grad) return constant_result(rows, cols, fill);

  const std::size_t n = ops.size();
  Node** nodes = tape().allocate<Node*>(n);
  Index* offsets = tape().allocate<Index>(n + 1);
  offsets[0] = 0;
  for (std::size_t k = 0; k < n; ++k) {
    nodes[k] = ops[k].node;
    offsets[k + 1] = offsets[k] + (horizontal ? ops[k].cols : ops[k].rows);
  }
  return recorded_result(rows, cols, fill, [nodes, offsets, n, horizontal](Node& y) {
    const ConstArrayMap g(y.adj, y.rows, y.cols);
    for (std::size_t k = 0; k < n; ++k) {
      Node* p = nodes[k];
      if (p == nullptr) continue;
      const Index len = offsets[k + 1] - offsets[k];
      if (horizontal) {
        p->accumulate(g.middleCols(offsets[k], len));
      } else {
        p->accumulate(g.middleRows(offsets[k], len));
      }
    }
  });
}

}  // namespace

Tensor hstack(const std::vector<Tensor>& parts) { return stack("hstack", parts, true); }

Tensor vstack(const std::vector<Tensor>& parts) { return stack("vstack", parts, false); }

Tensor append_ones_column(const Tensor& x) {
  const Operand X = Operand::of(x);
  const Index R = X.rows;
  const Index C = X.cols;
  auto fill = [&](Scalar* out) {
    MatrixMap y(out, R, C + 1);
    y.leftCols(C) = X.matrix();
    y.col(C).setOnes();
  };
  if (!X.requires_grad()) return constant_result(R, C + 1, fill);
  return recorded_result(R, C + 1, fill, [xn = X.node](Node& y) {
    xn->accumulate(ConstArrayMap(y.adj, xn->rows, xn->cols));  // the first C columns
  });
}

Tensor gather_rows(const Tensor& x, const std::vector<Index>& indices) {
  const Operand X = Operand::of(x);
  const Index n = static_cast<Index>(indices.size());
  for (Index k = 0; k < n; ++k) {
    const Index i = indices[static_cast<std::size_t>(k)];
    if (i < 0 || i >= X.rows) {
      throw ShapeError(
          fmt::format("gather_rows: indices[{}] is {}, but the Tensor is {} (rows 0..{})", k, i,
                      shape_str(X.rows, X.cols), X.rows - 1));
    }
  }
  auto fill = [&](Scalar* out) {
    MatrixMap y(out, n, X.cols);
    const ConstMatrixMap v = X.matrix();
    for (Index k = 0; k < n; ++k) y.row(k) = v.row(indices[static_cast<std::size_t>(k)]);
  };
  if (!X.requires_grad()) return constant_result(n, X.cols, fill);
  Index* idx = tape().allocate<Index>(indices.size());
  std::copy(indices.begin(), indices.end(), idx);
  return recorded_result(n, X.cols, fill, [xn = X.node, idx](Node& y) {
    xn->touch();
    MatrixMap dx = xn->adj_matrix();
    const ConstMatrixMap g(y.adj, y.rows, y.cols);
    for (Index k = 0; k < y.rows; ++k) dx.row(idx[k]) += g.row(k);
  });
}

Tensor gather_cols(const Tensor& x, const std::vector<Index>& indices) {
  const Operand X = Operand::of(x);
  const Index n = static_cast<Index>(indices.size());
  for (Index k = 0; k < n; ++k) {
    const Index j = indices[static_cast<std::size_t>(k)];
    if (j < 0 || j >= X.cols) {
      throw ShapeError(
          fmt::format("gather_cols: indices[{}] is {}, but the Tensor is {} (columns 0..{})", k, j,
                      shape_str(X.rows, X.cols), X.cols - 1));
    }
  }
  auto fill = [&](Scalar* out) {
    MatrixMap y(out, X.rows, n);
    const ConstMatrixMap v = X.matrix();
    for (Index k = 0; k < n; ++k) y.col(k) = v.col(indices[static_cast<std::size_t>(k)]);
  };
  if (!X.requires_grad()) return constant_result(X.rows, n, fill);
  Index* idx = tape().allocate<Index>(indices.size());
  std::copy(indices.begin(), indices.end(), idx);
  return recorded_result(X.rows, n, fill, [xn = X.node, idx](Node& y) {
    xn->touch();
    MatrixMap dx = xn->adj_matrix();
    const ConstMatrixMap g(y.adj, y.rows, y.cols);
    for (Index k = 0; k < y.cols; ++k) dx.col(idx[k]) += g.col(k);
  });
}

namespace {

// The integer values of `index` as positions in 0..n-1 (column-major order), or a ShapeError
// naming the op, the entry and the value.
std::vector<Index> positions(const char* op, const Tensor& index, Index n, const char* what) {
  const ConstMatrixMap v = index.value();
  std::vector<Index> out(static_cast<std::size_t>(v.size()));
  for (Index k = 0; k < v.size(); ++k) {
    const Scalar x = v.data()[k];
    const auto i = static_cast<Index>(x);
    if (!(x >= 0 && x < Scalar(n)) || Scalar(i) != x) {
      throw ShapeError(fmt::format("{}: index{} is {}, but must be an integer {} in 0..{}", op,
                                   entry_str(v.rows(), v.cols(), k), x, what, n - 1));
    }
    out[static_cast<std::size_t>(k)] = i;
  }
  return out;
}

}  // namespace

Tensor take(const Tensor& x, const Tensor& index) {
  const Operand X = Operand::of(x);
  const std::vector<Index> pos = positions("take", index, X.size(), "entry of x");
  const Index r = index.rows(), c = index.cols();
  auto fill = [&](Scalar* out) {
    for (std::size_t k = 0; k < pos.size(); ++k) out[k] = X.value[pos[k]];
  };
  if (!X.requires_grad()) return constant_result(r, c, fill);
  Index* idx = tape().allocate<Index>(pos.size());
  std::copy(pos.begin(), pos.end(), idx);
  return recorded_result(r, c, fill, [xn = X.node, idx](Node& y) {
    xn->touch();
    for (Index k = 0; k < y.size(); ++k) xn->adj[idx[k]] += y.adj[k];
  });
}

Tensor take_rows(const Tensor& x, const Tensor& index) {
  if (index.rows() != 1 && index.cols() != 1) {
    throw ShapeError(fmt::format("take_rows: index is {}, but must be a row or a column of indices",
                                 index.shape()));
  }
  return gather_rows(x, positions("take_rows", index, x.rows(), "row of x"));
}

Tensor slice_cols(const Tensor& x, Index start, Index count) {
  if (start < 0 || count < 0 || start + count > x.cols()) {
    throw ShapeError(fmt::format("slice_cols: columns [{}, {}) are outside a {} Tensor", start,
                                 start + count, x.shape()));
  }
  const Operand X = Operand::of(x);
  const Index R = X.rows;
  if (!X.requires_grad()) {
    return constant_result(R, count, [&](Scalar* out) {
      MatrixMap(out, R, count) = X.matrix().middleCols(start, count);
    });
  }
  // Columns are contiguous in column-major storage: the slice shares the input's values.
  Node* y = tape().record_alias(X.value + start * R, R, count, [xn = X.node, start](Node& self) {
    xn->touch();
    xn->adj_matrix().middleCols(start, self.cols) += ConstMatrixMap(self.adj, self.rows, self.cols);
  });
  return Tensor::from_node(y);
}

}  // namespace vesta
