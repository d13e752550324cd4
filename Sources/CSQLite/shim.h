// The system SQLite (Debian: libsqlite3-dev), seen from Swift as the module CSQLite.
#include <sqlite3.h>
