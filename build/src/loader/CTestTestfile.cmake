# CMake generated Testfile for 
# Source directory: /work/main/src/loader
# Build directory: /work/main/build/src/loader
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
include("/work/main/build/src/loader/loader_test[1]_include.cmake")
