"""/bin/sh (dash) runs the commands of os.system, os.popen and
subprocess with shell=True, including pipelines, redirections and signals."""

from conftest import compare_with_linux, run_kernel

SHELL = r"""
import os, subprocess

print("system exit", os.waitstatus_to_exitcode(os.system("exit 3")))
print("popen", os.popen("echo $((6 * 7))").read().strip())
run = subprocess.run("echo out; echo err >&2; exit 5", shell=True, capture_output=True, text=True)
print("run", run.returncode, run.stdout.strip(), run.stderr.strip())
pipeline = subprocess.run("printf 'a\\nb\\nc\\n' | while read line; do echo got $line; done",
                          shell=True, capture_output=True, text=True)
print("pipeline", pipeline.stdout.split("\n")[:3])
subprocess.run("echo redirected > shell-out.txt; echo again >> shell-out.txt", shell=True, check=True)
with open("shell-out.txt") as f:
    print("redirect", f.read().split())
os.remove("shell-out.txt")
env = subprocess.run("echo $GREETING", shell=True, capture_output=True, text=True,
                     env={"GREETING": "hello", "PATH": "/bin"})
print("env", env.stdout.strip())
print("cwd", subprocess.run("cd / && pwd", shell=True, capture_output=True, text=True).stdout.strip())
print("killed", subprocess.run("kill -TERM $$", shell=True).returncode)
nested = subprocess.run(["/bin/sh", "-c", "sh -c 'exit 9'; echo inner $?"], capture_output=True, text=True)
print("nested", nested.stdout.strip())
"""


def test_shell_matches_linux(disk):
    lines = compare_with_linux(SHELL, disk)
    assert "system exit 3" in lines
    assert "popen 42" in lines
    assert "killed -15" in lines


# The qemu-user reference cannot run an aarch64 program that its shell
# starts, so this runs on the kernel only.
PYTHON_FROM_SHELL = r"""
import subprocess, sys
run = subprocess.run(f"{sys.executable} -c 'print(sum(range(5)))'; exit 4", shell=True,
                     capture_output=True, text=True)
print("python from sh", run.returncode, run.stdout.strip())
"""


def test_shell_starts_python(disk):
    run = run_kernel("-c", PYTHON_FROM_SHELL, disk=disk)
    assert run.status == 0, run.stdout[-2000:]
    assert run.lines[-1] == "python from sh 4 10"
