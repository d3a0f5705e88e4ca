// A deterministic mutation run for fuzz targets that libFuzzer cannot build: clang 14 cannot
// compile libstdc++ 12's <expected>, which the host libraries use (src/pki). For each input file it
// runs the target on the file, on 64 truncations of it, and on the file with each byte in turn
// inverted; under the ASan+UBSan build any memory error or leak fails the test.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  std::size_t runs = 0;
  auto mutate = [&](const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), {}};
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    ++runs;
    for (std::size_t i = 1; i <= 64 && !bytes.empty(); ++i) {
      LLVMFuzzerTestOneInput(bytes.data(), bytes.size() * i / 65);
      ++runs;
    }
    for (std::size_t i = 1; i < bytes.size(); ++i) {  // byte 0 selects the parser: keep it
      bytes[i] ^= 0xff;
      LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
      bytes[i] ^= 0xff;
      ++runs;
    }
  };
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    if (std::filesystem::is_directory(arg)) {
      for (const auto& e : std::filesystem::directory_iterator(arg)) {
        if (e.is_regular_file()) mutate(e.path());
      }
    } else {
      mutate(arg);
    }
  }
  std::printf("ran %zu mutated inputs\n", runs);
  return 0;
}
