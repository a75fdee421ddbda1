fn main() -> std::process::ExitCode {
    promptstack::cli::main()
}
