# bpf_object(NAME SOURCE [DEPENDS hdr...]) compiles SOURCE with clang for the
# BPF target against a vmlinux.h dumped from the running kernel's BTF, then
# has bpftool generate NAME.skel.h (struct NAME_bpf). Creates the INTERFACE target NAME_skel
# whose include directory holds the skeleton.
find_program(BPF_CLANG NAMES clang clang-16 clang-15 clang-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)
set(CAPSCOPE_VMLINUX_BTF /sys/kernel/btf/vmlinux CACHE FILEPATH
    "BTF of the kernel the BPF objects are compiled against")

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(BPF_TARGET_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(BPF_TARGET_ARCH arm64)
else()
  set(BPF_TARGET_ARCH ${CMAKE_SYSTEM_PROCESSOR})
endif()

set(BPF_GEN_DIR ${CMAKE_BINARY_DIR}/bpf)
file(MAKE_DIRECTORY ${BPF_GEN_DIR})
# bpf_object(NAME SOURCE [DEFINES d...] [DEPENDS hdr...]): DEFINES are
# passed to clang as -D flags (a flavour of the same source).
function(bpf_object name source)
  cmake_parse_arguments(ARG "" "" "DEPENDS;DEFINES" ${ARGN})
  set(defs "")
  foreach(d ${ARG_DEFINES})
    list(APPEND defs -D${d})
  endforeach()
  get_filename_component(src ${source} ABSOLUTE)
  get_filename_component(srcdir ${src} DIRECTORY)
  set(obj ${BPF_GEN_DIR}/${name}.bpf.o)
  set(skel ${BPF_GEN_DIR}/${name}.skel.h)
  # vmlinux.h: one per build, made in the directory of the first caller
  # (custom command outputs are only visible within one directory).
  if(NOT TARGET capscope_vmlinux_h)
    add_custom_command(
      OUTPUT ${BPF_GEN_DIR}/vmlinux.h
      COMMAND ${BPFTOOL} btf dump file ${CAPSCOPE_VMLINUX_BTF} format c
              > ${BPF_GEN_DIR}/vmlinux.h.tmp
      COMMAND ${CMAKE_COMMAND} -E rename ${BPF_GEN_DIR}/vmlinux.h.tmp
              ${BPF_GEN_DIR}/vmlinux.h
      COMMENT "Dumping vmlinux.h from ${CAPSCOPE_VMLINUX_BTF}")
    add_custom_target(capscope_vmlinux_h DEPENDS ${BPF_GEN_DIR}/vmlinux.h)
  endif()
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${BPF_CLANG} -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_${BPF_TARGET_ARCH}
            ${defs} -Wall -Wno-unused-function -I${BPF_GEN_DIR} -I${srcdir}
            -c ${src} -o ${obj}
    DEPENDS ${src} ${BPF_GEN_DIR}/vmlinux.h ${ARG_DEPENDS}
    COMMENT "Compiling BPF object ${name}.bpf.o")
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name}_bpf > ${skel}.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${skel}.tmp ${skel}
    DEPENDS ${obj}
    COMMENT "Generating BPF skeleton ${name}.skel.h")
  add_custom_target(${name}_skel_gen DEPENDS ${skel})
  # Every object's rule lists vmlinux.h, so each target would run its own
  # copy of the dump rule, in parallel with the others' (a compile then
  # reads a half-written header): the dump is one target's, built first.
  add_dependencies(${name}_skel_gen capscope_vmlinux_h)
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_skel_gen)
  target_include_directories(${name}_skel INTERFACE ${BPF_GEN_DIR} ${srcdir})
endfunction()
