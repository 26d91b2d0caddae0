// The examples' raster (examples/support/image.hpp): grey levels drawn as ink on white,
// clipping at the edges, blending, text only where stb is available, and a PNG file that
// starts with the PNG signature (or, without stb, no file and a false return).
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <catch2/catch.hpp>

#include "support/image.hpp"

using namespace vesta::examples;

TEST_CASE("an Image draws grey levels as ink, clips at its edges and blends", "[examples][image]") {
  Image img(6, 4);
  CHECK(img.bytes().size() == 6 * 4 * 3);
  CHECK(img.at(5, 3) == kWhite);
  // 0 is the white page, 1 black ink, 0.5 mid-grey; each pixel a 2x2 block.
  const float pixels[2] = {1.0f, 0.5f};
  img.draw_gray(1, 1, 2, 1, pixels, 2);
  CHECK(img.at(1, 1) == kBlack);
  CHECK(img.at(2, 2) == kBlack);
  CHECK(img.at(3, 1) == Rgb{128, 128, 128});
  CHECK(img.at(0, 0) == kWhite);
  // Out-of-range intensities are clamped; drawing past the edge is ignored.
  const double outside[1] = {7.0};
  img.draw_gray(5, 3, 1, 1, outside, 3);
  CHECK(img.at(5, 3) == kBlack);
  img.set(-1, 0, kBlack);
  img.set(6, 0, kBlack);
  img.fill_rect(-2, -2, 3, 3, Rgb{10, 20, 30});
  CHECK(img.at(0, 0) == Rgb{10, 20, 30});
  CHECK(img.at(1, 0) == kWhite);
  img.blend(5, 0, kBlack, 0.25f);
  CHECK(img.at(5, 0) == Rgb{191, 191, 191});
  // Text needs stb; its width grows with its length either way.
  CHECK(Image::text_width("ab") <= Image::text_width("abcd"));
  CHECK((Image::text_width("abcd") > 0) == png_supported());
}

TEST_CASE("write_png writes a PNG file when stb is available", "[examples][image]") {
  const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                     ("vesta-image-" + std::to_string(::getpid()) + ".png");
  Image img(3, 2, Rgb{0, 128, 255});
  const bool written = write_png(img, path.string());
  CHECK(written == png_supported());
  if (written) {
    std::ifstream in(path, std::ios::binary);
    std::vector<unsigned char> head(8);
    in.read(reinterpret_cast<char*>(head.data()), 8);
    CHECK(head == std::vector<unsigned char>{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
    std::filesystem::remove(path);
  }
  // A folder that does not exist: nothing written, false.
  CHECK_FALSE(write_png(img, "/nonexistent-folder-for-vesta/x.png"));
}
