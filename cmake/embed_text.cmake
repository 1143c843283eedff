# Writes a C++ file defining `const std::string& NAME()` (in NAMESPACE) that returns the text of
# INPUT, as a raw string literal: the browser editor's page stays an .html file in the tree.
#   cmake -DINPUT=page.html -DOUTPUT=page.cpp -DNAME=editor_page -DNAMESPACE=faceedit::server -P embed_text.cmake
file(READ "${INPUT}" text)
if(text MATCHES "\\)EMBED\"")
  message(FATAL_ERROR "${INPUT} contains the raw string's delimiter )EMBED\"")
endif()
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} by cmake/embed_text.cmake: edit the source, not this file.\n"
  "#include <string>\n\nnamespace ${NAMESPACE} {\n\n"
  "const std::string& ${NAME}() {\n  static const std::string text = R\"EMBED(${text})EMBED\";\n  return text;\n}\n\n}\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
