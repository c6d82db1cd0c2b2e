// The cheap full-stream check of a PNG at intake: every chunk's CRC, the IHDR fields, and the
// zlib stream of the IDAT chunks inflated to its end (into a small scratch buffer: no image is
// held, nothing is unfiltered) with every row's filter byte and the exact amount of image data
// checked. What libpng would otherwise report only when the pixels are decoded in full. Private
// to the service.
#pragma once

#include <string_view>

namespace skintrack::service {

// `bytes` is a PNG whose signature InspectUpload has checked. Error(kImageDecode) naming the
// problem (bad CRC of which chunk, broken or short zlib stream, bad filter byte, missing PLTE...).
// Thread-safe; costs one inflate of the image data (about 5-10 ms per 12 MP photo).
void CheckPngData(std::string_view bytes);

}  // namespace skintrack::service
