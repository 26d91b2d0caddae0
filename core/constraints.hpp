// Constraints on parameter values, each with the bijection from unconstrained space that
// optimisation works in, its inverse, and the log-determinant of its Jacobian (needed when a
// density is moved between the two spaces, as autoguides do).
#pragma once

#include <memory>
#include <string>

#include <vesta/core/tensor.hpp>

namespace vesta {

/// A set of allowed values together with a bijection T from unconstrained reals onto it.
class Constraint {
 public:
  virtual ~Constraint() = default;

  /// A spec that names the constraint and its arguments, stable across runs (it is saved
  /// with parameters): "real", "positive", "greater_than(2)", "interval(0, 1)", ...
  virtual std::string name() const = 0;
  /// Whether every entry (or row, for simplex) of `value` lies in the set.
  virtual bool check(const MatrixRef& value) const = 0;
  /// Whether one number (a 1x1 value) lies in the set: check() without the matrix, for the
  /// value check of a scalar site.
  virtual bool check_one(Scalar value) const;
  /// The flat (column-major) index of the first entry outside the set, or -1: for messages
  /// that name the offending entry. (Row-wise sets report the row's first entry.)
  virtual Index first_violation(const MatrixRef& value) const;
  /// False for sets of integers or one-hot vectors, which have no bijection to the reals
  /// (transform, inverse and log_abs_det_jacobian then throw).
  virtual bool is_continuous() const { return true; }
  /// Shape of the unconstrained tensor for a constrained one of shape rows x cols.
  virtual Index unconstrained_cols(Index cols) const { return cols; }
  /// Shape of the constrained tensor for an unconstrained one of `cols` columns.
  virtual Index constrained_cols(Index cols) const { return cols; }
  /// T(x): unconstrained to constrained, differentiable.
  virtual Tensor transform(const Tensor& x) const = 0;
  /// T^-1(y) for y in the set.
  virtual Matrix inverse(const Matrix& y) const = 0;
  /// How much of a value the bijection acts on jointly: 0 for elementwise maps, 1 for maps of
  /// whole rows (simplex), 2 for maps of the whole matrix (lower_cholesky).
  virtual int event_dim() const { return 0; }
  /// log |det dT/dx| at x, one entry per event: x's shape for elementwise maps, rows x 1 for
  /// row maps, 1x1 for matrix maps (sum() it for the whole tensor's).
  virtual Tensor log_abs_det_jacobian(const Tensor& x) const = 0;
};

using ConstraintPtr = std::shared_ptr<const Constraint>;

namespace detail {
// The singletons behind constraints::real() and positive(), which are inline: every scalar
// site asks for one or the other (a support check, a param's constraint).
ConstraintPtr make_real_constraint();
ConstraintPtr make_positive_constraint();
}  // namespace detail

namespace constraints {
/// All reals; T is the identity.
inline ConstraintPtr real() {
  static const ConstraintPtr c = vesta::detail::make_real_constraint();
  return c;
}
/// x > 0; T(x) = exp(x), as Pyro's biject_to(positive).
inline ConstraintPtr positive() {
  static const ConstraintPtr c = vesta::detail::make_positive_constraint();
  return c;
}
/// x >= 0 (a support: an Exponential can draw 0); T(x) = exp(x).
ConstraintPtr nonnegative();
/// x > c; T(x) = c + exp(x).
ConstraintPtr greater_than(Scalar c);
/// a < x < b; T(x) = a + (b - a) sigmoid(x).
ConstraintPtr interval(Scalar a, Scalar b);
/// 0 < x < 1.
ConstraintPtr unit_interval();
/// Each row is a probability vector (entries > 0 summing to 1); T is stick-breaking from
/// K - 1 unconstrained columns to K.
ConstraintPtr simplex();
/// Square lower-triangular with positive diagonal (a Cholesky factor); T keeps the strict
/// lower triangle and exponentiates the diagonal (the upper triangle is ignored).
ConstraintPtr lower_cholesky();

/// Discrete supports, with no bijection: 0 or 1; 0, 1, 2, ...; lo, lo+1, ..., hi; rows with a
/// single 1 and zeros elsewhere.
ConstraintPtr boolean();
ConstraintPtr nonnegative_integer();
ConstraintPtr integer_interval(Scalar lo, Scalar hi);
ConstraintPtr one_hot();

/// The constraint a name() spec describes; throws ValueError for an unknown spec.
ConstraintPtr from_name(const std::string& spec);
}  // namespace constraints

}  // namespace vesta
