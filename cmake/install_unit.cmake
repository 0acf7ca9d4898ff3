# install_unit.cmake - run by `cmake --install` (and cpack): installs
# deploy/capscope.service with ExecStart= pointing at the installed binary
# (the file in deploy/ says /usr/local/bin, the manual-install path), so the
# unit is right whatever the prefix. Inputs (set by install(CODE) before):
# CAPSCOPE_UNIT_SRC, CAPSCOPE_UNIT_DIR (relative to the prefix),
# CAPSCOPE_BINDIR (relative to the prefix).
file(READ "${CAPSCOPE_UNIT_SRC}" unit)
string(REPLACE "ExecStart=/usr/local/bin/capscope"
               "ExecStart=${CMAKE_INSTALL_PREFIX}/${CAPSCOPE_BINDIR}/capscope" unit "${unit}")
set(dest "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/${CAPSCOPE_UNIT_DIR}")
file(MAKE_DIRECTORY "${dest}")
message(STATUS "Installing: ${dest}/capscope.service")
file(WRITE "${dest}/capscope.service" "${unit}")
file(CHMOD "${dest}/capscope.service" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${CMAKE_INSTALL_PREFIX}/${CAPSCOPE_UNIT_DIR}/capscope.service")
