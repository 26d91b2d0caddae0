# Uses the vesta build in VESTA_BINARY_DIR as a CMake package the two ways a user can: from
# the install tree (`cmake --install` into a scratch prefix, found by CMAKE_PREFIX_PATH) and
# from the build tree itself (CMAKE_PREFIX_PATH and vesta_DIR pointing at the build folder).
# Each time the consumer project is configured, checked to be compiled without any -march
# flag (the library's -march=native must not reach it), built and run.
file(REMOVE_RECURSE ${WORK_DIR})
# The consumer's compilations go through vesta's compiler cache too, when it has one.
if(CONSUMER_CCACHE_BASEDIR)
  set(ENV{CCACHE_BASEDIR} ${CONSUMER_CCACHE_BASEDIR})
endif()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${cmd}")
  endif()
endfunction()

# consumer(<name> <expected vesta_DIR> <cmake arguments that point at the package>...)
function(consumer name expected_dir)
  set(build ${WORK_DIR}/${name})
  message(STATUS "consumer against the ${name}")
  set(launcher)
  if(CONSUMER_LAUNCHER)
    set(launcher -D CMAKE_CXX_COMPILER_LAUNCHER=${CONSUMER_LAUNCHER})
  endif()
  run(${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${build} -D CMAKE_BUILD_TYPE=Release
      -D CMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER} -D CMAKE_EXPORT_COMPILE_COMMANDS=ON
      ${launcher} ${ARGN})
  load_cache(${build} READ_WITH_PREFIX found_ vesta_DIR)
  file(REAL_PATH "${found_vesta_DIR}" found)
  file(REAL_PATH "${expected_dir}" expected)
  if(NOT found STREQUAL expected)
    message(FATAL_ERROR "the consumer (${name}) found vesta in ${found}, not in ${expected}")
  endif()
  file(READ ${build}/compile_commands.json commands)
  if(commands MATCHES "-march")
    message(FATAL_ERROR "the consumer (${name}) is compiled with -march; vesta::vesta must not "
                        "impose it:\n${commands}")
  endif()
  run(${CMAKE_COMMAND} --build ${build})
  run(${build}/consumer)
endfunction()

set(prefix ${WORK_DIR}/prefix)
execute_process(COMMAND ${CMAKE_COMMAND} --install ${VESTA_BINARY_DIR} --prefix ${prefix}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install ${VESTA_BINARY_DIR} failed (${rc}):\n${out}")
endif()
file(GLOB_RECURSE installed_config ${prefix}/vestaConfig.cmake)
get_filename_component(installed_dir "${installed_config}" DIRECTORY)
consumer(install-tree "${installed_dir}" -D CMAKE_PREFIX_PATH=${prefix})
consumer(build-tree ${VESTA_BINARY_DIR} -D CMAKE_PREFIX_PATH=${VESTA_BINARY_DIR})
# vesta_DIR finds the same package: configuring is enough to show it.
run(${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${WORK_DIR}/build-tree-vesta_DIR
    -D CMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER} -D vesta_DIR=${VESTA_BINARY_DIR})
