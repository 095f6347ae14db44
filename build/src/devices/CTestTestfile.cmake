# CMake generated Testfile for 
# Source directory: /work/main/src/devices
# Build directory: /work/main/build/src/devices
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
include("/work/main/build/src/devices/devices_test[1]_include.cmake")
