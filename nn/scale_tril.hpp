// Lower-triangular matrices from a network's output, as TFP's FillTriangular and FillScaleTriL
// bijectors make them: an encoder with d (d + 1) / 2 outputs per example gives each example a
// Cholesky factor, the scale_tril of a MultivariateNormal with a factor per row (the
// full-covariance guide of an amortised model, TFP's MultivariateNormalTriL layer).
//
//   Linear head("encoder.scale", 400, tril_size(d));
//   Tensor L = fill_scale_tril(head(h));                       // B x d*d, a factor per row
//   sample("z", MultivariateNormal::from_scale_tril(loc, L));  // loc: B x d
#pragma once

#include <vesta/core/ops.hpp>
#include <vesta/nn/module.hpp>

namespace vesta {

/// d (d + 1) / 2: the entries on and below the diagonal of a d x d matrix.
Index tril_size(Index d);

/// Each row of x (R x d (d + 1) / 2) laid into the lower triangle of a d x d matrix row by
/// row (L_00; L_10, L_11; L_20, L_21, L_22; ...), zeros above: R x d*d, each row its matrix
/// in column-major order, so reshape(row, d, d) is the matrix (the layout
/// MultivariateNormal::from_scale_tril takes for a factor per row). d is found from x's
/// columns; throws ShapeError unless they are d (d + 1) / 2 for some d >= 1.
Tensor fill_tril(const Tensor& x);

/// fill_tril with each diagonal entry v replaced by diag_transform(v) + diag_shift, positive
/// for any real v with the default softplus (exp is the other usual choice), so that any
/// network output gives a valid Cholesky factor; the entries below the diagonal stay free.
/// TFP's FillScaleTriL, whose defaults these are. The shift keeps the factor away from
/// singular when an output is very negative.
Tensor fill_scale_tril(const Tensor& x, Scalar diag_shift = Scalar(1e-5),
                       const Activation& diag_transform = softplus);

}  // namespace vesta
