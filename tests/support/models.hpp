// A registry of small example models, for tests that check handler algebra on each of them
// (as Pyro's handler tests do): a conjugate model, latents inside a plate, nested plates,
// parameters with constraints, a factor and a deterministic site.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <vesta/vesta.hpp>

namespace vesta::testing {

struct ExampleModel {
  std::string name;
  std::function<void()> run;
};

inline std::vector<ExampleModel> example_models() {
  Matrix x(5, 1);
  x << 0.3, -1.2, 0.8, 2.1, 0.5;
  Matrix grid(3, 4);
  grid << 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12;
  return {
      {"normal_normal",
       [x] {
         const Tensor z = sample("z", Normal(0, 1));
         auto p = plate("data", 5);
         sample("x", Normal(z, 1), Tensor(x));
       }},
      {"latents_in_plate",
       [x] {
         const Tensor mu = sample("mu", Normal(0, 10));
         auto p = plate("data", 5);
         const Tensor z = sample("z", Normal(mu, 1));
         sample("x", Normal(z, 0.5), Tensor(x));
       }},
      {"nested_plates",
       [grid] {
         auto rows = plate("rows", 3);
         auto cols = plate("cols", 4);
         const Tensor w = sample("w", Normal(0, 1));
         sample("y", Normal(w, 2), Tensor(grid));
       }},
      {"constrained_params",
       [x] {
         const Tensor loc = param("test.loc", Matrix::Constant(1, 1, 0.1));
         const Tensor s = param("test.scale", Matrix::Constant(1, 1, 1.5), constraints::positive());
         const Tensor z = sample("z", Normal(loc, s));
         auto p = plate("data", 5);
         sample("x", Normal(z, s), Tensor(x));
       }},
      {"factor_and_deterministic",
       [] {
         const Tensor z = sample("z", Normal(0, 1));
         deterministic("z_squared", square(z));
         factor("penalty", -0.5 * square(z));
       }},
  };
}

}  // namespace vesta::testing
