# CMake generated Testfile for 
# Source directory: /work/main/src/numa
# Build directory: /work/main/build/src/numa
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
include("/work/main/build/src/numa/numa_cpuset_test[1]_include.cmake")
include("/work/main/build/src/numa/numa_topology_test[1]_include.cmake")
include("/work/main/build/src/numa/numa_affinity_test[1]_include.cmake")
include("/work/main/build/src/numa/numa_placement_test[1]_include.cmake")
include("/work/main/build/src/numa/numa_binding_test[1]_include.cmake")
