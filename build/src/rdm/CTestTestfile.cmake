# CMake generated Testfile for 
# Source directory: /work/main/src/rdm
# Build directory: /work/main/build/src/rdm
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
include("/work/main/build/src/rdm/rdm_dmar_test[1]_include.cmake")
include("/work/main/build/src/rdm/rdm_host_devices_test[1]_include.cmake")
include("/work/main/build/src/rdm/rdm_layout_test[1]_include.cmake")
