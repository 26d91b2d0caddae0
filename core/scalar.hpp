// The numeric vocabulary shared by all of vesta: the scalar type chosen at build time
// and the Eigen matrix types that carry data in and out of Tensors.
#pragma once

#include <Eigen/Core>

#include <vesta/config.hpp>

namespace vesta {

using Index = Eigen::Index;

/// Dense column-major matrix of Scalars: the type users bring data in and take results out.
using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
using Array = Eigen::Array<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

/// Views onto contiguous column-major storage (a Tensor's values or gradients).
using MatrixMap = Eigen::Map<Matrix>;
using ConstMatrixMap = Eigen::Map<const Matrix>;
using ArrayMap = Eigen::Map<Array>;
/// Any read-only dense matrix argument (a Matrix, a Map, a block) without a copy.
using MatrixRef = Eigen::Ref<const Matrix>;
using ConstArrayMap = Eigen::Map<const Array>;

}  // namespace vesta
