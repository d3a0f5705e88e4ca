// The update repositories behind the fleet service: src/repo's image repository and director.
#include "fleet/repositories.h"

#include "publish/director.h"

namespace ironseal::fleet {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

class DirectorRepositories final : public UpdateRepositories {
 public:
  DirectorRepositories(fs::path image, repo::Director director)
      : image_(std::move(image)), director_(std::move(director)) {}

  Result<PublishedTarget> published_target(const std::string& name) override {
    auto targets = repo::verified_published_targets(image_);
    if (!targets) return std::unexpected(targets.error());
    if (!targets->contains(name) || name.ends_with(".chunks")) {
      return fail(ErrorCode::kNotFound, "the image repository publishes no image '", name, "'");
    }
    const Json custom = (*targets)[name].value("custom", Json::object());
    PublishedTarget out;
    out.name = name;
    out.hardware_id = custom.value("hardware_id", "");
    out.version = custom.value("ironseal", Json::object()).value("version", "");
    return out;
  }

  Result<void> assign(const std::string& serial, const std::string& target) override {
    if (target.empty()) {
      auto chain = director_.repository().publish_chain(director_.device_metadata_dir(serial),
                                                        Json::object());
      if (!chain) return std::unexpected(chain.error());
      return {};
    }
    auto a = director_.assign(serial, image_, {target});
    if (!a) return std::unexpected(a.error());
    return {};
  }

  Result<std::string> assigned(const std::string& serial) override {
    auto targets = repo::Repository::chain_role(director_.device_metadata_dir(serial), "targets");
    if (!targets) return std::unexpected(targets.error());
    if (targets->is_null()) return std::string();
    for (const auto& [name, entry] : (*targets)["targets"].items()) {
      (void)entry;
      if (!name.ends_with(".chunks")) return name;
    }
    return std::string();
  }

 private:
  fs::path image_;
  repo::Director director_;
};

}  // namespace

Result<std::unique_ptr<UpdateRepositories>> open_repositories(const fs::path& base) {
  auto director = repo::Director::open(base / "director");
  if (!director) return std::unexpected(director.error());
  return std::unique_ptr<UpdateRepositories>(
      new DirectorRepositories(base / "image", std::move(*director)));
}

}  // namespace ironseal::fleet
