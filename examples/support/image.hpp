// A small RGB raster for the examples' pictures (image grids, scatter plots), written as PNG
// with stb_image_write from Debian's libstb-dev. Without that header the examples still build
// and run: png_supported() is false, write_png() writes nothing, and they say so.
//
//   Image img(200, 100);                           // white
//   img.draw_gray(10, 10, 28, 28, pixels, 2);      // a 28x28 grey image at twice its size
//   img.draw_text(10, 80, "Sneaker", kBlack);
//   if (!write_png(img, "out.png")) ...            // false: no stb, or the file failed
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace vesta::examples {

using Rgb = std::array<std::uint8_t, 3>;
inline constexpr Rgb kWhite = {255, 255, 255};
inline constexpr Rgb kBlack = {0, 0, 0};

class Image {
 public:
  /// width x height pixels of `background`.
  Image(int width, int height, Rgb background = kWhite);

  int width() const { return width_; }
  int height() const { return height_; }
  /// Row-major RGB bytes, 3 per pixel, top row first.
  const std::vector<std::uint8_t>& bytes() const { return rgb_; }
  Rgb at(int x, int y) const;

  /// Sets one pixel; pixels outside the image are ignored, as in every drawing call here.
  void set(int x, int y, Rgb c);
  /// Mixes `c` into the pixel with weight alpha in [0, 1] (overlapping dots build up).
  void blend(int x, int y, Rgb c, float alpha);
  void fill_rect(int x, int y, int w, int h, Rgb c);
  /// A w x h grey-level image (intensities in [0, 1], row-major, 1 is drawn black on the white
  /// page, as ink) with its top-left corner at (x, y), each pixel a scale x scale block.
  /// `pixels` is read with its type's values; Scalar may be float or double.
  template <class T>
  void draw_gray(int x, int y, int w, int h, const T* pixels, int scale = 1);
  /// Text in stb_easy_font's bitmap font (about 6 pixels per character at scale 1), its top-left
  /// corner at (x, y); drawn only when stb is available.
  void draw_text(int x, int y, const std::string& text, Rgb c, int scale = 1);
  /// The width in pixels draw_text would use (0 without stb).
  static int text_width(const std::string& text, int scale = 1);

 private:
  int width_;
  int height_;
  std::vector<std::uint8_t> rgb_;
};

/// Whether write_png can write files (stb_image_write was found when this was built).
bool png_supported();

/// Writes `img` to `path` as an RGB PNG. Returns false, writing nothing, without stb or when
/// the file cannot be written.
bool write_png(const Image& img, const std::string& path);

template <class T>
void Image::draw_gray(int x, int y, int w, int h, const T* pixels, int scale) {
  for (int r = 0; r < h; ++r) {
    for (int c = 0; c < w; ++c) {
      const double v = static_cast<double>(pixels[r * w + c]);
      const auto level = static_cast<std::uint8_t>(255.0 -
                                                   255.0 * (v < 0   ? 0
                                                            : v > 1 ? 1
                                                                    : v) +
                                                   0.5);
      fill_rect(x + c * scale, y + r * scale, scale, scale, {level, level, level});
    }
  }
}

}  // namespace vesta::examples
