# install_hook.cmake - run by `cmake --install` (and cpack): installs
# packaging/hooks.d/capscope.json, the OCI hooks.d entry podman and CRI-O
# read, with its "path" pointing at the installed binary (the file says
# /usr/bin/capscope, the package's path), so the hook is right whatever the
# prefix. Inputs (set by install(CODE) before): CAPSCOPE_HOOK_SRC,
# CAPSCOPE_HOOK_DIR and CAPSCOPE_BINDIR (both relative to the prefix).
file(READ "${CAPSCOPE_HOOK_SRC}" hook)
string(REPLACE "\"/usr/bin/capscope\""
               "\"${CMAKE_INSTALL_PREFIX}/${CAPSCOPE_BINDIR}/capscope\"" hook "${hook}")
set(dest "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/${CAPSCOPE_HOOK_DIR}")
file(MAKE_DIRECTORY "${dest}")
message(STATUS "Installing: ${dest}/capscope.json")
file(WRITE "${dest}/capscope.json" "${hook}")
file(CHMOD "${dest}/capscope.json" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${CMAKE_INSTALL_PREFIX}/${CAPSCOPE_HOOK_DIR}/capscope.json")
