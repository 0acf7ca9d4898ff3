# packaging.cmake - where `cmake --install` puts capscope (GNUInstallDirs,
# Debian's layout) and the Debian package CPack makes of it
# (`cpack -G DEB`, scripts/package.sh):
#
#   bin/capscope                                   the tool
#   share/man/man8/capscope*.8.gz                  docs/man (when scdoc exists)
#   share/bash-completion/completions/capscope     completions/
#   share/zsh/vendor-completions/_capscope
#   share/fish/vendor_completions.d/capscope.fish
#   share/capscope/profile.schema.json             the profile's JSON Schema
#   lib/systemd/system/capscope.service            deploy/ (not enabled)
#   share/containers/oci/hooks.d/capscope.json     packaging/hooks.d (the OCI hook)
#   share/doc/capscope/                            README, deploy guide, manifest
#
# The package's Depends come from the binary's shared libraries
# (dpkg-shlibdeps); its maintainer scripts (packaging/debian) create
# /var/lib/capscope with mode 0700 and remove it on purge.
install(FILES completions/capscope.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME capscope)
install(FILES completions/_capscope
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES completions/capscope.fish
        DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)
install(FILES schema/profile.schema.json
        DESTINATION ${CMAKE_INSTALL_DATADIR}/capscope)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES deploy/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME deploy.md)
install(FILES deploy/capscope-daemonset.yaml
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# systemd looks in PREFIX/lib/systemd/system for /usr and /usr/local alike.
set(CAPSCOPE_SYSTEMD_UNIT_DIR "lib/systemd/system" CACHE STRING
    "where the systemd unit goes, relative to the install prefix")
install(CODE "set(CAPSCOPE_UNIT_SRC \"${CMAKE_SOURCE_DIR}/deploy/capscope.service\")
  set(CAPSCOPE_UNIT_DIR \"${CAPSCOPE_SYSTEMD_UNIT_DIR}\")
  set(CAPSCOPE_BINDIR \"${CMAKE_INSTALL_BINDIR}\")")
install(SCRIPT cmake/install_unit.cmake)

# The OCI hook's hooks.d entry (`capscope hook`), its "path" set to the
# installed binary. podman and CRI-O read /usr/share/containers/oci/hooks.d.
install(CODE "set(CAPSCOPE_HOOK_SRC \"${CMAKE_SOURCE_DIR}/packaging/hooks.d/capscope.json\")
  set(CAPSCOPE_HOOK_DIR \"${CMAKE_INSTALL_DATADIR}/containers/oci/hooks.d\")
  set(CAPSCOPE_BINDIR \"${CMAKE_INSTALL_BINDIR}\")")
install(SCRIPT cmake/install_hook.cmake)

# --- the Debian package ---------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME capscope)
set(CPACK_PACKAGE_VENDOR capscope)
set(CPACK_PACKAGE_CONTACT "capscope developers <capscope@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "which Linux capabilities does a workload really use (eBPF)")
set(CPACK_PACKAGE_DESCRIPTION
    "capscope traces the kernel's capability checks with eBPF, attributes them to \
commands and containers, separates real needs from kernel noise and prints \
the tightest grant that still works (docker, podman, Kubernetes, systemd, \
OCI, capsh). It also explains EPERM failures, proves its advice by \
re-running the workload with exactly that set, and runs as a daemon that \
keeps one profile per container. The systemd unit is installed but not \
enabled.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "podman | docker.io")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/packaging/debian/postinst
    ${CMAKE_SOURCE_DIR}/packaging/debian/prerm
    ${CMAKE_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/packages)
include(CPack)
