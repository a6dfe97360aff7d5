use std::process::ExitCode;

fn main() -> ExitCode {
    tocsinctl::main()
}
