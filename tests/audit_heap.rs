//! The private SQLite heap a one-command process (`gate --`) gives SQLite. A test
//! binary of its own: the heap can only be set before a process first uses SQLite.

mod audit_support;

use audit_support::TestLog;
use gate::audit::AuditLog;

#[test]
fn one_command_heap_serves_sqlite_through_a_long_log() {
    gate::audit::use_one_command_heap();
    gate::audit::use_one_command_heap(); // a second call changes nothing
    let log = TestLog::with_records(1_000);
    let mut reopened = AuditLog::open(&log.path).expect("open");
    reopened
        .append(&audit_support::entry(1_001), &log.key, true)
        .expect("append after reopening");
    let report = gate::audit::verify(&log.path, &log.key.verifying_key()).expect("verify");
    assert_eq!((report.records, report.problem), (1_001, None));

    // SQLite's buddy allocator (memsys5) hands out powers of two; the C library's
    // allocator, which SQLite would use without the heap, reports 104 for this.
    // SAFETY: a plain allocation from SQLite's allocator, freed right after.
    let size = unsafe {
        let block = rusqlite::ffi::sqlite3_malloc(100);
        assert!(!block.is_null(), "SQLite's heap is exhausted");
        let size = rusqlite::ffi::sqlite3_msize(block);
        rusqlite::ffi::sqlite3_free(block);
        size
    };
    assert_eq!(size, 128, "SQLite is not using the one-command heap");
}
