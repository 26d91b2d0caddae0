// Chapter 8: the variational autoencoder and amortised inference, on small synthetic images
// (a blob at a random place) so that the run takes a second and the latent space can be
// compared with the truth.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <fmt/format.h>
#include <Eigen/Cholesky>

#include <vesta/vesta.hpp>

#include "support/image.hpp"
#include "support/plot.hpp"
#include "tutorial.hpp"

using namespace vesta;
using vesta::tutorial::report;

namespace {

const Index kSide = 16, kPixels = kSide * kSide, kLatent = 2, kHidden = 64;

// [snippet data]
// n images of 16 x 16 pixels, one per row: a round blob of intensity in [0, 1] centred at a
// random (cx, cy) in [3, 12]^2. `centres` receives (cx, cy) per image.
Matrix make_images(Index n, Rng& rng, Matrix& centres) {
  Matrix images(n, kPixels);
  centres = 3.0 + 9.0 * rng.uniform(n, 2).array();
  for (Index i = 0; i < n; ++i) {
    for (Index r = 0; r < kSide; ++r) {
      for (Index c = 0; c < kSide; ++c) {
        const double d2 = std::pow(c - centres(i, 0), 2) + std::pow(r - centres(i, 1), 2);
        images(i, r * kSide + c) = std::exp(-d2 / 4.0);
      }
    }
  }
  return images;
}
// [end]

// [snippet networks]
// The decoder maps a latent z (2 numbers) to the logits of 256 pixels; the encoder maps an
// image to the loc and log-scale of q(z | x). Both are ordinary deterministic networks whose
// weights are params.
const MLP decoder("decoder", {kLatent, kHidden, kPixels}, softplus);
const Linear enc_hidden("encoder.fc1", kPixels, kHidden);
const Linear enc_loc("encoder.loc", kHidden, kLatent), enc_scale("encoder.scale", kHidden, kLatent);
// [end]

// [snippet model_guide]
// p(x, z) = N(z | 0, I) Bernoulli(x | decoder(z)), one z per image; q(z | x) = N(loc(x),
// scale(x)): the guide is amortised, its parameters are the encoder's weights.
void model(const Matrix& images, const std::vector<Index>& rows) {
  auto data = plate("data", images.rows(), rows);
  const Tensor z = sample("z", Normal(Tensor::zeros(1, kLatent), 1).to_event(1));
  const Tensor x = gather_rows(Tensor(images), data.indices());
  sample("x", Bernoulli::from_logits(decoder(z)).with_soft_targets().to_event(1), x);
}

void guide(const Matrix& images, const std::vector<Index>& rows) {
  auto data = plate("data", images.rows(), rows);
  const Tensor h = softplus(enc_hidden(gather_rows(Tensor(images), data.indices())));
  sample("z", Normal(enc_loc(h), exp(enc_scale(h))).to_event(1));
}
// [end]

std::vector<Index> all_rows(Index n) {
  std::vector<Index> rows(static_cast<std::size_t>(n));
  std::iota(rows.begin(), rows.end(), Index(0));
  return rows;
}

// R^2 of the least-squares fit of y (n x 1) on [1, Z].
double r_squared(const Matrix& Z, const Matrix& y) {
  Matrix A(Z.rows(), Z.cols() + 1);
  A << Matrix::Ones(Z.rows(), 1), Z;
  const Matrix coef = (A.transpose() * A).ldlt().solve(A.transpose() * y);
  const double total = (y.array() - y.mean()).square().sum();
  return 1 - (A * coef - y).squaredNorm() / total;
}

}  // namespace

int main() {
  Rng data_rng(21);
  Matrix centres, test_centres;
  const Matrix images = make_images(2000, data_rng, centres);
  const Matrix test_images = make_images(500, data_rng, test_centres);
  const Index N = images.rows(), B = 100;

  // [snippet train]
  set_rng_seed(2026);
  Adam adam(5e-3);
  SVI svi(model, guide, adam);
  svi.set_progress(nullptr);
  std::vector<Index> order = all_rows(N);
  Rng shuffle_rng(5);
  double epoch_loss = 0;
  for (int epoch = 0; epoch < 30; ++epoch) {
    std::shuffle(order.begin(), order.end(), shuffle_rng);
    epoch_loss = 0;
    for (Index first = 0; first < N; first += B) {
      const std::vector<Index> rows(order.begin() + first, order.begin() + first + B);
      epoch_loss += svi.step(images, rows) / double(N);  // each step estimates the full loss
    }
    epoch_loss /= double(N / B);  // per image, averaged over the epoch's steps
  }
  // [end]
  fmt::print("training loss per image in the last epoch: {:.2f} nats\n", epoch_loss);
  report("train_loss", epoch_loss);

  // [snippet evaluate]
  // The encoder gives q(z | x) for images it has never seen, with no optimisation: that is
  // what amortised means. The ELBO of the test images, per image, from 20 particles:
  const double test_loss =
      Trace_ELBO(20).loss(model, guide, test_images, all_rows(test_images.rows())) /
      double(test_images.rows());
  // The posterior means of z for the test images, and how well they encode the centres.
  const Tensor h = softplus(enc_hidden(Tensor(test_images)));
  const Matrix z_mean = enc_loc(h).matrix();
  const double r2_x = r_squared(z_mean, test_centres.col(0));
  const double r2_y = r_squared(z_mean, test_centres.col(1));
  fmt::print("test loss {:.2f} nats per image; R^2 of the centre from z: {:.3f} (x), {:.3f} (y)\n",
             test_loss, r2_x, r2_y);
  // [end]
  report("test_loss", test_loss);
  report("r2_cx", r2_x);
  report("r2_cy", r2_y);

  // Figures: the latent means of the test images coloured by their true x-centre, and a few
  // test images beside their reconstructions.
  Matrix latent(test_images.rows(), 3);
  latent << z_mean, test_centres.col(0);
  examples::write_plot(
      "ch08_latent.png",
      "set title 'posterior means of z for 500 test images, coloured by the blob''s x-centre'\n"
      "set xlabel 'z_1'; set ylabel 'z_2'; set grid; set palette rgb 33,13,10\n"
      "set cblabel 'cx'; set size ratio -1\n"
      "plot $l using 1:2:3 with points pt 7 ps 0.7 lc palette notitle",
      {{"l", latent}}, 640, 560);
  const Matrix recon = sigmoid(decoder(Tensor(z_mean))).matrix();
  const int scale = 4, tile = kSide * scale + 6, count = 8;
  examples::Image img(count * tile + 6, 2 * tile + 30);
  img.draw_text(6, 6, "test images (top) and decoded posterior means (bottom)", examples::kBlack);
  for (int k = 0; k < count; ++k) {
    const Matrix original = test_images.row(k), decoded = recon.row(k);
    img.draw_gray(6 + k * tile, 24, kSide, kSide, original.data(), scale);
    img.draw_gray(6 + k * tile, 24 + tile, kSide, kSide, decoded.data(), scale);
  }
  examples::write_png(img, "ch08_reconstructions.png");
  tape().reset();
  return 0;
}
