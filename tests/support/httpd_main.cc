// ironseal-test-httpd DIR [DELAY_MS]: serves DIR on 127.0.0.1 (random port, printed on the first line of
// stdout) with Range support until stdin closes or it is killed. For the CLI end-to-end tests.
#include <cstdio>
#include <iostream>
#include <string>

#include "support/http_server.h"

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: ironseal-test-httpd DIR [DELAY_MS_PER_REQUEST]\n");
    return 2;
  }
  ironseal::testing::HttpServer server(argv[1], ironseal::testing::HttpServer::Mode::kNormal,
                                       argc == 3 ? std::stoi(argv[2]) : 0);
  std::printf("%u\n", static_cast<unsigned>(server.port()));
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  return 0;
}
