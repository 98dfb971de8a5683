// On musl (the static build install.sh prefers) Rust's allocations go to dlmalloc:
// musl's own malloc unmaps freed memory at once, which cost `gate --` 0.17 ms a
// call and a 10,000-rule policy parse 137 ms in the kernel (docs/performance.md).
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

fn main() -> std::process::ExitCode {
    gate::run()
}
