// Differentiates x^2 at x = 3 through the installed vesta and checks the gradient is 6.
#include <vesta/vesta.hpp>

#include <cstdio>

int main() {
  vesta::Tensor x = vesta::Tensor::variable(vesta::Matrix::Constant(1, 1, 3));
  vesta::Tensor y = vesta::square(x);
  y.backward();
  const double g = x.grad()(0, 0);
  std::printf("d(x^2)/dx at 3 = %g\n", g);
  return g == 6.0 ? 0 : 1;
}
