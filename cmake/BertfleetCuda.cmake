# CUDA toolkit and NCCL discovery (included from the top-level CMakeLists.txt after
# find_package(Torch)).
#
# BERTFLEET_CUDA=ON: needs a CUDA LibTorch (whose config has already enabled CUDA and found
# CUDAToolkit) and NCCL; worker/CMakeLists.txt then adds engine/collective/nccl/nccl_communicator.cc and links
# bertfleet_nccl into the engine.
# Any build: when a CUDA toolkit and nccl.h/libnccl are found, bertfleet_nccl (the raw NCCL
# layer, worker/engine/collective/nccl/nccl_group.cc, no LibTorch) and the nccl_group_link_check program are built, so a
# CPU-only CI still compiles and links the NCCL code.
#
# NCCL is looked for, in this order, in: $NCCL_ROOT (or -DNCCL_ROOT), pip's nvidia-nccl package
# next to the LibTorch in use (<site-packages>/nvidia/nccl: the libnccl that torch itself
# loads), the CUDA toolkit, then every python3 site-packages/nvidia/nccl.

if(NOT TARGET CUDA::cudart)
  if(NOT DEFINED CUDAToolkit_ROOT AND NOT DEFINED ENV{CUDAToolkit_ROOT} AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CUDAToolkit_ROOT /usr/local/cuda)
  endif()
  if(BERTFLEET_CUDA)
    find_package(CUDAToolkit REQUIRED)
  else()
    find_package(CUDAToolkit QUIET)
  endif()
endif()

if(BERTFLEET_CUDA AND NOT TARGET torch_cuda)
  message(FATAL_ERROR "BERTFLEET_CUDA=ON needs a CUDA build of LibTorch, but the one found "
                      "(${TORCH_INSTALL_PREFIX}) has no torch_cuda. Point CMAKE_PREFIX_PATH at "
                      "`python3 -c 'import torch.utils; print(torch.utils.cmake_prefix_path)'` of a CUDA PyTorch.")
endif()

if(TARGET CUDA::cudart)
  set(_nccl_hints)
  if(NCCL_ROOT)
    list(APPEND _nccl_hints "${NCCL_ROOT}")
  endif()
  if(DEFINED ENV{NCCL_ROOT})
    list(APPEND _nccl_hints "$ENV{NCCL_ROOT}")
  endif()
  if(TORCH_INSTALL_PREFIX)
    get_filename_component(_torch_site_packages "${TORCH_INSTALL_PREFIX}/.." ABSOLUTE)
    list(APPEND _nccl_hints "${_torch_site_packages}/nvidia/nccl")
  endif()
  if(CUDAToolkit_INCLUDE_DIRS)
    foreach(_dir ${CUDAToolkit_INCLUDE_DIRS})
      get_filename_component(_dir "${_dir}/.." ABSOLUTE)
      list(APPEND _nccl_hints "${_dir}")
    endforeach()
  endif()
  if(CUDAToolkit_LIBRARY_ROOT)
    list(APPEND _nccl_hints "${CUDAToolkit_LIBRARY_ROOT}")
  endif()
  find_program(BERTFLEET_PYTHON3_FOR_NCCL python3)
  if(BERTFLEET_PYTHON3_FOR_NCCL)
    execute_process(
      COMMAND "${BERTFLEET_PYTHON3_FOR_NCCL}" -c
              "import site; print(';'.join(site.getsitepackages() + [site.getusersitepackages()]))"
      OUTPUT_VARIABLE _python_site_dirs OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE _python_result)
    if(_python_result EQUAL 0)
      foreach(_dir ${_python_site_dirs})
        list(APPEND _nccl_hints "${_dir}/nvidia/nccl")
      endforeach()
    endif()
  endif()

  find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${_nccl_hints} PATH_SUFFIXES include)
  # pip's nvidia-nccl ships only the versioned libnccl.so.2.
  find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2 HINTS ${_nccl_hints} PATH_SUFFIXES lib lib64)

  if(NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
    file(STRINGS "${NCCL_INCLUDE_DIR}/nccl.h" _nccl_version_lines REGEX "^#define NCCL_(MAJOR|MINOR|PATCH) ")
    set(NCCL_VERSION "")
    foreach(_line ${_nccl_version_lines})
      string(REGEX REPLACE "^#define NCCL_[A-Z]+ +([0-9]+).*$" "\\1" _part "${_line}")
      if(NCCL_VERSION STREQUAL "")
        set(NCCL_VERSION "${_part}")
      else()
        set(NCCL_VERSION "${NCCL_VERSION}.${_part}")
      endif()
    endforeach()
    message(STATUS "NCCL ${NCCL_VERSION}: ${NCCL_INCLUDE_DIR}/nccl.h, ${NCCL_LIBRARY}")
    add_library(bertfleet::nccl UNKNOWN IMPORTED)
    set_target_properties(bertfleet::nccl PROPERTIES
      IMPORTED_LOCATION "${NCCL_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${NCCL_INCLUDE_DIR}")

    # The raw NCCL layer: no LibTorch, so it compiles in seconds and links in any build.
    add_library(bertfleet_nccl STATIC ${PROJECT_SOURCE_DIR}/worker/engine/collective/nccl/nccl_group.cc)
    target_include_directories(bertfleet_nccl PUBLIC ${PROJECT_SOURCE_DIR})
    target_link_libraries(bertfleet_nccl PUBLIC bertfleet::nccl CUDA::cudart Threads::Threads)

    # Without a GPU it prints "no CUDA device" and exits 0; with one it runs a 1-rank group.
    add_executable(nccl_group_link_check ${PROJECT_SOURCE_DIR}/tests/cuda/nccl_group_link_check.cc)
    target_link_libraries(nccl_group_link_check PRIVATE bertfleet_nccl)
  elseif(BERTFLEET_CUDA)
    message(FATAL_ERROR "BERTFLEET_CUDA=ON: NCCL not found (nccl.h: ${NCCL_INCLUDE_DIR}, libnccl: ${NCCL_LIBRARY}). "
                        "Looked in: ${_nccl_hints}. Set NCCL_ROOT to a directory with include/nccl.h and lib/libnccl.so*.")
  else()
    message(STATUS "NCCL not found: the NCCL link check is not built")
  endif()
elseif(NOT BERTFLEET_CUDA)
  message(STATUS "No CUDA toolkit: the NCCL link check is not built")
endif()
