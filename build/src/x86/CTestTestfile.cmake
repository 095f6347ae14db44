# CMake generated Testfile for 
# Source directory: /work/main/src/x86
# Build directory: /work/main/build/src/x86
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
include("/work/main/build/src/x86/x86_test[1]_include.cmake")
