#include "png_check.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "image_bytes.h"
#include "skintrack/core/error.h"

namespace skintrack::service {
namespace {

using image_bytes::Be32;
using image_bytes::Byte;
using image_bytes::kPngSignature;

[[noreturn]] void Damaged(const std::string& why) {
  throw Error(ErrorCode::kImageDecode, "damaged PNG (" + why + "): not stored");
}

struct Ihdr {
  std::uint32_t width = 0, height = 0;
  unsigned bit_depth = 0, colour_type = 0, interlace = 0;
};

// Bits per pixel for a valid (colour type, bit depth) pair, 0 for an invalid one.
unsigned BitsPerPixel(const Ihdr& h) {
  const unsigned d = h.bit_depth;
  const bool low = d == 1 || d == 2 || d == 4;
  switch (h.colour_type) {
    case 0:
      return (low || d == 8 || d == 16) ? d : 0;  // grey
    case 2:
      return (d == 8 || d == 16) ? 3 * d : 0;  // RGB
    case 3:
      return (low || d == 8) ? d : 0;  // palette
    case 4:
      return (d == 8 || d == 16) ? 2 * d : 0;  // grey + alpha
    case 6:
      return (d == 8 || d == 16) ? 4 * d : 0;  // RGBA
    default:
      return 0;
  }
}

// The rows of filtered image data in stream order: one run for a plain image, one per non-empty
// Adam7 pass for an interlaced one. Each row is one filter byte + `row_bytes`.
struct RowRun {
  std::uint64_t rows = 0;
  std::uint64_t row_bytes = 0;
};

std::vector<RowRun> RowRuns(const Ihdr& h) {
  const std::uint64_t bpp = BitsPerPixel(h);
  auto run = [&](std::uint64_t w, std::uint64_t rows) { return RowRun{rows, (w * bpp + 7) / 8}; };
  if (h.interlace == 0) return {run(h.width, h.height)};
  // Adam7: x0, y0, dx, dy of the seven passes.
  constexpr std::array<std::array<unsigned, 4>, 7> kPasses = {{{0, 0, 8, 8},
                                                               {4, 0, 8, 8},
                                                               {0, 4, 4, 8},
                                                               {2, 0, 4, 4},
                                                               {0, 2, 2, 4},
                                                               {1, 0, 2, 2},
                                                               {0, 1, 1, 2}}};
  std::vector<RowRun> runs;
  for (const auto& p : kPasses) {
    const std::uint64_t w = h.width > p[0] ? (h.width - p[0] + p[2] - 1) / p[2] : 0;
    const std::uint64_t rows = h.height > p[1] ? (h.height - p[1] + p[3] - 1) / p[3] : 0;
    if (w > 0 && rows > 0) runs.push_back(run(w, rows));
  }
  return runs;
}

// Inflates the IDAT stream chunk by chunk into a scratch buffer, checking the filter byte at the
// start of every row and counting the bytes.
class IdatStream {
 public:
  explicit IdatStream(std::vector<RowRun> runs) : runs_(std::move(runs)) {
    if (inflateInit(&z_) != Z_OK) throw Error(ErrorCode::kInternal, "zlib inflateInit failed");
    for (const RowRun& r : runs_) total_rows_ += r.rows;
  }
  ~IdatStream() { inflateEnd(&z_); }
  IdatStream(const IdatStream&) = delete;
  IdatStream& operator=(const IdatStream&) = delete;

  void Feed(std::string_view data) {
    if (ended_) Damaged("data after the end of the zlib stream");
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z_.avail_in = static_cast<uInt>(data.size());
    while (z_.avail_in > 0 && !ended_) {
      z_.next_out = scratch_.data();
      z_.avail_out = static_cast<uInt>(scratch_.size());
      const int rc = inflate(&z_, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
        Damaged(std::string("broken zlib stream in IDAT: ") + (z_.msg ? z_.msg : "error"));
      }
      Scan(scratch_.size() - z_.avail_out);
      if (rc == Z_STREAM_END) ended_ = true;
      if (rc == Z_BUF_ERROR && z_.avail_out != 0) break;  // no progress possible: needs input
    }
    if (ended_ && z_.avail_in > 0) Damaged("data after the end of the zlib stream");
  }

  void Finish() const {
    if (!ended_) Damaged("the zlib stream of the image data ends early (truncated IDAT)");
    if (run_ < runs_.size()) {
      Damaged("the image data holds fewer rows than the header's " + std::to_string(total_rows_) +
              " (short IDAT)");
    }
  }

 private:
  // Walks `n` freshly inflated bytes: the filter byte of each row must be 0..4.
  void Scan(std::size_t n) {
    std::size_t i = 0;
    while (i < n) {
      if (run_ >= runs_.size()) Damaged("more image data than the header's size");
      if (left_in_row_ == 0) {
        if (scratch_[i] > 4) {
          Damaged("bad filter type " + std::to_string(scratch_[i]) + " at row " +
                  std::to_string(row_));
        }
        ++i;
        left_in_row_ = runs_[run_].row_bytes;  // >= 1: width and bits per pixel are >= 1
        continue;
      }
      const std::uint64_t take = std::min<std::uint64_t>(left_in_row_, n - i);
      i += take;
      left_in_row_ -= take;
      if (left_in_row_ == 0) EndRow();
    }
  }
  void EndRow() {
    ++row_;
    if (++row_in_run_ == runs_[run_].rows) {
      ++run_;
      row_in_run_ = 0;
    }
  }

  z_stream z_{};
  std::vector<RowRun> runs_;
  std::vector<unsigned char> scratch_ = std::vector<unsigned char>(std::size_t{64} * 1024);
  std::size_t run_ = 0;
  std::uint64_t row_in_run_ = 0, row_ = 0, total_rows_ = 0;
  std::uint64_t left_in_row_ = 0;  // 0 = the next byte is a filter byte
  bool ended_ = false;
};

Ihdr ReadIhdr(std::string_view data) {
  if (data.size() != 13) Damaged("IHDR of " + std::to_string(data.size()) + " bytes, not 13");
  Ihdr h;
  h.width = Be32(data, 0);
  h.height = Be32(data, 4);
  h.bit_depth = Byte(data, 8);
  h.colour_type = Byte(data, 9);
  h.interlace = Byte(data, 12);
  if (h.width == 0 || h.height == 0) Damaged("zero width or height");
  if (BitsPerPixel(h) == 0) {
    Damaged("colour type " + std::to_string(h.colour_type) + " with bit depth " +
            std::to_string(h.bit_depth));
  }
  if (Byte(data, 10) != 0 || Byte(data, 11) != 0 || h.interlace > 1) {
    Damaged("unknown compression, filter or interlace method");
  }
  return h;
}

}  // namespace

void CheckPngData(std::string_view b) {
  std::size_t at = kPngSignature.size();
  std::optional<IdatStream> idat;
  Ihdr ihdr;
  bool seen_plte = false, idat_done = false;
  for (int index = 0;; ++index) {
    if (at + 12 > b.size()) Damaged("truncated: no IEND chunk");
    const std::uint32_t length = Be32(b, at);
    if (length > b.size() - at - 12) Damaged("a chunk runs past the end of the file");
    const std::string_view type = b.substr(at + 4, 4);
    const std::string_view data = b.substr(at + 8, length);
    const auto* typed = reinterpret_cast<const Bytef*>(type.data());
    const uLong crc = crc32(0L, typed, static_cast<uInt>(4 + length));  // type and data
    if (crc != Be32(b, at + 8 + length)) Damaged("bad CRC of chunk " + std::string(type));
    at += 12 + length;
    if (index == 0) {
      if (type != "IHDR") Damaged("the first chunk is not IHDR");
      ihdr = ReadIhdr(data);
      continue;
    }
    if (type == "PLTE") seen_plte = true;
    if (type == "IDAT") {
      if (idat_done) Damaged("IDAT chunks are not consecutive");
      if (!idat) {
        if (ihdr.colour_type == 3 && !seen_plte) Damaged("a palette image without PLTE");
        idat.emplace(RowRuns(ihdr));
      }
      idat->Feed(data);
      continue;
    }
    if (idat) idat_done = true;
    if (type == "IEND") break;
  }
  if (!idat) Damaged("no IDAT chunk: no image data");
  idat->Finish();
}

}  // namespace skintrack::service
