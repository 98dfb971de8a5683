//! deno and bun: inline code is screened like node's, a script file is a
//! program, and code on stdin or a REPL is opaque.

use super::*;

#[test]
fn constant_commands_in_deno_and_bun_code_are_analysed() {
    for argv in [
        &[
            "deno",
            "eval",
            "new Deno.Command('rm', { args: ['-rf', '/'] }).outputSync()",
        ][..],
        &[
            "deno",
            "eval",
            "-p",
            "Deno.run({ cmd: ['rm', '-rf', '/'], stdout: 'piped' })",
        ],
        &[
            "deno",
            "eval",
            "--ext=ts",
            "new Deno.Command(\"rm -rf /\").spawn()",
        ],
        &[
            "deno",
            "-q",
            "eval",
            "require('child_process').execSync('rm -rf /')",
        ],
        &[
            "deno",
            "repl",
            "--eval",
            "new Deno.Command('rm', {args: ['-rf', '/']}).outputSync()",
        ],
        &["bun", "-e", "Bun.spawnSync(['rm', '-rf', '/'])"],
        &["bun", "--eval", "Bun.spawn({ cmd: ['rm', '-rf', '/'] })"],
        &[
            "bun",
            "--print=Bun.spawn(['rm', '-rf', '/'], { stdout: 'inherit' })",
        ],
        &["bun", "-p", "await Bun.$`rm -rf /`"],
        &["bun", "-e", "await $ `rm -rf /`.quiet()"],
        &[
            "bun",
            "--smol",
            "-e",
            "require('node:child_process').spawnSync('rm', ['-rf', '/'])",
        ],
        &["bun", "exec", "rm -rf /"],
        &["deno", "task", "--eval", "rm -rf /"],
    ] {
        assert!(finds(&run(argv), "rm -rf /"), "{argv:?}: {:?}", run(argv));
    }
}

#[test]
fn other_ways_to_spawn_from_deno_and_bun_are_opaque() {
    for argv in [
        &["deno", "eval", "new Deno.Command(cmd).outputSync()"][..],
        &[
            "deno",
            "eval",
            "const { Command } = Deno; new Command('ls')",
        ],
        &["deno", "eval", "Deno['Command']"],
        &[
            "deno",
            "eval",
            "new Deno.Command('sh', { args: ['-c', x], env: {} })",
        ],
        &["deno", "eval", "import('npm:execa')"],
        &["bun", "-e", "Bun.spawn([cmd])"],
        &["bun", "-e", "const { $: sh } = Bun; await sh`ls`"],
        &["bun", "-e", "const sh = Bun.$; await sh`ls`"],
        &["bun", "-e", "await Bun.$`rm ${dir}`"],
        &["bun", "-e", "Bun.openInEditor('x')"],
        &["bun", "-r", "./evil.ts", "-e", "1"],
        &["bun", "--preload=./evil.ts", "x.ts"],
        &["bun", "--config", "bunfig.toml", "x.ts"],
        &["deno", "run", "--inspect-brk", "main.ts"],
        &["deno", "run", "--preload", "evil.ts", "main.ts"],
        &["deno", "run", "--bogus", "main.ts"],
        &["deno", "eval", "--seedx", "1", "Deno.run({cmd})"],
        &["deno", "run", "-"],
        &["deno", "-"],
        &["deno"],
        &["deno", "repl"],
        &["deno", "repl", "--eval", "console.log(1)"],
        &["bun", "repl"],
        &["bun", "run", "-"],
    ] {
        assert!(any_opaque(&run(argv)), "{argv:?}: {:?}", run(argv));
    }
}

#[test]
fn deno_and_bun_everyday_shapes_stay_analysable() {
    for argv in [
        &["deno", "eval", "console.log(1)"][..],
        &["deno", "eval", "-p", "1 + 1"],
        &["deno", "eval", "console.log(Deno.version.deno)"],
        &["deno", "run", "main.ts"],
        &[
            "deno",
            "run",
            "-A",
            "--allow-net=example.com",
            "-R=.",
            "--watch",
            "main.ts",
            "--port",
            "1",
        ],
        &["deno", "main.ts"],
        &["deno", "test", "--allow-read"],
        &["deno", "task", "dev"],
        &["deno", "fmt", "--check"],
        &["deno", "--version"],
        &["bun", "-e", "console.log(1)"],
        &["bun", "-p", "process.version"],
        &["bun", "run", "build"],
        &["bun", "run", "--watch", "server.ts"],
        &["bun", "index.ts"],
        &["bun", "test"],
        &["bun", "install"],
        &["bun"],
    ] {
        assert!(!any_opaque(&run(argv)), "{argv:?}: {:?}", run(argv));
    }
    assert_eq!(
        run(&["deno", "run", "main.ts"]),
        [plain("deno run main.ts", &[])]
    );
    assert!(runs_inline_code(&strings(&["deno", "eval", "1"])));
    assert!(runs_inline_code(&strings(&["bun", "-e", "1"])));
    assert!(!runs_inline_code(&strings(&["bun", "x.ts"])));
}
