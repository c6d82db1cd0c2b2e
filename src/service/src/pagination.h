// Cursor pagination of the list routes (GET /v1/patients, /v1/tokens, /v1/patients/{p}/timeseries):
// `?limit=N&after=CURSOR`, and the answer's `next` (the cursor of the following page, or null).
// Without ?limit a list comes whole with next = null, as before pagination existed.
//
// A cursor is the sort key of a page's last item, base64url-encoded: opaque to clients, and stable
// under inserts and deletes (the next page starts after that key, whether or not its item still
// exists). Keys are what the caller may already see (a coordinator's key is the subject id, never
// the patient id). The lists are bounded (patients of one site, tokens, one patient's captures),
// so the route pages over the full list the repository returns, in memory; what costs per item
// (a patient's sites, a point's results) is computed for the page only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "skintrack/service/http.h"

namespace skintrack::service {

struct PageRequest {
  std::size_t limit = 0;             // items per page; 0: no limit
  std::optional<std::string> after;  // the decoded cursor: start after this key
};

inline constexpr std::size_t kMaxPageLimit = 1000;

// ?limit (1..kMaxPageLimit) and ?after; Error(kInvalidArgument) naming the parameter.
PageRequest ParsePageRequest(const HttpRequest& req);
std::string EncodeCursor(const std::string& key);
// Error(kInvalidArgument) for text that no EncodeCursor made.
std::string DecodeCursor(const std::string& cursor);
// A key that sorts as the signed integer does (16 hex digits, sign bit flipped).
std::string SortableInt(std::int64_t value);

template <typename T>
struct Page {
  std::vector<T> items;
  std::optional<std::string> next;  // the next page's cursor; none after the last page
  // `next` for the answer: the cursor string, or null.
  nlohmann::json NextJson() const { return next ? nlohmann::json(*next) : nlohmann::json(nullptr); }
};

// The page of `items` in ascending order of `key(item)` (keys unique), after request.after.
template <typename T, typename KeyFn>
Page<T> Paginate(std::vector<T> items, const PageRequest& request, KeyFn key) {
  std::vector<std::pair<std::string, std::size_t>> order;
  order.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) order.emplace_back(key(items[i]), i);
  std::sort(order.begin(), order.end());
  auto first = order.begin();
  if (request.after) {
    first =
        std::upper_bound(order.begin(), order.end(), *request.after,
                         [](const std::string& k, const auto& entry) { return k < entry.first; });
  }
  const std::size_t left = static_cast<std::size_t>(order.end() - first);
  const std::size_t count = request.limit == 0 ? left : std::min(left, request.limit);
  Page<T> page;
  page.items.reserve(count);
  for (auto it = first; it != first + static_cast<std::ptrdiff_t>(count); ++it) {
    page.items.push_back(std::move(items[it->second]));
  }
  if (count < left)
    page.next = EncodeCursor((first + static_cast<std::ptrdiff_t>(count) - 1)->first);
  return page;
}

}  // namespace skintrack::service
