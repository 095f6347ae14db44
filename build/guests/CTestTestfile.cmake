# CMake generated Testfile for 
# Source directory: /work/main/guests
# Build directory: /work/main/build/guests
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
