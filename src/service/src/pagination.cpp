#include "pagination.h"

#include <cstdio>

#include "skintrack/core/error.h"

namespace skintrack::service {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int Sextet(char c) {
  for (int i = 0; i < 64; ++i) {
    if (kAlphabet[i] == c) return i;
  }
  return -1;
}

Error BadCursor() {
  return Error(ErrorCode::kInvalidArgument,
               "after: not a cursor of this list (use the `next` of a previous page)");
}

}  // namespace

PageRequest ParsePageRequest(const HttpRequest& req) {
  PageRequest out;
  if (auto it = req.query.find("limit"); it != req.query.end()) {
    const std::string& text = it->second;
    const bool digits = !text.empty() && text.size() <= 4 &&
                        text.find_first_not_of("0123456789") == std::string::npos;
    const std::size_t limit = digits ? std::stoul(text) : 0;
    if (limit < 1 || limit > kMaxPageLimit) {
      throw Error(ErrorCode::kInvalidArgument, "limit must be a whole number from 1 to " +
                                                   std::to_string(kMaxPageLimit) + ", got '" +
                                                   text + "'");
    }
    out.limit = limit;
  }
  if (auto it = req.query.find("after"); it != req.query.end()) {
    out.after = DecodeCursor(it->second);
  }
  return out;
}

std::string EncodeCursor(const std::string& key) {
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (const char c : key) {
    bits = (bits << 8) | static_cast<unsigned char>(c);
    count += 8;
    while (count >= 6) {
      count -= 6;
      out.push_back(kAlphabet[(bits >> count) & 0x3F]);
    }
  }
  if (count > 0) out.push_back(kAlphabet[(bits << (6 - count)) & 0x3F]);
  return out;
}

std::string DecodeCursor(const std::string& cursor) {
  if (cursor.empty() || cursor.size() > 1024 || cursor.size() % 4 == 1) throw BadCursor();
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (const char c : cursor) {
    const int v = Sextet(c);
    if (v < 0) throw BadCursor();
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xFF));
    }
  }
  // Padding bits left over must be zero, so that each key has exactly one cursor.
  if ((bits & ((1u << count) - 1)) != 0) throw BadCursor();
  return out;
}

std::string SortableInt(std::int64_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx",
                static_cast<unsigned long long>(static_cast<std::uint64_t>(value) ^ (1ULL << 63)));
  return text;
}

}  // namespace skintrack::service
