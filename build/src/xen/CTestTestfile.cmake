# CMake generated Testfile for 
# Source directory: /work/main/src/xen
# Build directory: /work/main/build/src/xen
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
include("/work/main/build/src/xen/xen_abi_test[1]_include.cmake")
include("/work/main/build/src/xen/xen_test[1]_include.cmake")
