// Elementwise ops: arithmetic with broadcasting, and functions of one argument.
#include <cmath>
#include <type_traits>

#include <boost/math/constants/constants.hpp>
#include <boost/math/special_functions/digamma.hpp>
#include <boost/math/special_functions/erf.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <boost/math/special_functions/trigamma.hpp>

#include <vesta/core/op_support.hpp>
#include <vesta/core/ops.hpp>
#include <vesta/core/softplus_math.hpp>

namespace vesta {

namespace {

using Column = Eigen::Array<Scalar, Eigen::Dynamic, 1>;
using ColumnMap = Eigen::Map<Column>;
using ConstColumnMap = Eigen::Map<const Column>;

// ---- broadcasting ---------------------------------------------------------------------
//
// A binary op on an R x C result is evaluated column by column. Each operand's column j is
// either a run of R values (the operand has R rows) or one value repeated (it has one row);
// an operand with one column reuses column 0 for every j. When both operands are R x C or
// 1x1 the whole result is treated as one column of R*C values, so the common cases run as
// single vectorised loops.

struct Layout {
  Index rows;  // rows of each column of the result
  Index cols;  // number of columns of the result
};

// How one operand is read in a Layout.
struct Source {
  const Scalar* p;
  Index stride;  // distance between columns (0: the same column for every j)
  bool run;      // true: column j is p[stride*j .. +rows); false: the single value p[stride*j]
};

struct Broadcast {
  Index rows;
  Index cols;
  Layout layout;
  bool flat;  // evaluated as one column of rows*cols values
};

Broadcast broadcast(const char* op, const Operand& a, const Operand& b) {
  auto dim = [](Index x, Index y, Index& out) {
    if (x == y || y == 1) {
      out = x;
    } else if (x == 1) {
      out = y;
    } else {
      return false;
    }
    return true;
  };
  Broadcast bc{};
  if (!dim(a.rows, b.rows, bc.rows) || !dim(a.cols, b.cols, bc.cols)) {
    throw_shape_mismatch(op, a, b, "do not broadcast (each dimension must be equal or 1)");
  }
  auto full_or_scalar = [&](const Operand& o) {
    return (o.rows == bc.rows && o.cols == bc.cols) || o.size() == 1;
  };
  bc.flat = full_or_scalar(a) && full_or_scalar(b);
  bc.layout = bc.flat ? Layout{bc.rows * bc.cols, 1} : Layout{bc.rows, bc.cols};
  return bc;
}

Source source(const Scalar* p, Index rows, Index cols, const Broadcast& bc) {
  if (bc.flat) {
    const bool run = rows * cols == bc.layout.rows;
    return {p, 0, run};
  }
  const bool run = rows == bc.layout.rows;
  return {p, cols == 1 ? 0 : rows, run};
}

Source source(const Operand& o, const Broadcast& bc) { return source(o.value, o.rows, o.cols, bc); }

// Calls f(j, column_a, column_b) for each column j of the layout, with each column given
// as an Eigen array expression (a mapped run or a constant).
template <class F>
void for_each_column(const Layout& L, const Source& a, const Source& b, F&& f) {
  const Index n = L.rows;
  auto run = [n](const Source& s, Index j) { return ConstColumnMap(s.p + s.stride * j, n); };
  auto one = [n](const Source& s, Index j) { return Column::Constant(n, s.p[s.stride * j]); };
  if (a.run && b.run) {
    for (Index j = 0; j < L.cols; ++j) f(j, run(a, j), run(b, j));
  } else if (a.run) {
    for (Index j = 0; j < L.cols; ++j) f(j, run(a, j), one(b, j));
  } else if (b.run) {
    for (Index j = 0; j < L.cols; ++j) f(j, one(a, j), run(b, j));
  } else {
    for (Index j = 0; j < L.cols; ++j) f(j, one(a, j), one(b, j));
  }
}

// The gradient of add (kSign 1) and sub's second operand (kSign -1): the upstream gradient
// itself, or its negative. accumulate_broadcast knows it by its type and reduces the whole
// upstream gradient at once where another op goes column by column.
template <int kSign>
struct PassGradient {
  template <class G, class A, class B, class Y>
  auto operator()(const G& g, const A&, const B&, const Y&) const {
    if constexpr (kSign > 0) {
      return g;
    } else {
      return -g;
    }
  }
};

template <class G>
inline constexpr int pass_gradient_sign = 0;
template <int kSign>
inline constexpr int pass_gradient_sign<PassGradient<kSign>> = kSign;

// A broadcast target of add or sub: the upstream gradient g (the result's R x C), or its
// negative, summed over the dimensions along which the target was broadcast. A bias row
// (1 x C) takes g's column sums, a column (R x 1) its row sums, and a target of the result's
// shape g itself, each as one Eigen expression rather than one per column. The row and column
// are written through maps of that shape, not Node::accumulate's R x C map: Eigen vectorises a
// column sum across columns only into a destination it knows to be a row (through the R x C
// map the bias row of 32 x 784 took 1.5x as long).
template <int kSign>
void accumulate_passed(Node* target, const Broadcast& bc, const Scalar* g) {
  const Eigen::Map<const Array> G(g, bc.rows, bc.cols);
  auto add_to = [&](auto&& adj, const auto& term) {
    if constexpr (kSign > 0) {
      adj += term;
    } else {
      adj -= term;
    }
  };
  if (target->rows == bc.rows && target->cols == bc.cols) {
    ArrayMap adj(target->adj, bc.rows, bc.cols);
    if (target->touched) {
      add_to(adj, G);
    } else if constexpr (kSign > 0) {
      adj = G;
    } else {
      adj = -G;
    }
    target->touched = true;
    return;
  }
  target->touch();
  if (target->rows == 1 && target->cols == bc.cols) {
    add_to(Eigen::Map<Eigen::Array<Scalar, 1, Eigen::Dynamic>>(target->adj, bc.cols),
           G.colwise().sum());
  } else if (target->cols == 1 && target->rows == bc.rows) {
    add_to(Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>>(target->adj, bc.rows),
           G.rowwise().sum());
  } else {  // 1x1
    add_to(ArrayMap(target->adj, 1, 1), Array::Constant(1, 1, G.sum()));
  }
}

// Adds the per-column gradient contributions grad(j, ...) of a broadcast op to `target`,
// summing over the rows and columns along which `target` was broadcast.
template <class G>
void accumulate_broadcast(Node* target, const Broadcast& bc, const Source& a, const Source& b,
                          const Scalar* g, const Scalar* y, G&& grad) {
  const Layout& L = bc.layout;
  constexpr int kPassSign = pass_gradient_sign<std::remove_cvref_t<G>>;
  if constexpr (kPassSign != 0) {
    if (!bc.flat) return accumulate_passed<kPassSign>(target, bc, g);
  }
  const Source t = source(target->adj, target->rows, target->cols, bc);
  auto column_grad = [&](Index j, const auto& ca, const auto& cb) {
    const ConstColumnMap gj(g + L.rows * j, L.rows);
    const ConstColumnMap yj(y + L.rows * j, L.rows);
    return grad(gj, ca, cb, yj);
  };
  if (bc.flat && t.run) {  // same shape as the result: no reduction, one column
    const ConstColumnMap ga(g, L.rows);
    const ConstColumnMap ya(y, L.rows);
    for_each_column(L, a, b, [&](Index, const auto& ca, const auto& cb) {
      ColumnMap adj(target->adj, L.rows);
      if (target->touched) {
        adj += grad(ga, ca, cb, ya);
      } else {
        adj = grad(ga, ca, cb, ya);
        target->touched = true;
      }
    });
    return;
  }
  // A target of the result's shape receives each column once: the first contribution can
  // assign it, as above, rather than add to zeros. Others (summed over a broadcast) start
  // from zero.
  const bool assign = !target->touched && t.run && t.stride != 0;
  if (assign) {
    target->touched = true;
  } else {
    target->touch();
  }
  Scalar* adj = target->adj;
  for_each_column(L, a, b, [&](Index j, const auto& ca, const auto& cb) {
    if (t.run) {
      ColumnMap column(adj + t.stride * j, L.rows);
      if (assign) {
        column = column_grad(j, ca, cb);
      } else {
        column += column_grad(j, ca, cb);
      }
    } else {
      adj[t.stride * j] += column_grad(j, ca, cb).sum();
    }
  });
}

// ---- scalars -------------------------------------------------------------------------
//
// Two 1x1 operands are the whole of a scalar model's arithmetic (a site's location, a
// potential written with numbers), where the broadcasting machinery above costs more than
// the op. The value is computed on fixed-size 1x1 arrays, which compile to scalar code; the
// backward step keeps the two input values in its closure (instead of kept-alive storage)
// and runs the same expressions as the general case on them, so that a 1x1 op's gradient
// is bit for bit the one the same op gives entry by entry.
using Array1x1 = Eigen::Array<Scalar, 1, 1>;

// The flat branch of accumulate_broadcast for one entry. It is kept apart on purpose: with
// both paths calling one shared function, GCC fused a product into an adjoint's addition
// (an FMA) in one path and not the other, and a 1x1 gradient differed from the entrywise one
// in the last bit ("an op on 1x1 Tensors gives the values and gradients it gives entry by
// entry" catches that).
template <class G>
void accumulate_one(Node* target, const ConstColumnMap& g, const ConstColumnMap& a,
                    const ConstColumnMap& b, const ConstColumnMap& y, G&& grad) {
  ColumnMap adj(target->adj, 1);
  if (target->touched) {
    adj += grad(g, a, b, y);
  } else {
    adj = grad(g, a, b, y);
    target->touched = true;
  }
}

template <class F, class DA, class DB>
Tensor scalar_binary_op(const Operand& A, const Operand& B, F f, DA da, DB db) {
  const Scalar a = *A.value;
  const Scalar b = *B.value;
  const Scalar y = Array1x1(f(Array1x1(a), Array1x1(b)))(0);
  if (!A.requires_grad() && !B.requires_grad()) return Tensor(y);
  Node* node = tape().record(1, 1, [an = A.node, bn = B.node, a, b, da, db](Node& out) {
    const ConstColumnMap g(out.adj, 1), yv(out.value, 1), av(&a, 1), bv(&b, 1);
    if (an != nullptr) accumulate_one(an, g, av, bv, yv, da);
    if (bn != nullptr) accumulate_one(bn, g, av, bv, yv, db);
  });
  node->value[0] = y;
  return Tensor::from_node(node);
}

// A broadcasting binary op: y = f(a, b); da(g, a, b, y) and db(g, a, b, y) give the
// gradient contributions (before reduction to each operand's shape) from upstream g.
template <class F, class DA, class DB>
Tensor binary_op(const char* name, const Tensor& a, const Tensor& b, F f, DA da, DB db) {
  const Operand A = Operand::of(a);
  const Operand B = Operand::of(b);
  if (A.size() == 1 && B.size() == 1) return scalar_binary_op(A, B, f, da, db);
  const Broadcast bc = broadcast(name, A, B);
  auto fill = [&](Scalar* out) {
    for_each_column(bc.layout, source(A, bc), source(B, bc),
                    [&](Index j, const auto& ca, const auto& cb) {
                      ColumnMap(out + bc.layout.rows * j, bc.layout.rows) = f(ca, cb);
                    });
  };
  if (!A.requires_grad() && !B.requires_grad()) return constant_result(bc.rows, bc.cols, fill);

  const Source sa = source(A.stable(), A.rows, A.cols, bc);
  const Source sb = source(B.stable(), B.rows, B.cols, bc);
  return recorded_result(bc.rows, bc.cols, fill,
                         [an = A.node, bn = B.node, bc, sa, sb, da, db](Node& y) {
                           if (an != nullptr)
                             accumulate_broadcast(an, bc, sa, sb, y.adj, y.value, da);
                           if (bn != nullptr)
                             accumulate_broadcast(bn, bc, sa, sb, y.adj, y.value, db);
                         });
}

// Boost.Math special functions returning NaN or infinity like <cmath> instead of throwing,
// and computing in the argument's own precision.
using Policy = boost::math::policies::policy<
    boost::math::policies::domain_error<boost::math::policies::errno_on_error>,
    boost::math::policies::pole_error<boost::math::policies::errno_on_error>,
    boost::math::policies::overflow_error<boost::math::policies::errno_on_error>,
    boost::math::policies::evaluation_error<boost::math::policies::errno_on_error>,
    boost::math::policies::promote_float<false>, boost::math::policies::promote_double<false>>;

}  // namespace

// ---- arithmetic ---------------------------------------------------------------------------

Tensor add(const Tensor& a, const Tensor& b) {
  return binary_op(
      "add", a, b, [](const auto& x, const auto& y) { return x + y; }, PassGradient<1>{},
      PassGradient<1>{});
}

Tensor sub(const Tensor& a, const Tensor& b) {
  return binary_op(
      "sub", a, b, [](const auto& x, const auto& y) { return x - y; }, PassGradient<1>{},
      PassGradient<-1>{});
}

Tensor mul(const Tensor& a, const Tensor& b) {
  return binary_op(
      "mul", a, b, [](const auto& x, const auto& y) { return x * y; },
      [](const auto& g, const auto&, const auto& y, const auto&) { return g * y; },
      [](const auto& g, const auto& x, const auto&, const auto&) { return g * x; });
}

Tensor div(const Tensor& a, const Tensor& b) {
  return binary_op(
      "div", a, b, [](const auto& x, const auto& y) { return x / y; },
      [](const auto& g, const auto&, const auto& y, const auto&) { return g / y; },
      [](const auto& g, const auto&, const auto& y, const auto& out) { return -g * out / y; });
}

Tensor pow(const Tensor& a, const Tensor& b) {
  return binary_op(
      "pow", a, b, [](const auto& x, const auto& y) { return x.pow(y); },
      [](const auto& g, const auto& x, const auto& y, const auto&) {
        return g * y * x.pow(y - Scalar(1));
      },
      [](const auto& g, const auto& x, const auto&, const auto& out) {
        // d(x^y)/dy = x^y log x, taken as 0 at x = 0 (where x^y is 0 or 1 for y >= 0).
        return g * (x == Scalar(0)).select(Scalar(0), out * x.log());
      });
}

Tensor pow(const Tensor& x, Scalar p) {
  return unary_op(
      x, [p](const auto& v) { return v.pow(p); },
      [p](const auto& v, const auto&) { return p * v.pow(p - Scalar(1)); });
}

Tensor neg(const Tensor& x) {
  return unary_op(
      x, [](const auto& v) { return -v; },
      [](const auto& v, const auto&) { return Array::Constant(v.rows(), v.cols(), Scalar(-1)); });
}

// ---- elementwise functions ---------------------------------------------------------------

Tensor exp(const Tensor& x) {
  return unary_op(
      x, [](const auto& v) { return v.exp(); }, [](const auto&, const auto& y) { return y; });
}

Tensor log(const Tensor& x) {
  return unary_op(
      x, [](const auto& v) { return v.log(); },
      [](const auto& v, const auto&) { return v.inverse(); });
}

Tensor log1p(const Tensor& x) {
  return unary_op(
      x, [](const auto& v) { return v.log1p(); },
      [](const auto& v, const auto&) { return (v + Scalar(1)).inverse(); });
}

Tensor expm1(const Tensor& x) {
  return unary_op(
      x, [](const auto& v) { return v.expm1(); },
      [](const auto&, const auto& y) { return y + Scalar(1); });
}

Tensor sqrt(const Tensor& x) {
  return unary_op(
      x, [](const auto& v) { return v.sqrt(); },
      [](const auto&, const auto& y) { return Scalar(0.5) / y; });
}

Tensor square(const Tensor& x) {
  return unary_op(
      x, [](const auto& v) { return v.square(); },
      [](const auto& v, const auto&) { return Scalar(2) * v; });
}

Tensor abs(const Tensor& x) {
  return unary_op(
      x, [](const auto& v) { return v.abs(); },
      [](const auto& v, const auto&) { return v.sign(); });
}

namespace {
// Eigen 3.4 vectorises tanh for float but calls std::tanh element by element for double,
// which made tanh layers cost more than their GEMMs. For double: 2 / (1 + exp(-2x)) - 1, one
// vectorised pass (relative error below 3e-15 for |x| >= 0.1), then the Taylor series to
// x^13 for the entries below 0.1, where that difference would cancel (truncation error
// below 1e-16 relative). Eigen's select() is not vectorised, hence two passes.
template <class T = Scalar>
void tanh_values(const Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic>>& x,
                 Eigen::Map<Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic>>& y) {
  if constexpr (std::is_same_v<T, double>) {
    y = 2 / (1 + (-2 * x).exp()) - 1;
    const Index n = x.size();
    const double* xs = x.data();
    double* ys = y.data();
    for (Index i = 0; i < n; ++i) {
      const double v = xs[i];
      if (std::abs(v) < 0.1) {
        const double v2 = v * v;
        ys[i] = v * (1 + v2 * (-1.0 / 3 +
                               v2 * (2.0 / 15 +
                                     v2 * (-17.0 / 315 +
                                           v2 * (62.0 / 2835 + v2 * (-1382.0 / 155925 +
                                                                     v2 * (21844.0 / 6081075)))))));
      }
    }
  } else {
    y = x.tanh();
  }
}
}  // namespace

Tensor tanh(const Tensor& x) {
  return unary_op(
      x, [](const ConstArrayMap& v, ArrayMap& y) { tanh_values(v, y); },
      [](const auto&, const auto& y) { return Scalar(1) - y.square(); });
}

Tensor sigmoid(const Tensor& x) {
  return unary_op(
      x, [](const auto& v) { return v.logistic(); },
      [](const auto&, const auto& y) { return y * (Scalar(1) - y); });
}

Tensor identity(const Tensor& x) { return x; }

Tensor relu(const Tensor& x) {
  const Operand X = Operand::of(x);
  auto fill = [&](Scalar* out) { ArrayMap(out, X.rows, X.cols) = X.array().max(Scalar(0)); };
  if (!X.requires_grad()) return constant_result(X.rows, X.cols, fill);
  // The backward step is a plain loop: Eigen 3.4 does not vectorise a comparison's mask, the
  // compiler vectorises the loop.
  return recorded_result(X.rows, X.cols, fill, [xn = X.node](Node& y) {
    const Scalar* yv = y.value;
    const Scalar* g = y.adj;
    Scalar* gx = xn->adj;
    const Index n = y.size();
    if (xn->touched) {
      for (Index i = 0; i < n; ++i) gx[i] += yv[i] > Scalar(0) ? g[i] : Scalar(0);
    } else {
      for (Index i = 0; i < n; ++i) gx[i] = yv[i] > Scalar(0) ? g[i] : Scalar(0);
      xn->touched = true;
    }
  });
}

Tensor leaky_relu(const Tensor& x, Scalar slope) {
  return unary_op(
      x, [slope](const auto& v) { return (v > Scalar(0)).select(v, slope * v); },
      [slope](const auto& v, const auto&) {
        return (v > Scalar(0)).template cast<Scalar>() * (Scalar(1) - slope) + slope;
      });
}

Tensor softplus(const Tensor& x) {
  // max(x, 0) + log1p(exp(-|x|)): exp never overflows (see softplus_math.hpp).
  return unary_op(
      x, [](const auto& v) { return detail::softplus_array(v); },
      [](const auto& v, const auto&) { return v.logistic(); });
}

Tensor log_sigmoid(const Tensor& x) {
  // min(x, 0) - log1p(exp(-|x|)).
  return unary_op(
      x, [](const auto& v) { return v.min(Scalar(0)) - detail::softplus_tail(v); },
      [](const auto& v, const auto&) { return (-v).logistic(); });
}

Tensor lgamma(const Tensor& x) {
  return unary_op(
      x,
      [](const auto& v) {
        return v.unaryExpr([](Scalar s) { return boost::math::lgamma(s, Policy()); });
      },
      [](const auto& v, const auto&) {
        return v.unaryExpr([](Scalar s) { return boost::math::digamma(s, Policy()); });
      });
}

Tensor digamma(const Tensor& x) {
  return unary_op(
      x,
      [](const auto& v) {
        return v.unaryExpr([](Scalar s) { return boost::math::digamma(s, Policy()); });
      },
      [](const auto& v, const auto&) {
        return v.unaryExpr([](Scalar s) { return boost::math::trigamma(s, Policy()); });
      });
}

Tensor erf(const Tensor& x) {
  return unary_op(
      x,
      [](const auto& v) {
        return v.unaryExpr([](Scalar s) { return boost::math::erf(s, Policy()); });
      },
      [](const auto& v, const auto&) {
        const Scalar c = Scalar(2) / boost::math::constants::root_pi<Scalar>();
        return c * (-v.square()).exp();
      });
}

Tensor clamp(const Tensor& x, Scalar lo, Scalar hi) {
  if (!(lo <= hi)) {
    throw ValueError(fmt::format("clamp: lower bound {} is above upper bound {}", lo, hi));
  }
  return unary_op(
      x, [lo, hi](const auto& v) { return v.max(lo).min(hi); },
      [lo, hi](const auto& v, const auto&) {
        return ((v >= lo) && (v <= hi)).template cast<Scalar>();
      });
}

// ---- where ------------------------------------------------------------------------------

namespace {
// Element (i, j) of an operand broadcast to a larger shape.
inline Index bindex(Index rows, Index cols, Index i, Index j) {
  return (rows == 1 ? 0 : i) + (cols == 1 ? 0 : j * rows);
}
}  // namespace

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  const Operand M = Operand::of(condition);
  const Operand A = Operand::of(a);
  const Operand B = Operand::of(b);
  if (M.requires_grad()) {
    throw ValueError("where: the condition must be a constant (it has no gradient)");
  }
  // The result's shape: a and b broadcast together, then with the condition.
  const Broadcast ab = broadcast("where", A, B);
  const Operand AB{nullptr, ab.rows, ab.cols, nullptr, nullptr};
  const Broadcast bc = broadcast("where", M, AB);
  const Index R = bc.rows;
  const Index C = bc.cols;
  auto fill = [&](Scalar* out) {
    for (Index j = 0; j < C; ++j) {
      for (Index i = 0; i < R; ++i) {
        const bool pick_a = M.value[bindex(M.rows, M.cols, i, j)] != Scalar(0);
        out[i + j * R] =
            pick_a ? A.value[bindex(A.rows, A.cols, i, j)] : B.value[bindex(B.rows, B.cols, i, j)];
      }
    }
  };
  if (!A.requires_grad() && !B.requires_grad()) return constant_result(R, C, fill);
  const Scalar* m = M.stable();
  return recorded_result(R, C, fill,
                         [m, mr = M.rows, mc = M.cols, an = A.node, bn = B.node](Node& y) {
                           // Entries where the condition holds go to a, the others to b.
                           auto scatter = [&](Node* t, bool to_a) {
                             t->touch();
                             for (Index j = 0; j < y.cols; ++j) {
                               for (Index i = 0; i < y.rows; ++i) {
                                 if ((m[bindex(mr, mc, i, j)] != Scalar(0)) == to_a) {
                                   t->adj[bindex(t->rows, t->cols, i, j)] += y.adj[i + j * y.rows];
                                 }
                               }
                             }
                           };
                           if (an != nullptr) scatter(an, true);
                           if (bn != nullptr) scatter(bn, false);
                         });
}

}  // namespace vesta
