fn main() -> std::process::ExitCode {
    coze_tui::cli::main()
}
