/* Depends on a symbol nothing provides: loading must fail with a message, not crash. */
extern int asp_test_symbol_that_does_not_exist(void);
int uses_missing_symbol(void) { return asp_test_symbol_that_does_not_exist(); }
