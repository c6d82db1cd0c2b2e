// Tokens (admin only): create (the secret is shown once, stored hashed), list (metadata only) and
// revoke. Every request verifies its token against the database, so a revocation holds from the
// next request on, in this server and in any other process on the same data directory.
#include "api_support.h"
#include "pagination.h"
#include "routes.h"
#include "skintrack/core/error.h"

namespace skintrack::service {

using nlohmann::json;
using storage::Role;

HttpResponse CreateToken(ApiContext& ctx, const HttpRequest& req, const PathParams&) {
  const auto token = Authorize(ctx, req, {Role::kAdmin});
  const json body = ParseBodyObject(req);
  const auto role = StringField(body, "role");
  if (!role) {
    throw Error(ErrorCode::kInvalidArgument,
                "body needs \"role\": admin, clinician, coordinator, device or annotator");
  }
  storage::NewToken t;
  t.role = storage::ParseRole(*role);
  if (body.contains("patients")) {
    if (!body["patients"].is_array() || t.role != Role::kDevice) {
      throw Error(ErrorCode::kInvalidArgument, "patients: an array, for device tokens only");
    }
    for (const json& p : body["patients"]) {
      if (!p.is_string()) throw Error(ErrorCode::kInvalidArgument, "patients must be ids");
      t.patient_scope.push_back(p.get<std::string>());
    }
  }
  t.label = StringField(body, "label").value_or("");
  const storage::CreatedToken created = ctx.store.repository().CreateToken(t, Actor(token));
  return JsonResponse(201, {{"id", created.info.id},
                            {"role", storage::RoleName(created.info.role)},
                            {"patients", created.info.patient_scope},
                            {"token", created.token}});
}

HttpResponse ListTokens(ApiContext& ctx, const HttpRequest& req, const PathParams&) {
  Authorize(ctx, req, {Role::kAdmin});
  // Oldest first, as ListTokens orders them: (created_at, id), which is also the cursor's key.
  const Page<storage::TokenInfo> page =
      Paginate(ctx.store.repository().ListTokens(), ParsePageRequest(req),
               [](const storage::TokenInfo& t) { return SortableInt(t.created_at) + t.id; });
  json list = json::array();
  for (const storage::TokenInfo& t : page.items) list.push_back(TokenJson(t));
  return JsonResponse(200, {{"tokens", list}, {"next", page.NextJson()}});
}

HttpResponse RevokeToken(ApiContext& ctx, const HttpRequest& req, const PathParams& params) {
  const auto token = Authorize(ctx, req, {Role::kAdmin});
  // Error(kInvalidArgument) for a malformed id, Error(kNotFound) for an unknown one; revoking a
  // revoked token answers it again unchanged (no second audit entry).
  return JsonResponse(200,
                      TokenJson(ctx.store.repository().RevokeToken(params.at("id"), Actor(token))));
}

}  // namespace skintrack::service
