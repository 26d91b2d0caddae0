#include <vesta/nn/module.hpp>

#include <cmath>

#include <fmt/format.h>

#include <vesta/core/param_store.hpp>
#include <vesta/core/primitives.hpp>

namespace vesta {

Module::Module(std::string prefix) : prefix_(std::move(prefix)) {
  if (prefix_.empty() || prefix_.front() == '.' || prefix_.back() == '.') {
    throw ValueError(fmt::format(
        "Module: the prefix '{}' is not a name; give each module a non-empty name such as "
        "\"fc1\" (children are \"<parent>.<child>\")",
        prefix_));
  }
}

std::string Module::describe() const { return fmt::format("{} '{}'", type_name(), prefix_); }

Tensor Module::param(const std::string& name, Index rows, Index cols, const ParamInit& init,
                     ConstraintPtr constraint) const {
  const std::string full = full_name(name);
  auto checked_init = [&] {
    Matrix first = init();
    if (first.rows() != rows || first.cols() != cols) {
      throw ShapeError(fmt::format(
          "{}: the initial value of parameter '{}' is {}, but it must be {}", describe(), full,
          shape_str(first.rows(), first.cols()), shape_str(rows, cols)));
    }
    return first;
  };
  Tensor value = vesta::param(full, checked_init, std::move(constraint));
  if (value.rows() != rows || value.cols() != cols) {
    throw ShapeError(fmt::format(
        "{}: parameter '{}' is {}, but this module needs {}; another module may use the prefix "
        "'{}' (rename one of them, or clear the ParamStore)",
        describe(), full, value.shape(), shape_str(rows, cols), prefix_));
  }
  return value;
}

Tensor Module::param(const std::string& name, const Matrix& init, ConstraintPtr constraint) const {
  return param(
      name, init.rows(), init.cols(), [&init] { return init; }, std::move(constraint));
}

Tensor Module::param(const std::string& name, Scalar init, ConstraintPtr constraint) const {
  return param(
      name, 1, 1, [init] { return Matrix::Constant(1, 1, init); }, std::move(constraint));
}

std::vector<std::string> Module::parameter_names() const {
  const std::string start = prefix_ + ".";
  std::vector<std::string> out;
  for (const std::string& name : param_store().names()) {
    if (name.compare(0, start.size(), start) == 0) out.push_back(name);
  }
  return out;
}

namespace init {

Matrix uniform(Index rows, Index cols, Scalar bound, Rng& rng) {
  return ((rng.uniform(rows, cols).array() * 2 - 1) * bound).matrix();
}

Matrix normal(Index rows, Index cols, Scalar sd, Rng& rng) { return rng.normal(rows, cols) * sd; }

Matrix torch_linear_default(Index fan_in, Index rows, Index cols, Rng& rng) {
  return uniform(rows, cols, Scalar(1) / std::sqrt(Scalar(fan_in)), rng);
}

}  // namespace init

}  // namespace vesta
