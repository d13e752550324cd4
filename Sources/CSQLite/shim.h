// The system SQLite (Debian: libsqlite3-dev), seen from Swift as the module CSQLite.
#include <sqlite3.h>

// sqlite3_config is variadic, which Swift cannot call: a fixed-argument wrapper for each option
// the store sets. SQLITE_CONFIG_MEMSTATUS 0 stops SQLite counting every allocation under a global
// mutex (the store never reads those statistics): 1.2k fewer instructions per packet row in the
// floor measurement (docs/store.md, "Session 15"). Must run before the first connection opens.
static inline int hj_sqlite3_config_memstatus(int on) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, on);
}
