# CMake generated Testfile for 
# Source directory: /work/main/guests
# Build directory: /work/main/build/guests
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test([=[guest_elf_demo]=] "/usr/bin/cmake" "-DELF=/work/main/build/guests/demo.elf" "-DBITS=64" "-DREADELF=/usr/bin/readelf" "-DOBJDUMP=/usr/bin/objdump" "-P" "/work/main/guests/cmake/check_guest_elf.cmake")
set_tests_properties([=[guest_elf_demo]=] PROPERTIES  LABELS "guests" _BACKTRACE_TRIPLES "/work/main/guests/CMakeLists.txt;122;add_test;/work/main/guests/CMakeLists.txt;151;xkvm_add_guest;/work/main/guests/CMakeLists.txt;0;")
add_test([=[guest_elf_hello]=] "/usr/bin/cmake" "-DELF=/work/main/build/guests/hello.elf" "-DBITS=32" "-DREADELF=/usr/bin/readelf" "-DOBJDUMP=/usr/bin/objdump" "-P" "/work/main/guests/cmake/check_guest_elf.cmake")
set_tests_properties([=[guest_elf_hello]=] PROPERTIES  LABELS "guests" _BACKTRACE_TRIPLES "/work/main/guests/CMakeLists.txt;122;add_test;/work/main/guests/CMakeLists.txt;152;xkvm_add_guest;/work/main/guests/CMakeLists.txt;0;")
add_test([=[guest_elf_selftest64]=] "/usr/bin/cmake" "-DELF=/work/main/build/guests/selftest64.elf" "-DBITS=64" "-DREADELF=/usr/bin/readelf" "-DOBJDUMP=/usr/bin/objdump" "-P" "/work/main/guests/cmake/check_guest_elf.cmake")
set_tests_properties([=[guest_elf_selftest64]=] PROPERTIES  LABELS "guests" _BACKTRACE_TRIPLES "/work/main/guests/CMakeLists.txt;122;add_test;/work/main/guests/CMakeLists.txt;153;xkvm_add_guest;/work/main/guests/CMakeLists.txt;0;")
add_test([=[guest_elf_selftest32]=] "/usr/bin/cmake" "-DELF=/work/main/build/guests/selftest32.elf" "-DBITS=32" "-DREADELF=/usr/bin/readelf" "-DOBJDUMP=/usr/bin/objdump" "-P" "/work/main/guests/cmake/check_guest_elf.cmake")
set_tests_properties([=[guest_elf_selftest32]=] PROPERTIES  LABELS "guests" _BACKTRACE_TRIPLES "/work/main/guests/CMakeLists.txt;122;add_test;/work/main/guests/CMakeLists.txt;154;xkvm_add_guest;/work/main/guests/CMakeLists.txt;0;")
add_test([=[guest_elf_crash64]=] "/usr/bin/cmake" "-DELF=/work/main/build/guests/crash64.elf" "-DBITS=64" "-DREADELF=/usr/bin/readelf" "-DOBJDUMP=/usr/bin/objdump" "-P" "/work/main/guests/cmake/check_guest_elf.cmake")
set_tests_properties([=[guest_elf_crash64]=] PROPERTIES  LABELS "guests" _BACKTRACE_TRIPLES "/work/main/guests/CMakeLists.txt;122;add_test;/work/main/guests/CMakeLists.txt;155;xkvm_add_guest;/work/main/guests/CMakeLists.txt;0;")
add_test([=[guest_elf_crash32]=] "/usr/bin/cmake" "-DELF=/work/main/build/guests/crash32.elf" "-DBITS=32" "-DREADELF=/usr/bin/readelf" "-DOBJDUMP=/usr/bin/objdump" "-P" "/work/main/guests/cmake/check_guest_elf.cmake")
set_tests_properties([=[guest_elf_crash32]=] PROPERTIES  LABELS "guests" _BACKTRACE_TRIPLES "/work/main/guests/CMakeLists.txt;122;add_test;/work/main/guests/CMakeLists.txt;156;xkvm_add_guest;/work/main/guests/CMakeLists.txt;0;")
