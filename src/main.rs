// On musl (the static build install.sh prefers) Rust's allocations go to dlmalloc:
// musl's own malloc unmaps freed memory at once, which made parsing a large policy
// twice as slow (docs/performance.md).
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

fn main() -> std::process::ExitCode {
    gate::run()
}
