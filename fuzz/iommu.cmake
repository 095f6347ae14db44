# iommu: map/unmap/DMA sequences on one context; the IOTLB must always agree with the tables.
xkvm_fuzz_target(iommu_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/iommu_fuzz.cpp LIBS xkvm_iommu)
set_tests_properties(iommu_fuzz_corpus PROPERTIES LABELS "fuzz;iommu")
