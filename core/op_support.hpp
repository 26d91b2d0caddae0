// Writing a differentiable op: the API that vesta's own ops are written with, public so that a
// user's fused op is a first-class one (one tape node, no intermediate matrices).
//
// An op reads each input as an Operand (its values, shape, and tape node when it requires a
// gradient). When no input requires a gradient it returns a constant_result; otherwise it
// records one node with recorded_result, giving the forward fill and the backward step. The
// backward step runs once, in reverse creation order, with the node's adjoint complete: it
// adds adj * (d output / d input) into each input node with accumulate(). It is stored on the
// tape and never destroyed, so it may capture only pointers and numbers; values it needs from
// a constant input are kept alive with Operand::stable(). A fused op saves the nodes and
// matrices of the chain it replaces, which is what makes it faster.
//
//     // y = a * x + b for a number a, fused into one node:
//     Tensor axpb(const Tensor& x, Scalar a, Scalar b) {
//       const Operand X = Operand::of(x);
//       auto fill = [&](Scalar* out) { ArrayMap(out, X.rows, X.cols) = a * X.array() + b; };
//       if (!X.requires_grad()) return constant_result(X.rows, X.cols, fill);
//       return recorded_result(X.rows, X.cols, fill, [xn = X.node, a](Node& y) {
//         xn->accumulate(a * y.adj_array());
//       });
//     }
//
// An elementwise function is shorter still with unary_op: unary_op(x, f, df) with f the
// function and df its derivative as array expressions. examples/custom_op.cpp writes and
// checks a fused op against finite differences.
#pragma once

#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include <vesta/core/parallel.hpp>
#include <vesta/core/tensor.hpp>

namespace vesta {

/// An op's view of one input Tensor.
struct Operand {
  const Scalar* value;   ///< The values, column-major.
  Index rows;            ///< Number of rows.
  Index cols;            ///< Number of columns.
  Node* node;            ///< null for a constant
  const Tensor* source;  ///< the Tensor this was read from (valid during the op's forward)

  /// Reads `t`; a leaf enters the current tape, a stale recorded value throws.
  static Operand of(const Tensor& t) {
    if (t.node_ != nullptr) {
      Node* n = t.live_node();
      return {n->value, t.rows_, t.cols_, n, &t};
    }
    if (t.is_leaf()) {
      Node* n = tape().leaf_node(t.storage_);
      return {n->value, t.rows_, t.cols_, n, &t};
    }
    return {t.data_ptr(), t.rows_, t.cols_, nullptr, &t};
  }

  /// Number of entries.
  Index size() const { return rows * cols; }
  /// Whether the input is on the tape (its node receives an adjoint).
  bool requires_grad() const { return node != nullptr; }
  /// The values as an Eigen array map.
  ConstArrayMap array() const { return {value, rows, cols}; }
  /// The values as an Eigen matrix map.
  ConstMatrixMap matrix() const { return {value, rows, cols}; }

  /// Values that stay valid and unchanged until the tape is reset, for a backward step to
  /// read: a recorded value as it is, a constant kept alive (or copied, if held inline).
  const Scalar* stable() const {
    if (node != nullptr) return node->value;
    if (source->storage_) return tape().retain(source->storage_);
    return tape().retain(*value);
  }
};

/// A constant result of shape rows x cols whose values `fill(Scalar*)` writes.
template <class Fill>
Tensor constant_result(Index rows, Index cols, Fill&& fill) {
  if (rows == 1 && cols == 1) {
    // One packet of room: fill() runs vectorised code for any length, and GCC warns about
    // the (never taken) full-packet store into a single Scalar.
    alignas(64) Scalar s[64 / sizeof(Scalar)];
    fill(s);
    return Tensor(s[0]);
  }
  Scalar* values = nullptr;
  Tensor t = Tensor::uninitialized(rows, cols, &values);
  fill(values);
  return t;
}

/// Records a node of shape rows x cols with backward step `backward(Node& self)`, lets
/// `fill(Scalar*)` write its value, and returns it as a Tensor.
template <class Fill, class Backward>
Tensor recorded_result(Index rows, Index cols, Fill&& fill, Backward&& backward) {
  Node* node = tape().record(rows, cols, std::forward<Backward>(backward));
  fill(node->value);
  return Tensor::from_node(node);
}

namespace detail {
/// node.accumulate(...) cut into `parts` stretches of entries, one per thread (for_each_stretch):
/// `stretch(first, len)` is the contribution to entries [first, first + len) as an array
/// expression of len x 1.
template <class Stretch>
void accumulate_in_stretches(Node& node, int parts, const Stretch& stretch) {
  const bool add = node.touched;
  node.touched = true;
  for_each_stretch(node.size(), parts, [&](int, Index first, Index len) {
    ArrayMap a(node.adj + first, len, 1);
    if (add) {
      a += stretch(first, len);
    } else {
      a = stretch(first, len);
    }
  });
}

/// unary_op for one number (a scalar site's op): f and df evaluated on 1x1 fixed-size arrays,
/// which is the arithmetic the general path does for a single entry, without its loops.
template <class F, class DF>
Tensor scalar_unary_op(const Operand& X, F& f, DF& df) {
  using One = Eigen::Array<Scalar, 1, 1>;
  const Scalar y = One(f(One::Constant(*X.value)))(0, 0);
  if (!X.requires_grad()) return Tensor(y);
  Node* node = tape().record(1, 1, [xn = X.node, df](Node& out) {
    xn->accumulate_scalar(out.adj[0] *
                          One(df(One::Constant(*xn->value), One::Constant(out.value[0])))(0, 0));
  });
  node->value[0] = y;
  return Tensor::from_node(node);
}
}  // namespace detail

/// An elementwise function y = f(x) with dy/dx given by df(x, y) (an array expression).
/// `f(x)` returns an array expression, or `f(x, out)` writes into `out` when one expression
/// cannot say it. `df` may capture only numbers (it is stored on the tape). With more than one
/// thread allowed (set_num_threads), a large x is cut into stretches of entries, and f and df
/// run on several threads at once, each on a column of one stretch: they must act entry by
/// entry and write nothing but their result.
template <class F, class DF>
Tensor unary_op(const Tensor& x, F f, DF df) {
  const Operand X = Operand::of(x);
  if constexpr (!std::is_invocable_v<F, const ConstArrayMap&, ArrayMap&>) {
    if (X.rows == 1 && X.cols == 1) return detail::scalar_unary_op(X, f, df);
  }
  auto apply = [&f](const ConstArrayMap& in, ArrayMap& y) {
    if constexpr (std::is_invocable_v<F, const ConstArrayMap&, ArrayMap&>) {
      f(in, y);
    } else {
      y = f(in);
    }
  };
  // A large op is cut into stretches of entries, one per thread (core/parallel.hpp).
  const int parts = detail::elementwise_parts(X.size());
  auto fill = [&](Scalar* out) {
    if (parts == 1) {
      ArrayMap y(out, X.rows, X.cols);
      apply(X.array(), y);
      return;
    }
    detail::for_each_stretch(X.size(), parts, [&](int, Index first, Index len) {
      ArrayMap y(out + first, len, 1);
      apply(ConstArrayMap(X.value + first, len, 1), y);
    });
  };
  if (!X.requires_grad()) return constant_result(X.rows, X.cols, fill);
  return recorded_result(X.rows, X.cols, fill, [xn = X.node, df, parts](Node& y) {
    if (parts == 1) {
      const ConstArrayMap xv = xn->value_array();
      const ConstArrayMap yv = y.value_array();
      xn->accumulate(y.adj_array() * df(xv, yv));
      return;
    }
    detail::accumulate_in_stretches(*xn, parts, [&](Index first, Index len) {
      const ConstArrayMap xv(xn->value + first, len, 1), yv(y.value + first, len, 1),
          g(y.adj + first, len, 1);
      return g * df(xv, yv);
    });
  });
}

/// sum_k weight(k) * term(k) over k < n, as one node: term(k) gives the k-th 1x1 Tensor and
/// weight(k) its weight (or pass nullptr for weights of 1). Terms kept in a larger structure
/// (an ELBO's rows) are summed where they are, without copying them out; sum_of is this over
/// spans.
template <class Term, class Weight>
Tensor weighted_sum(std::size_t n, const Term& term, const Weight& weight) {
  constexpr bool weighted = !std::is_null_pointer_v<Weight>;
  // One pass for the total and the nodes of the terms that carry a gradient, with their
  // weights, for the backward step (room for every term).
  Node** nodes = tape().allocate<Node*>(n);
  Scalar* w = weighted ? tape().allocate(n) : nullptr;
  Scalar total = 0;
  std::size_t recorded = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const Tensor& t = term(k);
    if (t.rows() != 1 || t.cols() != 1) {
      throw ShapeError(
          fmt::format("sum_of: term {} is {}, but every term must be 1x1", k, t.shape()));
    }
    const Operand x = Operand::of(t);
    Scalar wk = 1;
    if constexpr (weighted) wk = weight(k);
    total += weighted ? wk * *x.value : *x.value;
    if (x.node == nullptr) continue;
    if constexpr (weighted) w[recorded] = wk;
    nodes[recorded++] = x.node;
  }
  if (recorded == 0) return Tensor(total);
  return recorded_result(
      1, 1, [total](Scalar* out) { *out = total; },
      [nodes, w, recorded](Node& y) {
        const Scalar g = y.adj[0];
        for (std::size_t k = 0; k < recorded; ++k)
          nodes[k]->accumulate_scalar(w != nullptr ? w[k] * g : g);
      });
}

[[noreturn]] inline void throw_shape_mismatch(const char* op, const Operand& a, const Operand& b,
                                              const char* requirement) {
  throw ShapeError(fmt::format("{}: shapes {} and {} {}", op, shape_str(a.rows, a.cols),
                               shape_str(b.rows, b.cols), requirement));
}

}  // namespace vesta
