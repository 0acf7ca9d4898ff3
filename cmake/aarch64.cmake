# aarch64.cmake - CMake toolchain file for a cross build of capscope for
# arm64 on a Debian x86-64 host: Debian's aarch64-linux-gnu compilers and
# the multiarch arm64 libraries (scripts/setup-arm64.sh installs both).
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64.cmake \
#         -DCAPSCOPE_VMLINUX_BTF=<arm64 kernel BTF>
# The BPF objects are compiled with -D__TARGET_ARCH_arm64 (bpf_object.cmake
# follows CMAKE_SYSTEM_PROCESSOR) against that BTF's vmlinux.h.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# Libraries and headers: the multiarch paths under / (libbpf-dev:arm64 puts
# libbpf.so in /usr/lib/aarch64-linux-gnu); programs are the host's.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# pkg-config: the arm64 .pc files, not the host's.
set(ENV{PKG_CONFIG_LIBDIR}
    "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
