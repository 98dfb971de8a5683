//! Inline interpreter code: constant commands are found, other ways to start a
//! process are opaque, and everyday one-liners stay analysable.

use super::*;

#[test]
fn constant_commands_in_inline_code_are_analysed() {
    for argv in [
        &["python3", "-c", "import os; os.system('rm -rf /')"][..],
        &[
            "python3",
            "-Sc",
            "import subprocess; subprocess.run(['rm', '-rf', '/'], check=True)",
        ],
        &[
            "python",
            "-c",
            "import subprocess\nsubprocess.call('rm -rf /', shell=True)",
        ],
        &[
            "python3.12",
            "-c",
            "import os; os.execvp('rm', ['rm', '-rf', '/'])",
        ],
        &["perl", "-e", "system('rm -rf /')"],
        &["perl", "-we", "print `rm -rf /`"],
        &["perl", "-e", "system 'rm', '-rf', '/'"],
        &["ruby", "-e", "system('rm', '-rf', '/')"],
        &["ruby", "-e", "puts `rm -rf /`"],
        &[
            "node",
            "-e",
            "require('child_process').execSync('rm -rf /')",
        ],
        &[
            "node",
            "-p",
            "require('node:child_process').spawnSync('rm', ['-rf', '/'])",
        ],
        &["php", "-r", "system('rm -rf /');"],
        &["php", "-r", "echo shell_exec('rm -rf /');"],
        &["lua", "-e", "os.execute('rm -rf /')"],
        &["awk", "BEGIN { system(\"rm -rf /\") }"],
        &["awk", "{ print | \"rm -rf /\" }"],
        &["gawk", "BEGIN { \"rm -rf /\" | getline x }"],
        &["sed", "1e rm -rf /", "f"],
    ] {
        let found = run(argv);
        assert!(finds(&found, "rm -rf /"), "{argv:?}: {found:?}");
    }
}

#[test]
fn code_that_can_start_a_process_otherwise_is_opaque() {
    for argv in [
        &["python3", "-c", "import os; os.system(cmd)"][..],
        &["python3", "-c", "import subprocess as s; s.run(x)"],
        &["python3", "-c", "__import__('os').system('ls')"],
        &["python3", "-c", "getattr(__builtins__, 'ex' + 'ec')('x')"],
        &["python3", "-c", "import pty; pty.spawn('sh')"],
        &["python3", "-c", "from os import system as s; s('rm -rf /')"],
        &["python3", "-c", "exec(bytes.fromhex('...'))"],
        &["python3", "-c", "import sys; sys.modules['os'].system('x')"],
        &["python3", "-c", "# it's\nimport os; os.system(x) #'"],
        &[
            "python3",
            "-c",
            "print(f\"{__import__('os').system('x')}\")",
        ],
        &["python3", "-c", "import evil"],
        &["python3"],
        &["python3", "-"],
        &["python3", "-i", "-c", "1"],
        &["perl", "-e", "system($x)"],
        &["perl", "-pe", "s/a/b/e", "f"],
        &["perl", "-e", "&{\"sys\".\"tem\"}('ls')"],
        &["perl", "-MIPC::Open3", "-e", "1"],
        &["perl", "-e", "open(F, \"rm -rf / |\")"],
        &["ruby", "-e", "eval(STDIN.read)"],
        &["ruby", "-e", "send(:system, 'ls')"],
        &["ruby", "-e", "%x(ls)"],
        &["node", "-e", "require('child_'+'process')"],
        &["node", "-e", "process['binding']('spawn_sync')"],
        &["node", "-e", "new Function('return process')()"],
        &["node", "-r", "./evil.js", "-e", "1"],
        &["php", "-r", "$f='system'; $f('ls');"],
        &["php", "-r", "array_map('system', ['ls']);"],
        &["lua", "-e", "load(s)()"],
        &["tclsh"],
        &["expect", "-c", "spawn sh"],
        &["awk", "{ system($0) }"],
        &["awk", "{ print | $2 }"],
        &["awk", "-f", "prog.awk", "f"],
        &["sed", "s/.*/&/e", "f"],
        &["sed", "e", "f"],
        &["sed", "-f", "script.sed", "f"],
    ] {
        assert!(any_opaque(&run(argv)), "{argv:?}: {:?}", run(argv));
    }
}

#[test]
fn everyday_one_liners_stay_analysable() {
    for argv in [
        &["python3", "-c", "print(1+1)"][..],
        &[
            "python3",
            "-c",
            "import json,sys; print(json.load(sys.stdin))",
        ],
        &[
            "python3",
            "-c",
            "import json, sys; print(json.dumps(json.load(sys.stdin), indent=2))",
        ],
        &["python3", "-c", "import os; print(os.getcwd())"],
        &["python3", "-c", "import sys; print(sys.version)"],
        &["python3", "-c", "import platform; print(platform.system())"],
        &["python3", "-c", "print(\"run the system tests\")"],
        &["python3", "-m", "pytest", "-q"],
        &["python3", "script.py", "--flag"],
        &["node", "-e", "console.log(1)"],
        &[
            "node",
            "-p",
            "require('fs').readFileSync('package.json', 'utf8').length",
        ],
        &[
            "node",
            "--no-warnings",
            "-e",
            "console.log(process.version)",
        ],
        &["perl", "-lne", "print if /x/", "f"],
        &["perl", "-pi", "-e", "s/a/b/g", "f"],
        &["ruby", "-e", "puts 1"],
        &["ruby", "-rjson", "-e", "puts JSON.generate([1])"],
        &["php", "-r", "echo 1;"],
        &["lua", "-e", "print(1)"],
        &["awk", "{print $1}", "f"],
        &["awk", "-F:", "/a|b/ { n++ } END { print n }", "f"],
        &["sed", "-n", "s/a/b/p", "f"],
        &["sed", "-i", "-e", "s/a/b/g", "f"],
    ] {
        assert!(!any_opaque(&run(argv)), "{argv:?}: {:?}", run(argv));
    }
}

#[test]
fn runs_inline_code_recognises_the_interpreters() {
    assert!(runs_inline_code(&strings(&["python3", "-c", "print(1)"])));
    assert!(runs_inline_code(&strings(&["/usr/bin/node", "-e", "1"])));
    assert!(!runs_inline_code(&strings(&["python3", "x.py"])));
    assert!(!runs_inline_code(&strings(&["awk", "{print}"])));
}
