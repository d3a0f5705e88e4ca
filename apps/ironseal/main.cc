// `ironseal`: the command-line face of the library. Thin: parses arguments, calls one library
// function per command, prints the result. Usage reads as `ironseal NOUN VERB [args]`.
#include <cstdio>
#include <iostream>
#include <map>

#include "cli.h"

namespace ironseal::cli {
namespace {
std::map<CLI::App*, Action>& actions() {
  static std::map<CLI::App*, Action> map;
  return map;
}
}  // namespace

void set_action(CLI::App* command, Action action) {
  actions()[command] = std::move(action);
}

namespace {
bool json_printed = false;
}  // namespace

void print_json(const nlohmann::json& j) {
  json_printed = true;
  std::cout << j.dump(2) << "\n";
}

nlohmann::json error_json(const Error& e) {
  return {{"code", std::string(error_code_name(e.code))},
          {"reason", std::string(e.reason_or_code())},
          {"message", e.message},
          {"exit_code", exit_code(e.code)}};
}

// One value per occurrence of a named option (`--key A --key B`): CLI11 otherwise lets a
// repeatable option swallow every following word, so `image verify --key K IMG --json` lost IMG.
void one_value_per_option(CLI::App& app) {
  for (CLI::Option* opt : app.get_options()) {
    if (opt->nonpositional() && opt->get_type_size() > 0) opt->allow_extra_args(false);
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    one_value_per_option(*sub);
  }
}

}  // namespace ironseal::cli

int main(int argc, char** argv) {
  using namespace ironseal;
  CLI::App app{
      "ironseal: sign, deliver, install and boot firmware you can prove.\n\n"
      "Exit codes: 0 ok; 1 not trusted or check failed; 2 usage error; 3 environment or I/O error.",
      "ironseal"};
  app.set_version_flag("--version", "ironseal " IRONSEAL_VERSION);
  app.require_subcommand(1);
  cli::register_key_commands(app);
  cli::register_image_commands(app);
  cli::register_device_commands(app);
  cli::register_repo_commands(app);
  cli::register_update_commands(app);
  cli::register_ca_commands(app);
  cli::register_cert_commands(app);
  cli::register_pki_commands(app);
  cli::register_fleet_commands(app);
  cli::register_attest_commands(app);
  cli::register_simulate_commands(app);
  cli::register_evidence_commands(app);
  cli::register_audit_commands(app);
  cli::register_backup_commands(app);
  cli::one_value_per_option(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }

  // The deepest selected subcommand owns the action.
  CLI::App* command = &app;
  while (!command->get_subcommands().empty()) command = command->get_subcommands().front();
  auto it = cli::actions().find(command);
  if (it == cli::actions().end()) {
    std::cerr << command->help();
    return 2;
  }
  auto result = it->second();
  if (!result) {
    std::cerr << "ironseal: " << result.error().message << "\n";
    // With --json, a script reads why from stdout too (docs/exit-codes.md), unless the command
    // has already printed its own verdict there.
    const CLI::Option* json = command->get_option_no_throw("--json");
    if (json != nullptr && json->count() > 0 && !cli::json_printed) {
      std::cout << nlohmann::json{{"error", cli::error_json(result.error())}}.dump(2) << "\n";
    }
    return exit_code(result.error().code);
  }
  return 0;
}
