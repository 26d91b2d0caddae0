# Runs check_chapter on a copy of chapter 1's program in a folder whose name has spaces and a
# quote, as a user's build tree may: check_chapter must hand the path to the shell as one word.
#
#   cmake -DCHECK=<check_chapter> -DPROGRAM=<ch01_models> -DMD=<chapter.md> -DCPP=<chapter.cpp>
#         -DDIR=<scratch folder> -P check_chapter_path_with_spaces.cmake
set(folder "${DIR}/a build's folder")
file(REMOVE_RECURSE "${folder}")
file(MAKE_DIRECTORY "${folder}")
get_filename_component(name "${PROGRAM}" NAME)
file(COPY "${PROGRAM}" DESTINATION "${folder}")
execute_process(COMMAND "${CHECK}" "${MD}" "${CPP}" "${folder}/${name}"
                WORKING_DIRECTORY "${folder}" RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "check_chapter failed on a program in '${folder}' (status ${status})")
endif()
