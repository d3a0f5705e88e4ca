// Shared by `ironseal repo` (cmd_repo.cc) and `ironseal director` (cmd_director.cc): both are
// TUF repositories made, rotated and described the same way.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "publish/repository.h"

namespace ironseal::cli {

struct RepoArgs {
  std::string dir;
  std::vector<std::string> thresholds;
  std::vector<std::string> keys;
  std::vector<std::string> expires;
  std::string key_type = "ed25519";
  std::string image;
  std::string name;
  std::string hardware_id;
  std::string custom;
  std::string sbom;  // add-target --sbom
  std::uint32_t chunk_size = 64 * 1024;
  std::string role;
  std::uint64_t key_count = 0;
  std::vector<std::string> hsm_keys;
  std::uint64_t threshold = 0;
  std::string serial;
  std::string image_repo;
  std::vector<std::string> targets;
  bool json = false;
};

void print_chain(const repo::ChainReport& r, bool json);
void print_roles(const nlohmann::json& d);
Result<void> do_repo_init(const RepoArgs& a, repo::RepositoryKind kind);
void add_init_options(CLI::App* init, RepoArgs* a);
// `rotate` under `parent` (repo or director).
void add_rotate(CLI::App* parent, const std::shared_ptr<RepoArgs>& a, repo::RepositoryKind kind);
// `ironseal director ...` (cmd_director.cc).
void add_director_commands(CLI::App& app, const std::shared_ptr<RepoArgs>& a);

}  // namespace ironseal::cli
