//! Unit tests of the spec checker, the code generator and the docs renderer.

use crate::spec::{ArgKind, Dir, Family, Level, Ret, Unknown, parse};
use crate::{codegen, docs, expand};

const READ: &str = r#"
[[syscall]]
name = "read"
nr = { aarch64 = 63, riscv64 = 63, x86_64 = 0, loongarch64 = 63 }
family = "fs"
args = [
  { name = "fd", type = "fd" },
  { name = "buf", type = "out", len = "count" },
  { name = "count", type = "usize" },
]
ret = "size"
errno = ["EBADF", "EFAULT"]
level = "full"
"#;

/// Spec text of one entry whose `args` line is replaced.
fn with_args(args: &str) -> String {
    format!(
        r#"
[[syscall]]
name = "probe"
nr = {{ aarch64 = 1 }}
family = "misc"
args = {args}
ret = "zero"
errno = []
level = "full"
"#
    )
}

fn parse_error(text: &str) -> (String, String, String) {
    let e = parse(text).expect_err("spec should be rejected");
    (e.entry, e.field, e.message)
}

#[test]
fn parse_read_entry() {
    let spec = parse(READ).unwrap();
    assert_eq!(spec.entries.len(), 1);
    let read = &spec.entries[0];
    assert_eq!(read.name, "read");
    assert_eq!(read.nr, [Some(63), Some(63), Some(0), Some(63)]);
    assert_eq!(read.family, Family::Fs);
    assert_eq!(read.ret, Ret::Size);
    assert_eq!(read.level, Level::Full);
    assert_eq!(read.errno, vec!["EBADF", "EFAULT"]);
    assert_eq!(read.args[0].kind, ArgKind::Fd);
    assert_eq!(
        read.args[1].kind,
        ArgKind::Ptr {
            dir: Dir::Out,
            of: "u8".into(),
            len: Some(2),
            max_len: None,
            nullable: false
        }
    );
    assert_eq!(
        read.method_signature(),
        "fn sys_read(&mut self, fd: Fd, buf: UserOutBytes, count: usize) -> SysResult<usize>"
    );
}

#[test]
fn parse_flags_and_nullable_pointer() {
    let spec = parse(&with_args(
        r#"[{ name = "flags", type = "flags", flags = "OpenFlags", unknown = "einval" },
            { name = "act", type = "in", of = "Sigaction", nullable = true }]"#,
    ))
    .unwrap();
    let args = &spec.entries[0].args;
    assert_eq!(
        args[0].kind,
        ArgKind::Flags {
            ty: "OpenFlags".into(),
            unknown: Unknown::Einval,
            allow: None
        }
    );
    assert_eq!(args[1].rust_type(), "Option<UserIn<Sigaction>>");
}

#[test]
fn missing_field_names_entry_and_field() {
    let text = READ.replace("family = \"fs\"\n", "");
    let (entry, field, message) = parse_error(&text);
    assert_eq!(entry, "read");
    assert_eq!(field, "family");
    assert!(message.contains("missing field"), "{message}");
}

#[test]
fn unknown_entry_field_rejected() {
    let text = READ.replace("level = \"full\"", "level = \"full\"\nlevl = \"x\"");
    let (entry, field, _) = parse_error(&text);
    assert_eq!(entry, "read");
    assert_eq!(field, "levl");
}

#[test]
fn unknown_argument_type_rejected() {
    let (entry, field, message) = parse_error(&with_args(r#"[{ name = "x", type = "pointer" }]"#));
    assert_eq!(entry, "probe");
    assert_eq!(field, "args[0].type");
    assert!(message.contains("unknown type `pointer`"), "{message}");
}

#[test]
fn missing_length_argument_rejected() {
    let (_, field, message) = parse_error(&with_args(
        r#"[{ name = "buf", type = "out", len = "count" }]"#,
    ));
    assert_eq!(field, "args[0].len");
    assert_eq!(message, "no argument named `count`");
}

#[test]
fn non_integer_length_argument_rejected() {
    let (_, field, message) = parse_error(&with_args(
        r#"[{ name = "buf", type = "out", len = "fd" }, { name = "fd", type = "fd" }]"#,
    ));
    assert_eq!(field, "args[0].len");
    assert!(message.contains("must be an integer type"), "{message}");
}

#[test]
fn iovec_needs_length() {
    let (_, field, _) = parse_error(&with_args(r#"[{ name = "iov", type = "iovec" }]"#));
    assert_eq!(field, "args[0].len");
}

#[test]
fn pointer_needs_element_type_or_length() {
    let (_, field, _) = parse_error(&with_args(r#"[{ name = "p", type = "in" }]"#));
    assert_eq!(field, "args[0].of");
}

#[test]
fn field_not_valid_for_type_rejected() {
    let (_, field, message) = parse_error(&with_args(
        r#"[{ name = "fd", type = "fd", nullable = true }]"#,
    ));
    assert_eq!(field, "args[0].nullable");
    assert_eq!(message, "field `nullable` is not valid for type `fd`");
}

#[test]
fn flags_need_type_and_unknown_policy() {
    let (_, field, _) = parse_error(&with_args(
        r#"[{ name = "f", type = "flags", unknown = "ignore" }]"#,
    ));
    assert_eq!(field, "args[0].flags");
    let (_, field, _) = parse_error(&with_args(
        r#"[{ name = "f", type = "flags", flags = "OpenFlags" }]"#,
    ));
    assert_eq!(field, "args[0].unknown");
    let (_, field, _) = parse_error(&with_args(
        r#"[{ name = "f", type = "flags", flags = "OpenFlags", unknown = "drop" }]"#,
    ));
    assert_eq!(field, "args[0].unknown");
}

#[test]
fn flags_allow_list_parsed() {
    let spec = parse(&with_args(
        r#"[{ name = "f", type = "flags", flags = "AtFlags", unknown = "einval", allow = ["REMOVEDIR"] }]"#,
    ))
    .unwrap();
    let arg = &spec.entries[0].args[0];
    assert_eq!(
        arg.kind,
        ArgKind::Flags {
            ty: "AtFlags".into(),
            unknown: Unknown::Einval,
            allow: Some(vec!["REMOVEDIR".into()])
        }
    );
    assert_eq!(
        arg.spec_type(&spec.entries[0].args),
        "flags AtFlags (allowed: REMOVEDIR; other bits: einval)"
    );
}

#[test]
fn flags_allow_list_needs_einval() {
    let (_, field, _) = parse_error(&with_args(
        r#"[{ name = "f", type = "flags", flags = "AtFlags", unknown = "ignore", allow = ["REMOVEDIR"] }]"#,
    ));
    assert_eq!(field, "args[0].allow");
    let (_, field, _) = parse_error(&with_args(
        r#"[{ name = "f", type = "flags", flags = "AtFlags", unknown = "einval", allow = ["removedir"] }]"#,
    ));
    assert_eq!(field, "args[0].allow[0]");
}

#[test]
fn keyword_argument_name_rejected() {
    let (_, field, _) = parse_error(&with_args(r#"[{ name = "type", type = "int" }]"#));
    assert_eq!(field, "args[0].name");
}

#[test]
fn duplicate_argument_name_rejected() {
    let (_, field, _) = parse_error(&with_args(
        r#"[{ name = "a", type = "int" }, { name = "a", type = "int" }]"#,
    ));
    assert_eq!(field, "args[1].name");
}

#[test]
fn seven_arguments_rejected() {
    let args: Vec<String> = (0..7)
        .map(|i| format!("{{ name = \"a{i}\", type = \"int\" }}"))
        .collect();
    let (_, field, _) = parse_error(&with_args(&format!("[{}]", args.join(", "))));
    assert_eq!(field, "args");
}

#[test]
fn duplicate_number_per_architecture_rejected() {
    let other = READ.replace("\"read\"", "\"read_again\"").replace(
        "{ aarch64 = 63, riscv64 = 63, x86_64 = 0, loongarch64 = 63 }",
        "{ aarch64 = 64, riscv64 = 64, x86_64 = 0 }",
    );
    let (entry, field, message) = parse_error(&format!("{READ}{other}"));
    assert_eq!(entry, "read_again");
    assert_eq!(field, "nr.x86_64");
    assert_eq!(message, "number 0 is also used by `read`");
}

#[test]
fn same_number_on_different_architectures_accepted() {
    let other = READ.replace("\"read\"", "\"other\"").replace(
        "{ aarch64 = 63, riscv64 = 63, x86_64 = 0, loongarch64 = 63 }",
        "{ x86_64 = 63 }",
    );
    assert_eq!(parse(&format!("{READ}{other}")).unwrap().entries.len(), 2);
}

#[test]
fn duplicate_name_rejected() {
    let other = READ.replace(
        "{ aarch64 = 63, riscv64 = 63, x86_64 = 0, loongarch64 = 63 }",
        "{ aarch64 = 1 }",
    );
    let (entry, field, _) = parse_error(&format!("{READ}{other}"));
    assert_eq!(entry, "read");
    assert_eq!(field, "name");
}

#[test]
fn unknown_architecture_rejected() {
    let text = READ.replace("loongarch64 = 63", "mips = 63");
    let (_, field, _) = parse_error(&text);
    assert_eq!(field, "nr.mips");
}

#[test]
fn entry_without_numbers_rejected() {
    let text = READ.replace(
        "{ aarch64 = 63, riscv64 = 63, x86_64 = 0, loongarch64 = 63 }",
        "{}",
    );
    let (_, field, _) = parse_error(&text);
    assert_eq!(field, "nr");
}

#[test]
fn unknown_errno_rejected() {
    let text = READ.replace("\"EFAULT\"]", "\"EWOULDBLOCK\"]");
    let (_, field, message) = parse_error(&text);
    assert_eq!(field, "errno[1]");
    assert!(message.contains("EWOULDBLOCK"), "{message}");
}

#[test]
fn partial_entry_needs_note() {
    let text = READ.replace("level = \"full\"", "level = \"partial\"");
    let (_, field, _) = parse_error(&text);
    assert_eq!(field, "note");
    let text = READ.replace(
        "level = \"full\"",
        "level = \"partial\"\nnote = \"no O_DIRECT\"",
    );
    assert_eq!(parse(&text).unwrap().entries[0].note, "no O_DIRECT");
}

#[test]
fn unknown_family_level_and_return_rejected() {
    let (_, field, _) = parse_error(&READ.replace("family = \"fs\"", "family = \"net\""));
    assert_eq!(field, "family");
    let (_, field, _) = parse_error(&READ.replace("level = \"full\"", "level = \"done\""));
    assert_eq!(field, "level");
    let (_, field, _) = parse_error(&READ.replace("ret = \"size\"", "ret = \"ssize\""));
    assert_eq!(field, "ret");
}

#[test]
fn toml_syntax_error_reported() {
    let (entry, field, _) = parse_error("[[syscall]\nname = ");
    assert_eq!(entry, "(file)");
    assert_eq!(field, "(syntax)");
}

#[test]
fn generated_code_parses_as_rust() {
    let spec = parse(READ).unwrap();
    let tokens = codegen::generate(&spec, "/spec/syscalls.toml");
    let file: syn::File = syn::parse2(tokens).expect("generated code should parse");
    let text = quote::quote!(#file).to_string();
    assert!(text.contains("fn sys_read"), "{text}");
    assert!(text.contains("pub const READ : usize = 63"), "{text}");
    assert!(text.contains("check_fd"), "{text}");
}

#[test]
fn markdown_lists_entry() {
    let spec = parse(READ).unwrap();
    let markdown = docs::render_markdown(&spec);
    assert!(
        markdown.contains("| [read](#read) | 63 | 63 | 0 | 63 | fs | full |"),
        "{markdown}"
    );
    assert!(markdown.contains("- Errors: EBADF, EFAULT"), "{markdown}");
    assert_eq!(markdown, docs::render_markdown(&spec));
}

#[test]
fn skeletons_only_for_pending_entries() {
    let stub = READ
        .replace("\"read\"", "\"write\"")
        .replace(
            "{ aarch64 = 63, riscv64 = 63, x86_64 = 0, loongarch64 = 63 }",
            "{ aarch64 = 64 }",
        )
        .replace("level = \"full\"", "level = \"unimplemented\"");
    let spec = parse(&format!("{READ}{stub}")).unwrap();
    let skeletons = docs::render_skeletons(&spec);
    assert!(
        skeletons.contains("// impl FsSyscalls for Handler"),
        "{skeletons}"
    );
    assert!(skeletons.contains("fn sys_write("), "{skeletons}");
    assert!(!skeletons.contains("fn sys_read("), "{skeletons}");
}

fn repo_file(relative: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

#[test]
fn repository_spec_is_valid() {
    let spec = parse(&repo_file("spec/syscalls.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert!(spec.entries.iter().any(|e| e.name == "openat"));
}

#[test]
fn repository_docs_up_to_date() {
    let spec = parse(&repo_file("spec/syscalls.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        repo_file("docs/syscalls.md") == docs::render_markdown(&spec),
        "docs/syscalls.md is out of date with spec/syscalls.toml; run `just gen`"
    );
}

#[test]
fn invalid_spec_expands_to_compile_error() {
    let dir = std::env::temp_dir().join(format!("abi-gen-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        with_args(r#"[{ name = "buf", type = "out", len = "count" }]"#),
    )
    .unwrap();

    let text = expand(&path).to_string();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(text.contains("compile_error"), "{text}");
    assert!(
        text.contains("spec entry `probe`, field `args[0].len`"),
        "{text}"
    );
    assert!(text.contains("no argument named `count`"), "{text}");
}

#[test]
fn missing_spec_file_expands_to_compile_error() {
    let text = expand(std::path::Path::new("/nonexistent/spec.toml")).to_string();
    assert!(text.contains("compile_error"), "{text}");
    assert!(
        text.contains("failed to read the spec /nonexistent/spec.toml"),
        "{text}"
    );
}

#[test]
fn linux_numbers_accept_read() {
    parse(READ).unwrap().check_linux_numbers().unwrap();
}

#[test]
fn linux_numbers_reject_wrong_number() {
    let text = READ.replace("x86_64 = 0", "x86_64 = 3");
    let e = parse(&text).unwrap().check_linux_numbers().unwrap_err();
    assert_eq!(e.entry, "read");
    assert_eq!(e.field, "nr.x86_64");
    assert!(
        e.message.contains("differs from Linux's 0"),
        "{}",
        e.message
    );
}

#[test]
fn linux_numbers_reject_missing_number() {
    let text = READ.replace(", loongarch64 = 63", "");
    let e = parse(&text).unwrap().check_linux_numbers().unwrap_err();
    assert_eq!(e.field, "nr.loongarch64");
    assert!(e.message.starts_with("missing"), "{}", e.message);
}

#[test]
fn linux_numbers_reject_absent_call() {
    // riscv64 has no renameat: asm-generic leaves it out.
    let text = READ
        .replace("name = \"read\"", "name = \"renameat\"")
        .replace(
            "aarch64 = 63, riscv64 = 63, x86_64 = 0, loongarch64 = 63",
            "aarch64 = 38, riscv64 = 38, x86_64 = 264",
        );
    let e = parse(&text).unwrap().check_linux_numbers().unwrap_err();
    assert_eq!(e.field, "nr.riscv64");
    assert!(
        e.message.contains("Linux has no `renameat`"),
        "{}",
        e.message
    );
}

#[test]
fn linux_numbers_allow_spec_gap() {
    // Linux 6.1's loongarch64 has no renameat, although the crate lists it.
    let text = READ
        .replace("name = \"read\"", "name = \"renameat\"")
        .replace(
            "aarch64 = 63, riscv64 = 63, x86_64 = 0, loongarch64 = 63",
            "aarch64 = 38, x86_64 = 264",
        );
    parse(&text).unwrap().check_linux_numbers().unwrap();
}
