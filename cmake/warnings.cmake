# Project-wide warnings; CI builds with IRONSEAL_WERROR=ON (the default).
add_compile_options(-Wall -Wextra -Wpedantic -Wshadow -Wcast-qual -Wformat=2 -Wundef)
if(IRONSEAL_WERROR)
  add_compile_options(-Werror)
endif()

# Flags under which the portable core (image verification, boot core) must compile: the same as
# the Cortex-M33 bootloader build, on the host compiler.
set(IRONSEAL_PORTABLE_FLAGS -ffreestanding -fno-exceptions -fno-rtti -fno-threadsafe-statics
    -fno-asynchronous-unwind-tables -Wconversion -Wsign-conversion)
