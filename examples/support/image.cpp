// The raster's drawing calls, and PNG output through stb_image_write when CMake found it
// (VESTA_EXAMPLES_HAVE_STB). This is the one file that compiles stb_image_write's
// implementation (STB_IMAGE_WRITE_IMPLEMENTATION); stb_easy_font's functions are static.
#include "support/image.hpp"

#include <algorithm>
#include <cmath>

#if VESTA_EXAMPLES_HAVE_STB
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_easy_font.h>
#include <stb/stb_image_write.h>
#endif

namespace vesta::examples {

Image::Image(int width, int height, Rgb background)
    : width_(std::max(width, 0)),
      height_(std::max(height, 0)),
      rgb_(static_cast<std::size_t>(width_) * static_cast<std::size_t>(height_) * 3) {
  for (std::size_t k = 0; k < rgb_.size(); k += 3) {
    std::copy(background.begin(), background.end(), rgb_.begin() + long(k));
  }
}

Rgb Image::at(int x, int y) const {
  const std::size_t k = (static_cast<std::size_t>(y) * std::size_t(width_) + std::size_t(x)) * 3;
  return {rgb_[k], rgb_[k + 1], rgb_[k + 2]};
}

void Image::set(int x, int y, Rgb c) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
  const std::size_t k = (static_cast<std::size_t>(y) * std::size_t(width_) + std::size_t(x)) * 3;
  std::copy(c.begin(), c.end(), rgb_.begin() + long(k));
}

void Image::blend(int x, int y, Rgb c, float alpha) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
  const Rgb old = at(x, y);
  Rgb mixed;
  for (int i = 0; i < 3; ++i) {
    mixed[std::size_t(i)] = static_cast<std::uint8_t>(
        std::lround((1 - alpha) * float(old[std::size_t(i)]) + alpha * float(c[std::size_t(i)])));
  }
  set(x, y, mixed);
}

void Image::fill_rect(int x, int y, int w, int h, Rgb c) {
  for (int r = std::max(y, 0); r < std::min(y + h, height_); ++r) {
    for (int q = std::max(x, 0); q < std::min(x + w, width_); ++q) set(q, r, c);
  }
}

#if VESTA_EXAMPLES_HAVE_STB

void Image::draw_text(int x, int y, const std::string& text, Rgb c, int scale) {
  // stb_easy_font builds each character from axis-aligned quads (4 vertices of 16 bytes:
  // x, y, z as floats and an RGBA colour), in font units from (0, 0).
  std::string mutable_text = text;  // the C API takes char*
  std::vector<char> buffer(text.size() * 300 + 300);
  const int quads = stb_easy_font_print(0, 0, mutable_text.data(), nullptr, buffer.data(),
                                        static_cast<int>(buffer.size()));
  for (int q = 0; q < quads; ++q) {
    const auto* v = reinterpret_cast<const float*>(buffer.data() + q * 64);
    // Vertices 0 and 2 are opposite corners (each vertex is 4 floats' worth of bytes).
    const float x0 = std::min(v[0], v[8]), x1 = std::max(v[0], v[8]);
    const float y0 = std::min(v[1], v[9]), y1 = std::max(v[1], v[9]);
    fill_rect(x + int(x0) * scale, y + int(y0) * scale, int(x1 - x0) * scale, int(y1 - y0) * scale,
              c);
  }
}

int Image::text_width(const std::string& text, int scale) {
  std::string mutable_text = text;
  return stb_easy_font_width(mutable_text.data()) * scale;
}

bool png_supported() { return true; }

bool write_png(const Image& img, const std::string& path) {
  return stbi_write_png(path.c_str(), img.width(), img.height(), 3, img.bytes().data(),
                        img.width() * 3) != 0;
}

#else

void Image::draw_text(int, int, const std::string&, Rgb, int) {}
int Image::text_width(const std::string&, int) { return 0; }
bool png_supported() { return false; }
bool write_png(const Image&, const std::string&) { return false; }

#endif

}  // namespace vesta::examples
