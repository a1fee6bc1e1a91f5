/* A shared library that is not an Asp plugin: it exports no entry symbol. */
int not_an_asp_plugin(void) { return 42; }
