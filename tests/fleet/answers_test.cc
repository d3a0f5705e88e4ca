// The fleet service's error answers (fleet/answers.h): the toolkit's Error keeps its
// machine-readable reason on the wire, and internal errors never show their text.
#include "fleet/answers.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/requirements.h"

namespace ironseal::fleet {
namespace {

using Json = nlohmann::json;

TEST(FleetAnswers, InternalErrorsHideTheirTextAndTheirReason) {
  IRONSEAL_REQUIREMENTS("CR 3.7");
  const HttpResponse r = from_error(
      make_error(ErrorCode::kIo, "disk_full", "cannot write /var/lib/secret/fleet.db"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("/var/lib/secret"), std::string::npos) << r.body;
  EXPECT_FALSE(Json::parse(r.body).contains("reason")) << "the reason stays in the log: " << r.body;
}

TEST(FleetAnswers, RefusalsCarryTheReasonOfTheError) {
  IRONSEAL_REQUIREMENTS("CR 3.7");
  const HttpResponse refused =
      from_error(make_error(ErrorCode::kNotTrusted, "revoked", "certificate 01 is revoked"));
  EXPECT_EQ(refused.status, 403);
  const Json body = Json::parse(refused.body);
  EXPECT_EQ(body["error"], "forbidden");
  EXPECT_EQ(body["reason"], "revoked");
  EXPECT_EQ(body["message"], "revoked: certificate 01 is revoked");

  const HttpResponse conflict = from_error(Error{ErrorCode::kConflict, "rollout is paused"});
  EXPECT_EQ(conflict.status, 409);
  EXPECT_EQ(Json::parse(conflict.body)["error"], "conflict");
  EXPECT_FALSE(Json::parse(conflict.body).contains("reason")) << "no finer reason than the code";
}

}  // namespace
}  // namespace ironseal::fleet
