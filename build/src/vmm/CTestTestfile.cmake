# CMake generated Testfile for 
# Source directory: /work/main/src/vmm
# Build directory: /work/main/build/src/vmm
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
include("/work/main/build/src/vmm/vmm_test[1]_include.cmake")
