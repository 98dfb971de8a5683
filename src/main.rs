fn main() -> std::process::ExitCode {
    gate::run()
}
