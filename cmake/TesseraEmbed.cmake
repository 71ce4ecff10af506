# tsr_embed_migrations(TARGET SYMBOL DIR): compiles every DIR/NNN_name.sql into TARGET as an array
# `const tsr_migration_t SYMBOL[]` with `SYMBOL_count`, so a daemon carries its own schema and
# needs no path to its source tree at run time.
function(tsr_embed_migrations target symbol dir)
  file(GLOB sql_files CONFIGURE_DEPENDS ${dir}/*.sql)
  list(SORT sql_files)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${symbol}.c)
  # A CMake list would become separate arguments: pass it as one, joined with '|' (quoted by VERBATIM).
  string(REPLACE ";" "|" files_arg "${sql_files}")
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DSYMBOL=${symbol} "-DFILES=${files_arg}"
            -P ${CMAKE_SOURCE_DIR}/cmake/TesseraEmbedRun.cmake
    DEPENDS ${sql_files} ${CMAKE_SOURCE_DIR}/cmake/TesseraEmbedRun.cmake
    COMMENT "Embedding migrations ${symbol}"
    VERBATIM)
  target_sources(${target} PRIVATE ${out})
endfunction()
