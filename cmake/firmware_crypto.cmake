# The bootloader's crypto (firmware/crypto: libsodium from Debian's source package plus ironseal's
# glue and CryptoBackend) built for the host too, so that it can be tested differentially against
# OpenSSL (tests/firmware/ed25519_diff_test.cc, fuzz/ed25519_diff_fuzz.cc). The libsodium source
# comes from `apt-get source` at configure time (firmware/scripts/fetch_libsodium.sh), once per
# build tree, and is handed to the firmware ExternalProject as well. Never committed.
set(IRONSEAL_LIBSODIUM_SOURCE_DIR "" CACHE PATH
    "Unpacked Debian libsodium source (default: apt-get source into the build tree)")
if(NOT IRONSEAL_LIBSODIUM_SOURCE_DIR)
  execute_process(
    COMMAND bash ${PROJECT_SOURCE_DIR}/firmware/scripts/fetch_libsodium.sh
            ${CMAKE_BINARY_DIR}/libsodium
    OUTPUT_VARIABLE fetched OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "could not bring Debian's libsodium source package in (apt-get source); "
                        "pass -DIRONSEAL_LIBSODIUM_SOURCE_DIR=... or -DIRONSEAL_FIRMWARE=OFF")
  endif()
  set(IRONSEAL_LIBSODIUM_SOURCE_DIR ${fetched} CACHE PATH "" FORCE)
endif()
set(_sodium ${IRONSEAL_LIBSODIUM_SOURCE_DIR}/src/libsodium)
# Ed25519 verify + SHA-2: libsodium's files and ironseal's C glue (also used by the fuzz target).
set(IRONSEAL_FW_SODIUM_SOURCES
  ${_sodium}/crypto_core/ed25519/ref10/ed25519_ref10.c
  ${_sodium}/crypto_hash/sha512/cp/hash_sha512_cp.c
  ${_sodium}/crypto_hash/sha256/cp/hash_sha256_cp.c
  ${_sodium}/crypto_verify/sodium/verify.c
  ${PROJECT_SOURCE_DIR}/firmware/crypto/sodium_shim.c
  ${PROJECT_SOURCE_DIR}/firmware/crypto/ed25519_stream.c)
set(IRONSEAL_FW_SODIUM_DEFINITIONS CONFIGURED=1 NATIVE_LITTLE_ENDIAN=1)
add_library(ironseal_fw_crypto_host STATIC ${IRONSEAL_FW_SODIUM_SOURCES}
  ${PROJECT_SOURCE_DIR}/firmware/crypto/sodium_backend.cc)
target_include_directories(ironseal_fw_crypto_host
  PUBLIC ${PROJECT_SOURCE_DIR}/firmware ${PROJECT_SOURCE_DIR}/src)
# SYSTEM: libsodium's private headers define static helpers that not every includer uses.
target_include_directories(ironseal_fw_crypto_host SYSTEM PRIVATE ${_sodium}/include/sodium)
target_compile_definitions(ironseal_fw_crypto_host PRIVATE ${IRONSEAL_FW_SODIUM_DEFINITIONS})
if(IRONSEAL_FUZZ)
  # The fuzz target compiles these sources itself; the library is for the host tests only.
  set_target_properties(ironseal_fw_crypto_host PROPERTIES EXCLUDE_FROM_ALL ON)
else()
  target_link_libraries(ironseal_fw_crypto_host PUBLIC ironseal_image_portable)
endif()
# libsodium's own files are compiled as Debian ships them, without ironseal's warning set.
set_source_files_properties(
  ${_sodium}/crypto_core/ed25519/ref10/ed25519_ref10.c
  ${_sodium}/crypto_hash/sha512/cp/hash_sha512_cp.c
  ${_sodium}/crypto_hash/sha256/cp/hash_sha256_cp.c
  ${_sodium}/crypto_verify/sodium/verify.c
  PROPERTIES COMPILE_OPTIONS "-w")
# The group-arithmetic internals the differential tests use to name why libsodium refused.
set(IRONSEAL_LIBSODIUM_INCLUDE_DIR ${_sodium}/include/sodium)
