/* A real shared library for the code cache to store and dlopen from its entry file. */
int asp_test_cache_answer(void) { return 42; }
