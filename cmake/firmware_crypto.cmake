# The bootloader's crypto (firmware/crypto: ironseal's own verify-only Ed25519 and SHA-256/SHA-512,
# and the CryptoBackend around it) built for the host too, so that it can be tested differentially
# against OpenSSL, with libsodium (Debian's libsodium-dev, already a dependency of the fleet
# service) as a third opinion: tests/firmware/ed25519_diff_test.cc, fuzz/ed25519_diff_fuzz.cc.
find_package(PkgConfig REQUIRED)
pkg_check_modules(IRONSEAL_FW_LIBSODIUM REQUIRED IMPORTED_TARGET libsodium)
set(IRONSEAL_FW_CRYPTO_SOURCES
  ${PROJECT_SOURCE_DIR}/firmware/crypto/ed25519_verify.c
  ${PROJECT_SOURCE_DIR}/firmware/crypto/sha2.c)
add_library(ironseal_fw_crypto_host STATIC ${IRONSEAL_FW_CRYPTO_SOURCES}
  ${PROJECT_SOURCE_DIR}/firmware/crypto/firmware_backend.cc)
target_include_directories(ironseal_fw_crypto_host
  PUBLIC ${PROJECT_SOURCE_DIR}/firmware ${PROJECT_SOURCE_DIR}/src)
set_source_files_properties(${IRONSEAL_FW_CRYPTO_SOURCES}
  PROPERTIES COMPILE_OPTIONS "-Wconversion;-Wsign-conversion")
if(IRONSEAL_FUZZ)
  # The fuzz target compiles these sources itself; the library is for the host tests only.
  set_target_properties(ironseal_fw_crypto_host PROPERTIES EXCLUDE_FROM_ALL ON)
else()
  target_link_libraries(ironseal_fw_crypto_host PUBLIC ironseal_image_portable)
endif()
