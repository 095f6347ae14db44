# CMake generated Testfile for 
# Source directory: /work/main/src/memory
# Build directory: /work/main/build/src/memory
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
include("/work/main/build/src/memory/memory_test[1]_include.cmake")
