#include <vesta/core/constraints.hpp>

#include <cmath>
#include <cstdlib>
#include <limits>

#include <fmt/format.h>

#include <vesta/core/ops.hpp>

namespace vesta {

Index Constraint::first_violation(const MatrixRef& value) const {
  if (check(value)) return -1;
  // Row-wise sets: the first row whose check fails, reported by its first entry.
  for (Index r = 0; r < value.rows(); ++r) {
    if (!check(value.row(r))) return r;
  }
  return 0;
}

bool Constraint::check_one(Scalar value) const { return check(ConstMatrixMap(&value, 1, 1)); }

namespace {

// Tolerance of a row sum of a simplex, in the build's precision.
constexpr double kSimplexTolerance = sizeof(Scalar) == 4 ? 1e-5 : 1e-10;

Scalar logit(Scalar p) { return std::log(p) - std::log1p(-p); }

// A set tested one entry at a time; each set derives through Entrywise, which gives its
// first_violation.
class Elementwise : public Constraint {
 public:
  virtual bool contains(Scalar v) const = 0;
  bool check(const MatrixRef& v) const override { return first_violation(v) < 0; }
  bool check_one(Scalar v) const override { return contains(v); }
  Index first_violation(const MatrixRef& v) const override = 0;
};

// A set tested one entry at a time by Self::contains, called directly rather than through the
// vtable: the test of every entry of a large value (a plate's data against its support, at
// every step) is then one pass that the compiler vectorises, and the entry to name is looked
// for only when there is one.
template <class Self, class Base = Elementwise>
class Entrywise : public Base {
 public:
  Index first_violation(const MatrixRef& v) const override {
    const Self& self = static_cast<const Self&>(*this);
    const Scalar* p = v.data();
    const Index n = v.size();
    // Every entry's verdict OR-ed into an integer, with no branch and no early exit, is a loop
    // the compiler vectorises (so the sets' tests below join comparisons with & and |, not
    // && and ||).
    unsigned out = 0;
    for (Index k = 0; k < n; ++k) out |= unsigned(!self.Self::contains(p[k]));
    if (out == 0) return -1;
    for (Index k = 0; k < n; ++k) {
      if (!self.Self::contains(p[k])) return k;
    }
    return -1;
  }
};

// A discrete set: membership only.
class Discrete : public Elementwise {
 public:
  bool is_continuous() const override { return false; }
  Tensor transform(const Tensor&) const override { throw no_bijection(); }
  Matrix inverse(const Matrix&) const override { throw no_bijection(); }
  Tensor log_abs_det_jacobian(const Tensor&) const override { throw no_bijection(); }

 private:
  ValueError no_bijection() const {
    return ValueError(fmt::format(
        "constraint {} is discrete: it has no bijection to unconstrained reals", name()));
  }
};

class Boolean final : public Entrywise<Boolean, Discrete> {
 public:
  std::string name() const override { return "boolean"; }
  bool contains(Scalar v) const override { return (v == 0) | (v == 1); }
};

class IntegerInterval final : public Entrywise<IntegerInterval, Discrete> {
 public:
  IntegerInterval(Scalar lo, Scalar hi) : lo_(lo), hi_(hi) {}
  std::string name() const override {
    return std::isinf(hi_)
               ? (lo_ == 0 ? "nonnegative_integer" : fmt::format("integer_interval({}, inf)", lo_))
               : fmt::format("integer_interval({}, {})", lo_, hi_);
  }
  bool contains(Scalar v) const override {
    const bool whole = v == std::floor(v);  // a local: & with a call in it reads as a mistake
    return (v >= lo_) & (v <= hi_) & whole;
  }

 private:
  Scalar lo_;
  Scalar hi_;
};

class OneHot final : public Entrywise<OneHot, Discrete> {
 public:
  std::string name() const override { return "one_hot"; }
  bool contains(Scalar v) const override { return (v == 0) | (v == 1); }
  // A row of one entry is one-hot only as 1 (its entries must also sum to 1).
  bool check_one(Scalar v) const override { return v == 1; }
  Index first_violation(const MatrixRef& v) const override {
    if (const Index k = Entrywise::first_violation(v); k >= 0) return k;
    for (Index r = 0; r < v.rows(); ++r) {
      if (v.row(r).sum() != 1) return r;
    }
    return -1;
  }
};

class Real final : public Entrywise<Real> {
 public:
  std::string name() const override { return "real"; }
  bool contains(Scalar v) const override { return !std::isnan(v); }
  Tensor transform(const Tensor& x) const override { return x; }
  Matrix inverse(const Matrix& y) const override { return y; }
  Tensor log_abs_det_jacobian(const Tensor& x) const override {
    return Tensor::zeros(x.rows(), x.cols());
  }
};

class GreaterThan final : public Entrywise<GreaterThan> {
 public:
  GreaterThan(Scalar c, bool positive, bool inclusive = false)
      : c_(c), positive_(positive), inclusive_(inclusive) {}
  std::string name() const override {
    if (inclusive_) return "nonnegative";
    return positive_ ? "positive" : fmt::format("greater_than({})", c_);
  }
  bool contains(Scalar v) const override { return inclusive_ ? v >= c_ : v > c_; }
  Tensor transform(const Tensor& x) const override { return positive_ ? exp(x) : exp(x) + c_; }
  Matrix inverse(const Matrix& y) const override { return (y.array() - c_).log().matrix(); }
  Tensor log_abs_det_jacobian(const Tensor& x) const override { return x; }

 private:
  Scalar c_;
  bool positive_;
  bool inclusive_;
};

class Interval final : public Entrywise<Interval> {
 public:
  Interval(Scalar a, Scalar b, bool unit) : a_(a), b_(b), unit_(unit) {
    if (!(a < b) || !std::isfinite(a) || !std::isfinite(b)) {
      throw ValueError(fmt::format("interval({}, {}): the bounds must be finite with a < b", a, b));
    }
  }
  std::string name() const override {
    return unit_ ? "unit_interval" : fmt::format("interval({}, {})", a_, b_);
  }
  bool contains(Scalar v) const override { return (v >= a_) & (v <= b_); }
  Tensor transform(const Tensor& x) const override {
    return unit_ ? sigmoid(x) : sigmoid(x) * (b_ - a_) + a_;
  }
  Matrix inverse(const Matrix& y) const override {
    return ((y.array() - a_) / (b_ - a_)).unaryExpr(&logit).matrix();
  }
  Tensor log_abs_det_jacobian(const Tensor& x) const override {
    // T'(x) = (b - a) sigmoid(x) sigmoid(-x).
    return log_sigmoid(x) + log_sigmoid(-x) + std::log(b_ - a_);
  }

 private:
  Scalar a_;
  Scalar b_;
  bool unit_;
};

// Stick-breaking (as Pyro's StickBreakingTransform): from x (R x K-1) to rows y of length K,
//   u_i = x_i - log(K - 1 - i),  z_i = sigmoid(u_i),  y_i = z_i * prod_{j<i} (1 - z_j),
// and the last entry takes what remains. The offsets make x = 0 the uniform simplex.
class Simplex final : public Constraint {
 public:
  std::string name() const override { return "simplex"; }
  bool check(const MatrixRef& v) const override {
    if (v.cols() == 0) return false;
    return (v.array() >= 0).all() &&
           ((v.rowwise().sum().array() - 1).abs() <= kSimplexTolerance).all();
  }
  int event_dim() const override { return 1; }
  Index unconstrained_cols(Index cols) const override { return cols - 1; }
  Index constrained_cols(Index cols) const override { return cols + 1; }

  Tensor transform(const Tensor& x) const override { return stick_breaking(x, nullptr); }
  Tensor log_abs_det_jacobian(const Tensor& x) const override {
    Tensor ldj;
    stick_breaking(x, &ldj);
    return ldj;
  }

  Matrix inverse(const Matrix& y) const override {
    const Index K = y.cols();
    Matrix x(y.rows(), K - 1);
    for (Index r = 0; r < y.rows(); ++r) {
      Scalar remaining = 1;
      for (Index i = 0; i + 1 < K; ++i) {
        const Scalar z = std::min<Scalar>(y(r, i) / remaining, 1);
        x(r, i) = logit(z) + std::log(Scalar(K - 1 - i));
        remaining -= y(r, i);
      }
    }
    return x;
  }

 private:
  static Tensor stick_breaking(const Tensor& x, Tensor* ldj) {
    const Index K = x.cols() + 1;
    std::vector<Tensor> parts;
    Tensor log_remaining = Tensor::zeros(x.rows(), 1);
    Tensor total = Tensor::zeros(x.rows(), 1);
    for (Index i = 0; i + 1 < K; ++i) {
      const Tensor u = slice_cols(x, i, 1) - std::log(Scalar(K - 1 - i));
      parts.push_back(exp(log_sigmoid(u) + log_remaining));
      if (ldj != nullptr) total = total + log_remaining + log_sigmoid(u) + log_sigmoid(-u);
      log_remaining = log_remaining + log_sigmoid(-u);
    }
    parts.push_back(exp(log_remaining));
    if (ldj != nullptr) *ldj = total;
    return hstack(parts);
  }
};

class LowerCholesky final : public Constraint {
 public:
  std::string name() const override { return "lower_cholesky"; }
  int event_dim() const override { return 2; }
  bool check(const MatrixRef& v) const override {
    if (v.rows() != v.cols()) return false;
    const Index n = v.rows();
    for (Index j = 0; j < n; ++j) {
      if (!(v(j, j) > 0)) return false;
      for (Index i = 0; i < j; ++i) {
        if (v(i, j) != 0) return false;
      }
    }
    return v.allFinite();
  }
  Tensor transform(const Tensor& x) const override {
    require_square(x.rows(), x.cols());
    const Tensor lower(strict_lower_mask(x.rows()));
    const Tensor diag(Matrix::Identity(x.rows(), x.rows()));
    // exp only of the diagonal, so a large unused upper entry cannot overflow into NaN.
    return where(lower, x, 0) + where(diag, exp(where(diag, x, 0)), 0);
  }
  Matrix inverse(const Matrix& y) const override {
    require_square(y.rows(), y.cols());
    Matrix x = y.triangularView<Eigen::StrictlyLower>();
    x.diagonal() = y.diagonal().array().log().matrix();
    return x;
  }
  Tensor log_abs_det_jacobian(const Tensor& x) const override {
    return sum(where(Tensor(Matrix::Identity(x.rows(), x.cols())), x, 0));
  }

 private:
  static void require_square(Index rows, Index cols) {
    if (rows != cols) {
      throw ShapeError(fmt::format("lower_cholesky: a Cholesky factor is square, not {}",
                                   shape_str(rows, cols)));
    }
  }
  static Matrix strict_lower_mask(Index n) {
    Matrix m = Matrix::Zero(n, n);
    m.triangularView<Eigen::StrictlyLower>().setOnes();
    return m;
  }
};

// The fixed constraints are immortal singletons, never destroyed (so they outlive any static
// that refers to them). A pointer to one owns nothing (the aliasing constructor with an empty
// owner): copying it, as every param read and every support check does, touches no shared
// reference count.
template <class C, class... Args>
ConstraintPtr immortal(Args... args) {
  return ConstraintPtr(std::shared_ptr<const void>(), new C(args...));
}

}  // namespace

ConstraintPtr detail::make_real_constraint() { return immortal<Real>(); }
ConstraintPtr detail::make_positive_constraint() { return immortal<GreaterThan>(0, true); }

namespace constraints {

ConstraintPtr nonnegative() {
  static const ConstraintPtr c = immortal<GreaterThan>(0, true, true);
  return c;
}
ConstraintPtr boolean() {
  static const ConstraintPtr c = immortal<Boolean>();
  return c;
}
ConstraintPtr nonnegative_integer() {
  static const ConstraintPtr c =
      immortal<IntegerInterval>(0, std::numeric_limits<Scalar>::infinity());
  return c;
}
ConstraintPtr integer_interval(Scalar lo, Scalar hi) {
  return std::make_shared<IntegerInterval>(lo, hi);
}
ConstraintPtr one_hot() {
  static const ConstraintPtr c = immortal<OneHot>();
  return c;
}
ConstraintPtr greater_than(Scalar c) { return std::make_shared<GreaterThan>(c, false); }
ConstraintPtr interval(Scalar a, Scalar b) { return std::make_shared<Interval>(a, b, false); }
ConstraintPtr unit_interval() {
  static const ConstraintPtr c = immortal<Interval>(0, 1, true);
  return c;
}
ConstraintPtr simplex() {
  static const ConstraintPtr c = immortal<Simplex>();
  return c;
}
ConstraintPtr lower_cholesky() {
  static const ConstraintPtr c = immortal<LowerCholesky>();
  return c;
}

ConstraintPtr from_name(const std::string& spec) {
  if (spec == "real") return real();
  if (spec == "positive") return positive();
  if (spec == "nonnegative") return nonnegative();
  if (spec == "boolean") return boolean();
  if (spec == "nonnegative_integer") return nonnegative_integer();
  if (spec == "one_hot") return one_hot();
  if (spec == "unit_interval") return unit_interval();
  if (spec == "simplex") return simplex();
  if (spec == "lower_cholesky") return lower_cholesky();
  auto args = [&](const std::string& prefix, int n, double* out) {
    if (spec.rfind(prefix + "(", 0) != 0 || spec.back() != ')') return false;
    const char* p = spec.c_str() + prefix.size() + 1;
    for (int k = 0; k < n; ++k) {
      char* end = nullptr;
      out[k] = std::strtod(p, &end);
      if (end == p) return false;
      p = end;
      while (*p == ',' || *p == ' ') ++p;
    }
    return *p == ')';
  };
  double v[2];
  if (args("greater_than", 1, v)) return greater_than(static_cast<Scalar>(v[0]));
  if (args("integer_interval", 2, v))
    return integer_interval(static_cast<Scalar>(v[0]), static_cast<Scalar>(v[1]));
  if (args("interval", 2, v)) return interval(static_cast<Scalar>(v[0]), static_cast<Scalar>(v[1]));
  throw ValueError(fmt::format("unknown constraint '{}'", spec));
}

}  // namespace constraints

}  // namespace vesta
